"""Forged admin POSTs that name another patient's object are refused and change nothing.

Every add and change form of the diary's admin, for every role: a patient (no admin at all), a
clinician of both patients (the case the model and database rules exist for), a clinician of
patient A only, staff, and a superuser (the only role with Django's inline permissions).
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from diary.models import Analysis, BodySite, Patient, Photo, TreatmentEntry
from tests.factories import (
    AnalysisFactory,
    BodySiteFactory,
    ClinicianFactory,
    PatientFactory,
    PhotoFactory,
    StaffFactory,
    TreatmentEntryFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

ROLES = ["patient", "clinician_of_both", "clinician_of_a", "staff", "superuser"]


@pytest.fixture
def world():
    both, only_a = ClinicianFactory(), ClinicianFactory()
    a = PatientFactory(clinicians=[both, only_a])
    b = PatientFactory(clinicians=[both])
    site_a, site_b = BodySiteFactory(patient=a), BodySiteFactory(patient=b)
    photo_a = PhotoFactory(body_site=site_a)
    return {
        "a": a,
        "b": b,
        "site_a": site_a,
        "site_b": site_b,
        "photo_a": photo_a,
        "analysis_a": AnalysisFactory(photo=photo_a),
        "treatment_a": TreatmentEntryFactory(patient=a, body_site=site_a, dose="before"),
        "treatment_b": TreatmentEntryFactory(patient=b, body_site=site_b, dose="before"),
        "users": {
            "patient": a.user,
            "clinician_of_both": both,
            "clinician_of_a": only_a,
            "staff": StaffFactory(),
            "superuser": UserFactory(role="staff", is_staff=True, is_superuser=True),
        },
    }


def _snapshot() -> dict:
    tables = (Patient, BodySite, TreatmentEntry, Photo, Analysis)
    state = {model.__name__: list(model.objects.order_by("pk").values()) for model in tables}
    state["clinicians"] = sorted(Patient.clinicians.through.objects.values_list())
    return state


def _post(client, world, role: str, url: str, data: dict):
    client.force_login(world["users"][role])
    before = _snapshot()
    response = client.post(url, data)
    assert _snapshot() == before, f"{role}: the forged POST changed the diary"
    return response


def _assert_refused(response, role: str, *, allowed: bool = True) -> None:
    """A patient is sent to the admin's login; a role without the permission gets 403; any other
    role sees the form again with its errors (200), never a redirect that means "saved"."""
    if role == "patient":
        assert response.status_code == 302
        assert response.url.startswith(reverse("admin:login"))
    elif not allowed:
        assert response.status_code == 403
    else:
        assert response.status_code == 200, response
        assert response.context["errors"], f"{role}: no error shown"


def _photo_data(world, **overrides) -> dict:
    taken = timezone.localtime(world["photo_a"].taken_at)
    return {
        "patient": world["a"].pk,
        "body_site": world["site_a"].pk,
        "taken_at_0": taken.date().isoformat(),
        "taken_at_1": taken.strftime("%H:%M:%S"),
        **overrides,
    }


def _treatment_data(world, **overrides) -> dict:
    return {
        "patient": world["a"].pk,
        "date": "2026-01-05",
        "kind": "oral",
        "body_site": world["site_a"].pk,
        "dose": "forged",
        "notes": "",
        **overrides,
    }


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    "forged", ["body_site_of_b", "patient_b", "both_of_b"], ids=lambda name: name
)
def test_photo_change_refuses_another_patients_body_site_or_patient(client, world, role, forged):
    overrides = {
        "body_site_of_b": {"body_site": world["site_b"].pk},
        "patient_b": {"patient": world["b"].pk},
        "both_of_b": {"patient": world["b"].pk, "body_site": world["site_b"].pk},
    }[forged]
    url = reverse("admin:diary_photo_change", args=[world["photo_a"].pk])
    response = _post(client, world, role, url, _photo_data(world, **overrides))
    _assert_refused(response, role)


@pytest.mark.parametrize("role", ROLES)
def test_photo_add_is_refused(client, world, role):
    data = _photo_data(world, body_site=world["site_b"].pk)
    response = _post(client, world, role, reverse("admin:diary_photo_add"), data)
    _assert_refused(response, role, allowed=False)


@pytest.mark.parametrize("role", ROLES)
def test_photo_change_form_offers_only_the_photos_patients_body_sites(client, world, role):
    if role == "patient":
        return  # no admin at all: covered by the forged POSTs above
    BodySiteFactory(patient=world["a"], label="second site of A")
    client.force_login(world["users"][role])
    response = client.get(reverse("admin:diary_photo_change", args=[world["photo_a"].pk]))
    form = response.context["adminform"].form
    choices = set(form.fields["body_site"].queryset)
    assert choices == set(BodySite.objects.filter(patient=world["a"]))
    assert "patient" not in form.fields  # read-only after upload


@pytest.mark.parametrize("role", ROLES)
def test_body_site_change_refuses_moving_it_to_another_patient(client, world, role):
    site = world["site_a"]
    data = {"patient": world["b"].pk, "region": site.region, "label": site.label}
    url = reverse("admin:diary_bodysite_change", args=[site.pk])
    _assert_refused(_post(client, world, role, url, data), role)


@pytest.mark.parametrize("role", ["patient", "clinician_of_a"])
def test_body_site_add_refuses_a_patient_the_user_may_not_see(client, world, role):
    # Staff and a clinician of B may add B's body sites: for them B is no forgery.
    data = {"patient": world["b"].pk, "region": "hands", "label": "forged"}
    response = _post(client, world, role, reverse("admin:diary_bodysite_add"), data)
    _assert_refused(response, role)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("forged", ["body_site_of_b", "patient_b"], ids=lambda name: name)
def test_treatment_change_refuses_another_patients_body_site_or_patient(
    client, world, role, forged
):
    overrides = {
        "body_site_of_b": {"body_site": world["site_b"].pk},
        "patient_b": {"patient": world["b"].pk, "body_site": ""},
    }[forged]
    url = reverse("admin:diary_treatmententry_change", args=[world["treatment_a"].pk])
    response = _post(client, world, role, url, _treatment_data(world, **overrides))
    _assert_refused(response, role)


@pytest.mark.parametrize("role", ROLES)
def test_treatment_add_refuses_another_patients_body_site(client, world, role):
    data = _treatment_data(world, body_site=world["site_b"].pk)
    response = _post(client, world, role, reverse("admin:diary_treatmententry_add"), data)
    _assert_refused(response, role)


@pytest.mark.parametrize("role", ROLES)
def test_treatment_add_form_narrows_body_sites_to_the_named_patient(client, world, role):
    if role == "patient":
        return  # no admin at all
    client.force_login(world["users"][role])
    url = reverse("admin:diary_treatmententry_add") + f"?patient={world['a'].pk}"
    form = client.get(url).context["adminform"].form
    assert set(form.fields["body_site"].queryset) == {world["site_a"]}


def _management(prefix: str, total: int, initial: int) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": total,
        f"{prefix}-INITIAL_FORMS": initial,
        f"{prefix}-MIN_NUM_FORMS": 0,
        f"{prefix}-MAX_NUM_FORMS": 1000,
    }


def _patient_data(patient: Patient, **overrides) -> dict:
    return {
        "user": patient.user_id,
        "birth_year": patient.birth_year,
        "sex": patient.sex,
        "fitzpatrick_skin_type": patient.fitzpatrick_skin_type,
        "time_zone": patient.time_zone,
        "clinicians": list(patient.clinicians.values_list("pk", flat=True)),
        **_management("body_sites", 0, 0),
        **overrides,
    }


def _inline_treatment(world, *, treatment_id: int | None, body_site: int, parent: int | str):
    row = {
        "treatments-0-patient": parent,
        "treatments-0-date": "2026-01-05",
        "treatments-0-kind": "oral",
        "treatments-0-body_site": body_site,
        "treatments-0-dose": "forged",
        "treatments-0-notes": "",
    }
    if treatment_id is None:
        return {**_management("treatments", 1, 0), **row}
    return {**_management("treatments", 1, 1), **row, "treatments-0-id": treatment_id}


# Only the superuser holds Django's inline permissions: for everyone else the inline rows of a
# patient's page are not editable, so the forged rows are ignored and the page itself saves.
INLINE_EDITORS = {"superuser"}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    "forged", ["new_row_on_b_site", "b_treatment", "b_body_site"], ids=lambda name: name
)
def test_patient_change_inline_refuses_another_patients_objects(client, world, role, forged):
    a = world["a"]
    if forged == "new_row_on_b_site":
        inline = _inline_treatment(
            world, treatment_id=None, body_site=world["site_b"].pk, parent=a.pk
        )
    elif forged == "b_body_site":
        site_b = world["site_b"]
        inline = {
            **_management("treatments", 0, 0),
            **_management("body_sites", 1, 1),
            "body_sites-0-id": site_b.pk,
            "body_sites-0-patient": a.pk,
            "body_sites-0-region": site_b.region,
            "body_sites-0-label": "forged",
        }
    else:
        treatment_b = world["treatment_b"]
        inline = _inline_treatment(
            world, treatment_id=treatment_b.pk, body_site=world["site_a"].pk, parent=a.pk
        )
    url = reverse("admin:diary_patient_change", args=[a.pk])
    response = _post(client, world, role, url, {**_patient_data(a), **inline})
    if role in INLINE_EDITORS or role == "patient":
        _assert_refused(response, role)
    else:
        assert response.status_code == 302  # saved the unchanged page; the rows were ignored


@pytest.mark.parametrize("role", ROLES)
def test_patient_add_inline_refuses_another_patients_body_site(client, world, role):
    newcomer = UserFactory()
    inline = _inline_treatment(world, treatment_id=None, body_site=world["site_b"].pk, parent="")
    data = {**_patient_data(world["a"], user=newcomer.pk, clinicians=[]), **inline}
    url = reverse("admin:diary_patient_add")
    if role != "staff":
        _assert_refused(_post(client, world, role, url, data), role, allowed=role == "superuser")
        return
    # Staff may add the patient but hold no inline permission: the page saves, the row is dropped.
    client.force_login(world["users"][role])
    treatments = list(TreatmentEntry.objects.order_by("pk").values())
    assert client.post(url, data).status_code == 302
    assert list(TreatmentEntry.objects.order_by("pk").values()) == treatments
    assert not Patient.objects.get(user=newcomer).treatments.exists()


@pytest.mark.parametrize("role", ROLES)
def test_analyses_cannot_be_added_or_changed(client, world, role):
    analysis = world["analysis_a"]
    data = {"photo": world["photo_a"].pk, "model_version": "forged"}
    for url in (
        reverse("admin:diary_analysis_add"),
        reverse("admin:diary_analysis_change", args=[analysis.pk]),
    ):
        _assert_refused(_post(client, world, role, url, data), role, allowed=False)
