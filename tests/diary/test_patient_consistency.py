"""A photo, its body site and its patient always agree: in the database, the model and the API.

The database tests write around the ORM's validation (raw SQL, ``QuerySet.update``, ``create``)
and run on the test database's backend: PostgreSQL's composite foreign keys under CI, SQLite's
triggers otherwise (migration 0005_patient_consistency).
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from diary.models import BodySite, Photo, TreatmentEntry
from diary.services.erasure import patient_erase
from tests.conftest import client_for, require_service
from tests.factories import (
    BodySiteFactory,
    ClinicianFactory,
    PatientFactory,
    PhotoFactory,
    TreatmentEntryFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows():
    """Two patients of one clinician, each with a body site, a photo and a treatment on it."""
    clinician = ClinicianFactory()
    a, b = PatientFactory(clinicians=[clinician]), PatientFactory(clinicians=[clinician])
    site_a, site_b = BodySiteFactory(patient=a), BodySiteFactory(patient=b)
    return {
        "clinician": clinician,
        "a": a,
        "b": b,
        "site_a": site_a,
        "site_b": site_b,
        "photo_a": PhotoFactory(body_site=site_a),
        "treatment_a": TreatmentEntryFactory(patient=a, body_site=site_a),
    }


def _state() -> list:
    """Every pairing the tests could disturb, to compare before and after."""
    return [
        sorted(Photo.objects.values_list("id", "patient_id", "body_site_id")),
        sorted(TreatmentEntry.objects.values_list("id", "patient_id", "body_site_id")),
        sorted(BodySite.objects.values_list("id", "patient_id")),
    ]


def _refused(sql: str, params: list) -> None:
    before = _state()
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
    assert _state() == before


def test_raw_update_of_a_photo_to_another_patients_body_site_fails(rows):
    _refused(
        "UPDATE diary_photo SET body_site_id = %s WHERE id = %s",
        [rows["site_b"].pk, rows["photo_a"].pk],
    )
    _refused(
        "UPDATE diary_photo SET patient_id = %s WHERE id = %s",
        [rows["b"].pk, rows["photo_a"].pk],
    )


def test_raw_update_of_a_treatment_to_another_patients_body_site_fails(rows):
    _refused(
        "UPDATE diary_treatmententry SET body_site_id = %s WHERE id = %s",
        [rows["site_b"].pk, rows["treatment_a"].pk],
    )
    _refused(
        "UPDATE diary_treatmententry SET patient_id = %s WHERE id = %s",
        [rows["b"].pk, rows["treatment_a"].pk],
    )


def test_raw_update_moving_a_body_site_with_rows_to_another_patient_fails(rows):
    _refused(
        "UPDATE diary_bodysite SET patient_id = %s WHERE id = %s",
        [rows["b"].pk, rows["site_a"].pk],
    )
    Photo.objects.filter(pk=rows["photo_a"].pk).delete()  # left: the treatment on the site
    _refused(
        "UPDATE diary_bodysite SET patient_id = %s WHERE id = %s",
        [rows["b"].pk, rows["site_a"].pk],
    )


def test_orm_writes_that_skip_clean_fail_too(rows):
    before = _state()
    with pytest.raises(IntegrityError), transaction.atomic():
        Photo.objects.filter(pk=rows["photo_a"].pk).update(body_site=rows["site_b"])
    with pytest.raises(IntegrityError), transaction.atomic():
        PhotoFactory(body_site=rows["site_b"], patient=rows["a"])
    with pytest.raises(IntegrityError), transaction.atomic():
        TreatmentEntry.objects.create(
            patient=rows["a"], body_site=rows["site_b"], date="2026-01-05", kind="oral"
        )
    assert _state() == before


def test_consistent_writes_and_deletions_still_work(rows):
    TreatmentEntryFactory(patient=rows["a"], body_site=None)
    PhotoFactory(body_site=rows["site_a"])
    # A body site without rows may be re-pointed by the database (the API and the admin refuse).
    empty = BodySiteFactory(patient=rows["a"])
    BodySite.objects.filter(pk=empty.pk).update(patient=rows["b"])
    # Deleting a body site keeps its treatments (SET_NULL) and removes its photos.
    rows["site_a"].delete()
    treatment = TreatmentEntry.objects.get(pk=rows["treatment_a"].pk)
    assert treatment.body_site_id is None
    assert not Photo.objects.filter(pk=rows["photo_a"].pk).exists()
    # Erasing a patient cascades through the composite keys.
    PhotoFactory(body_site=BodySiteFactory(patient=rows["b"]))
    patient_erase(patient=rows["b"])
    assert not BodySite.objects.filter(patient_id=rows["b"].pk).exists()


def test_the_rule_is_installed_on_this_backend():
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT conname FROM pg_constraint WHERE contype = 'f'")
            expected = {"photo_body_site_same_patient", "treatment_body_site_same_patient"}
        else:
            # Django rebuilds a SQLite table for some schema changes, which drops its triggers:
            # a later migration that does so must create them again.
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            expected = {
                "photo_body_site_same_patient_insert",
                "photo_body_site_same_patient_update",
                "treatment_body_site_same_patient_insert",
                "treatment_body_site_same_patient_update",
                "body_site_patient_keeps_its_rows",
            }
        installed = {row[0] for row in cursor.fetchall()}
    assert expected <= installed


@pytest.mark.services
def test_postgresql_holds_the_rule_as_composite_foreign_keys(rows):
    require_service(
        "PostgreSQL",
        connection.vendor == "postgresql",
        f"the test database is {connection.vendor}; set DATABASE_URL",
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conname LIKE %s ORDER BY conname",
            ["%_body_site_same_patient"],
        )
        definitions = dict(cursor.fetchall())
    assert set(definitions) == {
        "photo_body_site_same_patient",
        "treatment_body_site_same_patient",
    }
    for definition in definitions.values():
        assert definition.startswith(
            "FOREIGN KEY (body_site_id, patient_id) REFERENCES diary_bodysite(id, patient_id)"
        ), definition
    # Immediate: the statement itself fails, not only the commit.
    _refused(
        "UPDATE diary_photo SET body_site_id = %s WHERE id = %s",
        [rows["site_b"].pk, rows["photo_a"].pk],
    )


def test_model_validation_names_the_field(rows):
    photo = Photo.objects.get(pk=rows["photo_a"].pk)
    photo.body_site = rows["site_b"]
    with pytest.raises(ValidationError) as caught:
        photo.full_clean()
    assert set(caught.value.message_dict) == {"body_site"}

    treatment = TreatmentEntry(patient=rows["a"], body_site=rows["site_b"], date="2026-01-05")
    treatment.kind = "oral"
    with pytest.raises(ValidationError) as caught:
        treatment.full_clean()
    assert set(caught.value.message_dict) == {"body_site"}

    site = BodySite.objects.get(pk=rows["site_a"].pk)
    site.patient = rows["b"]
    with pytest.raises(ValidationError) as caught:
        site.full_clean()
    assert "patient" in caught.value.message_dict

    TreatmentEntry(
        patient=rows["a"], body_site=rows["site_a"], date="2026-01-05", kind="oral"
    ).full_clean()
    Photo.objects.get(pk=rows["photo_a"].pk).full_clean()


@pytest.mark.parametrize("route", ["api:body-site-detail", "api:treatment-detail"])
def test_patch_moving_a_row_to_another_patient_is_a_400(rows, route):
    row = rows["site_a"] if route == "api:body-site-detail" else rows["treatment_a"]
    before = _state()
    response = client_for(rows["clinician"]).patch(
        reverse(route, args=[row.pk]), {"patient": rows["b"].pk}, format="json"
    )
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid"
    assert body["errors"]["patient"][0]["code"] == "immutable"
    assert _state() == before


def test_patch_naming_the_same_patient_is_accepted(rows):
    response = client_for(rows["clinician"]).patch(
        reverse("api:body-site-detail", args=[rows["site_a"].pk]),
        {"patient": rows["a"].pk, "label": "renamed"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert BodySite.objects.get(pk=rows["site_a"].pk).label == "renamed"
