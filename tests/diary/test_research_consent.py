"""Research consent (docs/corrections.md): off by default, given and withdrawn by the patient
in the app or recorded by a clinician in the admin, every change dated and kept (who, when,
given or withdrawn), and append-only."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.urls import reverse

from diary.models import AuditEvent, Patient, ResearchConsentChange
from diary.models.audit import AuditLogIsAppendOnly
from tests.conftest import client_for
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def _url(patient: Patient) -> str:
    return reverse("api:patient-research-consent", kwargs={"pk": patient.pk})


def _put(user, patient: Patient, value):
    return client_for(user).put(_url(patient), {"research_consent": value}, format="json")


def test_research_consent_is_off_by_default(patient_a, clinician):
    patient = Patient.objects.get(pk=PatientFactory().pk)  # as stored, not as built
    assert patient.research_consent is False and patient.research_consent_at is None
    detail = client_for(clinician).get(reverse("api:patient-detail", kwargs={"pk": patient_a.pk}))
    assert detail.json()["research_consent"] is False
    assert detail.json()["research_consent_at"] is None
    body = client_for(patient_a.user).get(_url(patient_a)).json()
    assert body == {"research_consent": False, "research_consent_at": None, "history": []}


def test_research_consent_given_and_withdrawn_by_the_patient_is_dated_and_recorded(patient_a):
    given = _put(patient_a.user, patient_a, True)
    assert given.status_code == 200, given.content
    patient_a.refresh_from_db()
    assert patient_a.research_consent is True and patient_a.research_consent_at is not None
    assert given.json()["research_consent_at"] is not None
    first_date = patient_a.research_consent_at

    # The value in force again: nothing changes, nothing is recorded, the date stays.
    assert _put(patient_a.user, patient_a, True).status_code == 200
    patient_a.refresh_from_db()
    assert patient_a.research_consent_at == first_date
    assert ResearchConsentChange.objects.filter(patient_id=patient_a.pk).count() == 1

    withdrawn = _put(patient_a.user, patient_a, False)
    assert withdrawn.status_code == 200
    patient_a.refresh_from_db()
    assert patient_a.research_consent is False and patient_a.research_consent_at is None

    changes = list(ResearchConsentChange.objects.filter(patient_id=patient_a.pk))
    assert [c.given for c in changes] == [False, True]  # newest first
    for change in changes:
        assert change.actor_id == patient_a.user_id
        assert change.actor_username == patient_a.user.username
        assert change.actor_role == "patient" and change.via == "api"
    assert changes[1].changed_at == first_date
    history = withdrawn.json()["history"]
    assert [row["given"] for row in history] == [False, True]
    assert history[0]["actor_username"] == patient_a.user.username
    # The requests are in the audit log too, as updates of that patient.
    updates = AuditEvent.objects.filter(action="update", view_name="api:patient-research-consent")
    assert updates.count() == 3
    assert all(event.patient_ids == [patient_a.pk] for event in updates)


@pytest.mark.parametrize("value", ["maybe", None, 3, ""])
def test_research_consent_refuses_a_value_that_is_not_a_boolean(patient_a, value):
    response = _put(patient_a.user, patient_a, value)
    assert response.status_code == 400
    assert "research_consent" in response.json()["errors"]
    assert not ResearchConsentChange.objects.exists()


def test_research_consent_is_the_patients_to_change_in_the_api(
    patient_a, patient_b, clinician, staff
):
    for user in (clinician, staff):
        response = _put(user, patient_a, True)
        assert response.status_code == 403, response.content
        assert client_for(user).get(_url(patient_a)).status_code == 200
    # Another patient's consent is not there at all.
    assert _put(patient_b.user, patient_a, True).status_code == 404
    assert client_for(patient_b.user).get(_url(patient_a)).status_code == 404
    patient_a.refresh_from_db()
    assert patient_a.research_consent is False
    assert not ResearchConsentChange.objects.exists()


def _admin_form(patient: Patient, **overrides) -> dict:
    management = {}
    for prefix in ("body_sites", "treatments"):
        management |= {
            f"{prefix}-TOTAL_FORMS": 0,
            f"{prefix}-INITIAL_FORMS": 0,
            f"{prefix}-MIN_NUM_FORMS": 0,
            f"{prefix}-MAX_NUM_FORMS": 1000,
        }
    return {
        "birth_year": patient.birth_year,
        "sex": patient.sex,
        "fitzpatrick_skin_type": patient.fitzpatrick_skin_type,
        "time_zone": patient.time_zone,
        **management,
        **overrides,
    }


def test_research_consent_recorded_by_a_clinician_in_the_admin(client, patient_a, clinician):
    client.force_login(clinician)
    url = reverse("admin:diary_patient_change", args=[patient_a.pk])
    response = client.post(url, _admin_form(patient_a, research_consent="on"))
    assert response.status_code == 302, response.content[:2000]
    patient_a.refresh_from_db()
    assert patient_a.research_consent is True and patient_a.research_consent_at is not None
    change = ResearchConsentChange.objects.get(patient_id=patient_a.pk)
    assert (change.given, change.via, change.actor_id) == (True, "admin", clinician.pk)

    # Saving other fields keeps the consent and its date, and records nothing new.
    date = patient_a.research_consent_at
    client.post(url, _admin_form(patient_a, research_consent="on", birth_year=1990))
    patient_a.refresh_from_db()
    assert (patient_a.birth_year, patient_a.research_consent_at) == (1990, date)
    assert ResearchConsentChange.objects.count() == 1

    page = client.get(url).content.decode()
    assert "given by " + clinician.username in page

    client.post(url, _admin_form(patient_a))  # the box unticked: withdrawn
    patient_a.refresh_from_db()
    assert patient_a.research_consent is False and patient_a.research_consent_at is None
    assert [c.given for c in ResearchConsentChange.objects.all()] == [False, True]


def test_research_consent_history_is_append_only(patient_a):
    _put(patient_a.user, patient_a, True)
    change = ResearchConsentChange.objects.get()
    change.given = False
    with pytest.raises(AuditLogIsAppendOnly):
        change.save()
    with pytest.raises(AuditLogIsAppendOnly):
        change.delete()
    with pytest.raises(AuditLogIsAppendOnly):
        ResearchConsentChange.objects.update(given=False)
    with pytest.raises(AuditLogIsAppendOnly):
        ResearchConsentChange.objects.all().delete()


def test_research_consent_without_a_date_is_refused_by_the_database(patient_a):
    # Written around the service: the database still keeps "consent held" and "dated" together.
    with pytest.raises(IntegrityError), transaction.atomic():
        Patient.objects.filter(pk=patient_a.pk).update(research_consent=True)


def test_research_consent_is_in_the_patients_archive_and_outlives_erasure(patient_a):
    _put(patient_a.user, patient_a, True)
    client = client_for(patient_a.user)
    response = client.get(reverse("api:patient-export", kwargs={"pk": patient_a.pk}))
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    body = json.loads(archive.read("patient.json"))
    assert body["patient"]["research_consent"] is True
    assert body["patient"]["research_consent_at"] is not None
    assert [row["given"] for row in body["research_consent_history"]] == [True]

    erased = client.delete(reverse("api:patient-erasure", kwargs={"pk": patient_a.pk}))
    assert erased.status_code == 204
    assert not Patient.objects.filter(pk=patient_a.pk).exists()
    # The proof of what the patient had agreed to stays, like the audit log.
    assert ResearchConsentChange.objects.filter(patient_id=patient_a.pk).count() == 1


def test_postgresql_itself_refuses_rewriting_research_consent_changes(patient_a):
    if connection.vendor != "postgresql":
        pytest.skip("the trigger exists on PostgreSQL only")
    _put(patient_a.user, patient_a, True)
    table = ResearchConsentChange._meta.db_table
    for sql in (f"UPDATE {table} SET given = false", f"DELETE FROM {table}"):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
    assert ResearchConsentChange.objects.get().given is True
