"""The progression endpoints: shapes, access (404 for other patients), errors, files, exports."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from fhir.resources.R4B.bundle import Bundle
from PIL import Image

from tests.conftest import client_for
from tests.factories import BodySiteFactory, TreatmentEntryFactory
from tests.progression.conftest import START

pytestmark = pytest.mark.django_db

ROUTES = [
    "patient-series",
    "patient-trends",
    "patient-chart-png",
    "patient-chart-svg",
    "patient-series-csv",
    "patient-fhir",
]


def url(name: str, patient, **query) -> str:
    base = reverse(f"api:{name}", args=[patient.pk])
    return base + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


@pytest.fixture
def series_site(patient_a, make_series):
    site, _ = make_series(patient_a, [0.40, 0.35, 0.30, 0.25])
    TreatmentEntryFactory(patient=patient_a, body_site=site, date=START.date())
    return site


def test_series_lists_points_and_treatments(clinician, patient_a, series_site):
    body = client_for(clinician).get(url("patient-series", patient_a)).json()
    assert body["patient"] == patient_a.pk
    assert body["model_version"] == "baseline:colour-threshold-v1"
    [site] = body["sites"]
    assert site["body_site"] == series_site.pk and site["label"] == series_site.label
    assert [p["lesion_skin_fraction"] for p in site["points"]] == [0.40, 0.35, 0.30, 0.25]
    point = site["points"][0]
    assert set(point) >= {"taken_at", "delta_e2000", "ita_difference", "rgb_mean_difference"}
    assert point["grade"] == "medium" and point["photo_id"]
    assert [t["kind"] for t in site["treatments"]] == ["phototherapy"]
    assert len(body["treatments"]) == 1


def test_window_query_narrows_the_series(clinician, patient_a, series_site):
    day = START.date() + dt.timedelta(days=30)
    body = client_for(clinician).get(url("patient-series", patient_a, **{"from": day})).json()
    assert [p["lesion_skin_fraction"] for p in body["sites"][0]["points"]] == [0.35, 0.30, 0.25]
    assert body["date_from"] == day.isoformat() and body["treatments"] == []


@pytest.mark.parametrize("name", ROUTES)
def test_another_patients_series_is_a_json_404(name, clinician, patient_b, make_series):
    site, _ = make_series(patient_b, [0.3])
    response = client_for(clinician).get(url(name, patient_b, body_site=site.pk))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("name", ROUTES)
def test_anonymous_is_401(name, api_client, patient_a):
    response = api_client.get(url(name, patient_a))
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_the_patient_sees_their_own_series(patient_a, series_site):
    response = client_for(patient_a.user).get(url("patient-series", patient_a))
    assert response.status_code == 200
    assert len(response.json()["sites"][0]["points"]) == 4


@pytest.mark.parametrize(
    "query",
    [{"from": "not-a-date"}, {"from": "2025-02-01", "to": "2025-01-01"}, {"body_site": "x"}],
)
def test_invalid_query_is_400(query, clinician, patient_a, series_site):
    response = client_for(clinician).get(url("patient-series", patient_a, **query))
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_another_patients_body_site_is_404(clinician, patient_a, series_site):
    other = BodySiteFactory().pk  # a site of someone else: answered like a missing one
    response = client_for(clinician).get(url("patient-series", patient_a, body_site=other))
    assert response.status_code == 404
    assert response.json()["errors"]["body_site"][0]["code"] == "does_not_exist"


def test_trends_summarise_each_site(clinician, patient_a, series_site):
    body = client_for(clinician).get(url("patient-trends", patient_a)).json()
    [site] = body["sites"]
    assert site["status"] == "improving"
    assert site["repigmentation_percent"] == pytest.approx(37.5)
    extent = site["measures"]["lesion_skin_fraction"]
    assert extent["slope_per_30_days"] == pytest.approx(-0.05)
    assert (
        extent["minimal_detectable_change"]
        == body["minimal_detectable_change"]["lesion_skin_fraction"]
    )


def test_chart_png_and_svg(clinician, patient_a, series_site):
    client = client_for(clinician)
    png = client.get(url("patient-chart-png", patient_a, body_site=series_site.pk))
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    with Image.open(io.BytesIO(png.content)) as image:
        assert image.format == "PNG" and image.width > 300
    svg = client.get(
        url("patient-chart-svg", patient_a, body_site=series_site.pk), HTTP_ACCEPT="image/svg+xml"
    )
    assert svg.status_code == 200 and svg["Content-Type"] == "image/svg+xml"
    assert b"<svg" in svg.content


def test_chart_needs_a_body_site_and_answers_errors_in_json(clinician, patient_a, series_site):
    response = client_for(clinician).get(
        url("patient-chart-png", patient_a), HTTP_ACCEPT="image/png"
    )
    assert response.status_code == 400
    assert response.json()["errors"]["body_site"][0]["code"] == "required"


def test_csv_export_has_one_row_per_point_and_defuses_formulas(clinician, patient_a, make_series):
    site = BodySiteFactory(patient=patient_a, label="=HYPERLINK(evil)")
    make_series(patient_a, [0.4, 0.3], body_site=site)
    response = client_for(clinician).get(url("patient-series-csv", patient_a))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [float(r["lesion_skin_fraction"]) for r in rows] == [0.4, 0.3]
    assert rows[0]["body_site_label"] == "'=HYPERLINK(evil)"
    assert rows[0]["model_version"] == "baseline:colour-threshold-v1"


def test_fhir_bundle_is_valid_r4_and_links_observations(clinician, patient_a, series_site):
    response = client_for(clinician).get(url("patient-fhir", patient_a))
    assert response.status_code == 200
    body = response.json()
    bundle = Bundle.model_validate(body)  # raises on any invalid resource
    resources = [entry.resource for entry in bundle.entry]
    kinds = [r.get_resource_type() for r in resources]
    assert kinds.count("Patient") == 1 and kinds.count("Device") == 1
    assert kinds.count("Media") == 4
    assert kinds.count("Observation") == 4 * 5  # four measures and the grade, per photo
    by_url = {e.fullUrl: e.resource for e in bundle.entry}
    for observation in (r for r in resources if r.get_resource_type() == "Observation"):
        assert by_url[observation.derivedFrom[0].reference].get_resource_type() == "Media"
        device = by_url[observation.device.reference]
        assert device.deviceName[0].name == "baseline:colour-threshold-v1"
    values = [
        float(r.valueQuantity.value)
        for r in resources
        if r.get_resource_type() == "Observation"
        and r.code.coding[0].code == "lesion_skin_fraction"
    ]
    assert values == [0.40, 0.35, 0.30, 0.25]
