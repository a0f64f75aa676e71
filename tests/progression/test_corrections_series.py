"""A clinician's correction replaces the model's measures in the series, the trends, the CSV and
the FHIR export, which all say where each point's mask came from (``mask_source``)."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from diary.models import Correction
from tests.conftest import client_for
from tests.diary.test_corrections_api import box_mask, mask_png, post_correction

pytestmark = pytest.mark.django_db


def url(name: str, patient) -> str:
    return reverse(f"api:{name}", args=[patient.pk])


@pytest.fixture
def improving_site(patient_a, make_series):
    return make_series(patient_a, [0.40, 0.35, 0.30, 0.25])


def test_corrections_replace_the_model_measures_in_the_series_and_the_trend_verdict(
    clinician, patient_a, improving_site
):
    client = client_for(clinician)
    before = client.get(url("patient-trends", patient_a)).json()["sites"][0]
    assert before["status"] == "improving"

    # The clinician finds the lesion far larger on the last three photos than the model said.
    _, analyses = improving_site
    for analysis in analyses[1:]:
        response = post_correction(client, analysis.photo, mask_png(box_mask(2, 2, 46, 62)))
        assert response.status_code == 201, response.json()

    points = client.get(url("patient-series", patient_a)).json()["sites"][0]["points"]
    assert [p["mask_source"] for p in points] == ["model", "clinician", "clinician", "clinician"]
    corrected = {c.photo_id: c for c in Correction.objects.all()}
    for point in points[1:]:
        correction = corrected[point["photo_id"]]
        assert point["lesion_skin_fraction"] == pytest.approx(correction.lesion_skin_fraction)
        assert point["grade"] == correction.grade
    assert points[0]["lesion_skin_fraction"] == pytest.approx(0.40)
    assert points[-1]["lesion_skin_fraction"] > 0.8

    after = client.get(url("patient-trends", patient_a)).json()["sites"][0]
    extent = after["measures"]["lesion_skin_fraction"]
    assert extent["latest"] == pytest.approx(points[-1]["lesion_skin_fraction"])
    assert after["status"] == "worsening"


def test_exports_say_where_each_points_mask_came_from(clinician, patient_a, improving_site):
    client = client_for(clinician)
    _, analyses = improving_site
    post_correction(client, analyses[-1].photo, mask_png(box_mask(10, 10, 30, 30)))

    rows = list(
        csv.DictReader(
            io.StringIO(client.get(url("patient-series-csv", patient_a)).content.decode())
        )
    )
    assert [r["mask_source"] for r in rows] == ["model", "model", "model", "clinician"]
    assert all(r["quality_ok"] == "True" for r in rows)

    bundle = client.get(url("patient-fhir", patient_a)).json()
    observations = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
    ]
    methods: dict[int, set[str]] = {}
    for resource in observations:  # ids are obs-<analysis id>-<measure>
        analysis_id = int(resource["id"].split("-")[1])
        methods.setdefault(analysis_id, set()).add(resource["method"]["coding"][0]["code"])
    assert methods[analyses[-1].pk] == {"clinician"}
    assert all(methods[a.pk] == {"model"} for a in analyses[:-1])
    corrected_extent = next(
        r["valueQuantity"]["value"]
        for r in observations
        if r["id"] == f"obs-{analyses[-1].pk}-lesion-skin-fraction"
    )
    assert corrected_extent == pytest.approx(Correction.objects.get().lesion_skin_fraction)
