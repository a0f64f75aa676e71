"""Exports a clinic can use: CSV and FHIR take the series' window, with the series' errors;
trend numbers shown to people are rounded, measurements are not."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from fhir.resources.R4B.bundle import Bundle

from tests.conftest import client_for
from tests.factories import BodySiteFactory, PatientFactory
from tests.progression.conftest import START

pytestmark = pytest.mark.django_db


def _get(client, name: str, patient, query: dict):
    return client.get(reverse(f"api:{name}", args=[patient.pk]), query)


def _csv_photo_ids(response) -> list[int]:
    rows = csv.DictReader(io.StringIO(response.content.decode()))
    return [int(row["photo_id"]) for row in rows]


def _fhir_photo_ids(response) -> list[int]:
    bundle = Bundle.model_validate(response.json())
    return [
        int(entry.resource.id.removeprefix("photo-"))
        for entry in bundle.entry
        if entry.resource.get_resource_type() == "Media"
    ]


EXPORTS = {"patient-series-csv": _csv_photo_ids, "patient-fhir": _fhir_photo_ids}


@pytest.fixture
def two_sites(patient_a, make_series):
    hand, _ = make_series(patient_a, [0.4, 0.35, 0.3, 0.25])
    face, _ = make_series(patient_a, [0.2, 0.1], start=START + dt.timedelta(days=15))
    return hand, face


def _series_photo_ids(client, patient, query) -> list[int]:
    response = _get(client, "patient-series", patient, query)
    assert response.status_code == 200, response.json()
    return [p["photo_id"] for site in response.json()["sites"] for p in site["points"]]


@pytest.mark.parametrize("name", EXPORTS)
@pytest.mark.parametrize(
    "window",
    [
        lambda hand, face: {"body_site": face.pk},
        lambda hand, face: {"from": (START + dt.timedelta(days=20)).date().isoformat()},
        lambda hand, face: {
            "body_site": hand.pk,
            "from": (START + dt.timedelta(days=20)).date().isoformat(),
            "to": (START + dt.timedelta(days=65)).date().isoformat(),
        },
    ],
)
def test_exports_hold_the_series_points_of_the_same_window(
    name, window, clinician, patient_a, two_sites
):
    client = client_for(clinician)
    query = window(*two_sites)
    expected = _series_photo_ids(client, patient_a, query)
    everything = _series_photo_ids(client, patient_a, {})
    assert 0 < len(expected) < len(everything)  # the window really narrows
    response = _get(client, name, patient_a, query)
    assert response.status_code == 200
    assert EXPORTS[name](response) == expected


@pytest.mark.parametrize("name", EXPORTS)
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"body_site": 999_999}, "body_site"),
        ({"body_site": "foreign"}, "body_site"),
        ({"from": "2025-02-01", "to": "2025-01-01"}, "to"),
        ({"from": "not-a-date"}, "from"),
    ],
)
def test_exports_refuse_a_bad_window_like_the_series(
    name, query, field, clinician, patient_a, two_sites
):
    if query.get("body_site") == "foreign":
        query = {"body_site": BodySiteFactory().pk}  # another patient's site
    client = client_for(clinician)
    series = _get(client, "patient-series", patient_a, query)
    response = _get(client, name, patient_a, query)
    # An id naming nothing the requester may see is a 404 (like the row's own URL); a value
    # that is not valid at all is a 400. Either way the exports answer exactly as the series.
    expected = 404 if field == "body_site" else 400
    assert series.status_code == response.status_code == expected
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body == series.json()
    assert body["code"] == ("not_found" if expected == 404 else "invalid")
    assert list(body["errors"]) == [field]


def test_trend_numbers_are_rounded_and_measurements_are_not(clinician, patient_a, make_series):
    # 100 * (0.6 - 0.15) / 0.6 is 74.99999999999999 in floating point.
    make_series(patient_a, [0.6, 0.5, 0.3, 0.15])
    body = client_for(clinician).get(reverse("api:patient-trends", args=[patient_a.pk])).json()
    [site] = body["sites"]
    assert site["repigmentation_percent"] == 75.0
    extent = site["measures"]["lesion_skin_fraction"]
    assert extent["change_since_baseline"] == -0.45  # not -0.44999999999999996
    assert (extent["baseline"], extent["latest"]) == (0.6, 0.15)
    assert site["span_days"] == 90.0


def test_from_and_to_are_days_of_the_patients_time_zone(clinician, make_series):
    patient = PatientFactory(clinicians=[clinician], time_zone="Asia/Seoul")
    # 20:00 UTC on 1 March is 05:00 on 2 March in Seoul, where the photo was taken.
    make_series(patient, [0.3], start=dt.datetime(2026, 3, 1, 20, tzinfo=dt.UTC))
    client = client_for(clinician)
    assert len(_series_photo_ids(client, patient, {"from": "2026-03-02"})) == 1
    assert _series_photo_ids(client, patient, {"to": "2026-03-01"}) == []
    response = _get(
        client, "patient-series-csv", patient, {"from": "2026-03-02", "to": "2026-03-02"}
    )
    assert len(_csv_photo_ids(response)) == 1
