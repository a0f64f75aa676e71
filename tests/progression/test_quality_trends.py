"""A photo a quality check refused is kept, drawn hollow, explained, and left out of the trends
unless a clinician includes it (issue 22, section 3)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from diary.models import AuditEvent, Photo
from diary.progression.charts import series_chart
from diary.progression.trends import site_trend
from diary.selectors.series import series_for_patient
from tests.conftest import client_for
from tests.factories import BodySiteFactory

from .conftest import START, analysed_photo

pytestmark = pytest.mark.django_db

DARK = {
    "code": "underexposed",
    "passed": False,
    "value": 0.8,
    "threshold": 0.5,
    "message": "The skin is too dark: move to daylight or switch a light on, then retake.",
}


@pytest.fixture
def site_with_a_dark_outlier(patient_a):
    """Four steady photos and, in the middle, a dark one that measured twice the extent."""
    site = BodySiteFactory(patient=patient_a, label="left hand")
    fractions = [0.30, 0.30, 0.90, 0.30, 0.30]
    analyses = [
        analysed_photo(
            body_site=site,
            taken_at=START + dt.timedelta(days=30 * i),
            lesion_skin_fraction=value,
        )
        for i, value in enumerate(fractions)
    ]
    # Make the last photo the outlier's twin in time so the fit would follow it if counted.
    dark = analyses[2].photo
    Photo.objects.filter(pk=dark.pk).update(quality_checks=[DARK], quality_ok=False)
    Photo.objects.filter(pk=analyses[4].photo_id).update(quality_checks=[], quality_ok=True)
    return site, dark


def _series(patient, user, site):
    return series_for_patient(patient=patient, user=user, body_site=site).sites[0]


def test_points_carry_quality_and_trends_leave_the_refused_photo_out(
    patient_a, clinician, site_with_a_dark_outlier
):
    site, dark = site_with_a_dark_outlier
    series = _series(patient_a, clinician, site)
    flags = {p.photo_id: p.quality_ok for p in series.points}
    assert flags[dark.pk] is False and sum(flags.values()) == 4
    trend = site_trend(series.points)
    assert trend.n_points == 4 and trend.n_left_out == 1
    assert trend.measures["lesion_skin_fraction"].latest == pytest.approx(0.30)
    # Counted, the same points give another answer: the check is what keeps the series honest.
    counted = [p._replace(quality_ok=True) for p in series.points]
    assert site_trend(counted).n_points == 5


def test_the_series_and_trends_endpoints_say_so(patient_a, site_with_a_dark_outlier):
    site, dark = site_with_a_dark_outlier
    client = client_for(patient_a.user)
    body = client.get(
        reverse("api:patient-series", args=[patient_a.pk]), {"body_site": site.pk}
    ).json()
    points = {p["photo_id"]: p for p in body["sites"][0]["points"]}
    assert points[dark.pk]["quality_ok"] is False
    assert points[dark.pk]["included_by_clinician"] is False
    assert sum(p["quality_ok"] for p in points.values()) == 4
    trends = client.get(
        reverse("api:patient-trends", args=[patient_a.pk]), {"body_site": site.pk}
    ).json()
    assert trends["sites"][0]["n_points"] == 4 and trends["sites"][0]["n_left_out"] == 1


def test_the_chart_draws_refused_photos_hollow(patient_a, clinician, site_with_a_dark_outlier):
    site, _ = site_with_a_dark_outlier
    svg = series_chart(_series(patient_a, clinician, site), fmt="svg").decode()
    assert 'id="quality-failed-lesion_skin_fraction"' in svg
    assert "quality check failed: left out" in svg
    Photo.objects.update(quality_ok=True)
    clean = series_chart(_series(patient_a, clinician, site), fmt="svg").decode()
    assert "quality-failed-" not in clean


def test_the_clinician_page_says_why_and_includes_the_photo(
    patient_a, clinician, site_with_a_dark_outlier
):
    site, dark = site_with_a_dark_outlier
    client = Client()  # the admin's forms, not the API's JSON
    client.force_login(clinician)
    url = reverse("admin:diary_patient_progression", args=[patient_a.pk])
    page = client.get(url).content.decode()
    assert "1 photo left out: a quality check failed" in page
    assert DARK["message"] in page and 'data-check="underexposed"' in page
    assert f'id="photo-{dark.pk}"' in page

    before = AuditEvent.objects.filter(action=AuditEvent.Action.UPDATE).count()
    include = reverse("admin:diary_patient_progression_include", args=[patient_a.pk, dark.pk])
    response = client.post(include, {"include": "1"})
    assert response.status_code == 302 and response.url.endswith(f"#photo-{dark.pk}")
    dark.refresh_from_db()
    assert dark.quality_included_by == clinician and dark.counts_in_trends
    assert AuditEvent.objects.filter(action=AuditEvent.Action.UPDATE).count() == before + 1
    page = client.get(url).content.decode()
    assert "included in the trends by a clinician" in page
    assert "left out: a quality check failed" not in page
    assert site_trend(_series(patient_a, clinician, site).points).n_points == 5

    client.post(include, {"include": "0"})
    dark.refresh_from_db()
    assert dark.quality_included_at is None and not dark.counts_in_trends


def test_another_clinician_cannot_include(patient_a, other_clinician, site_with_a_dark_outlier):
    _, dark = site_with_a_dark_outlier
    client = Client()
    client.force_login(other_clinician)
    include = reverse("admin:diary_patient_progression_include", args=[patient_a.pk, dark.pk])
    assert client.post(include, {"include": "1"}).status_code == 404
    assert client.get(include).status_code in (404, 405)
    dark.refresh_from_db()
    assert dark.quality_included_at is None


def test_the_photo_admin_lists_quality_and_its_action_includes(
    patient_a, clinician, site_with_a_dark_outlier
):
    _, dark = site_with_a_dark_outlier
    client = Client()
    client.force_login(clinician)
    changelist = reverse("admin:diary_photo_changelist")
    assert client.get(changelist, {"quality_ok__exact": "0"}).context["cl"].result_count == 1
    change = client.get(reverse("admin:diary_photo_change", args=[dark.pk])).content.decode()
    assert DARK["message"] in change
    before = AuditEvent.objects.filter(action=AuditEvent.Action.UPDATE).count()
    response = client.post(
        changelist, {"action": "include_in_trends", "_selected_action": [dark.pk]}
    )
    assert response.status_code == 302
    dark.refresh_from_db()
    assert dark.quality_included_by == clinician
    assert AuditEvent.objects.filter(action=AuditEvent.Action.UPDATE).count() > before
