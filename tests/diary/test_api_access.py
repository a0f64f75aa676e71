"""Each role on each endpoint: patient A never sees B, clinicians only their patients."""

import pytest
from django.urls import reverse

from tests.conftest import client_for
from tests.factories import AnalysisFactory, BodySiteFactory, PhotoFactory, TreatmentEntryFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(patient_a, patient_b):
    rows = {}
    for key, patient in (("a", patient_a), ("b", patient_b)):
        site = BodySiteFactory(patient=patient)
        photo = PhotoFactory(body_site=site)
        AnalysisFactory(photo=photo)
        rows[key] = {
            "patient": patient.pk,
            "body-site": site.pk,
            "photo": photo.pk,
            "treatment": TreatmentEntryFactory(patient=patient, body_site=site).pk,
        }
    return rows


DETAIL_URLS = [
    ("api:patient-detail", "patient"),
    ("api:body-site-detail", "body-site"),
    ("api:treatment-detail", "treatment"),
    ("api:photo-detail", "photo"),
    ("api:photo-image", "photo"),
    ("api:photo-mask", "photo"),
    ("api:photo-overlay", "photo"),
]
LIST_URLS = ["api:patient-list", "api:body-site-list", "api:treatment-list", "api:photo-list"]


@pytest.mark.parametrize("name", [*LIST_URLS, "api:me"])
def test_anonymous_gets_401_json(api_client, world, name):
    response = api_client.get(reverse(name))
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(("name", "kind"), DETAIL_URLS)
def test_patient_reads_own_rows_and_gets_404_for_others(world, patient_a, name, kind):
    client = client_for(patient_a.user)
    assert client.get(reverse(name, args=[world["a"][kind]])).status_code == 200
    response = client.get(reverse(name, args=[world["b"][kind]]))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(("name", "kind"), DETAIL_URLS)
def test_clinician_reads_assigned_patients_only(world, clinician, name, kind):
    client = client_for(clinician)
    assert client.get(reverse(name, args=[world["a"][kind]])).status_code == 200
    assert client.get(reverse(name, args=[world["b"][kind]])).status_code == 404


@pytest.mark.parametrize(("name", "kind"), DETAIL_URLS)
def test_staff_reads_everyone(world, staff, name, kind):
    client = client_for(staff)
    for side in ("a", "b"):
        assert client.get(reverse(name, args=[world[side][kind]])).status_code == 200


@pytest.mark.parametrize("name", LIST_URLS)
def test_lists_hold_only_visible_patients(world, patient_a, clinician, other_clinician, name):
    def patient_ids(user):
        results = client_for(user).get(reverse(name)).json()["results"]
        return {row.get("patient", row["id"]) for row in results}

    assert patient_ids(patient_a.user) == {world["a"]["patient"]}
    assert patient_ids(clinician) == {world["a"]["patient"]}
    assert patient_ids(other_clinician) == {world["b"]["patient"]}


@pytest.mark.parametrize(
    ("name", "kind", "payload"),
    [
        ("api:body-site-detail", "body-site", {"label": "hijacked"}),
        ("api:treatment-detail", "treatment", {"notes": "hijacked"}),
    ],
)
def test_nobody_writes_another_patients_rows(world, patient_a, clinician, name, kind, payload):
    for user in (patient_a.user, clinician):
        client = client_for(user)
        url = reverse(name, args=[world["b"][kind]])
        assert client.patch(url, payload).status_code == 404
        assert client.delete(url).status_code == 404


def test_cannot_create_rows_for_an_invisible_patient(world, patient_a, clinician):
    for user in (patient_a.user, clinician):
        response = client_for(user).post(
            reverse("api:body-site-list"),
            {"patient": world["b"]["patient"], "region": "face", "label": "x"},
        )
        assert response.status_code == 404  # like the patient's own URL: ids leak nothing
        assert response.json()["errors"]["patient"][0]["code"] == "does_not_exist"


def test_me_describes_the_user(patient_a):
    body = client_for(patient_a.user).get(reverse("api:me")).json()
    assert body["role"] == "patient"
    assert body["patient_id"] == patient_a.pk
