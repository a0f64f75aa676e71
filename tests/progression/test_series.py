"""The series selector: which analyses count, windows, treatments, access, query count."""

from __future__ import annotations

import datetime as dt

import pytest

from diary.selectors.series import series_for_patient, series_model_version
from segmentation.models import SegmentationModel
from segmentation.severity.baseline import BASELINE_VERSION_LABEL
from tests.factories import BodySiteFactory, TreatmentEntryFactory
from tests.progression.conftest import START, analysed_photo

pytestmark = pytest.mark.django_db


def _active_model() -> SegmentationModel:
    return SegmentationModel.objects.create(
        name="unet-small",
        architecture="unet",
        backbone="resnet18",
        checkpoint="models/unet.pt",
        checkpoint_sha256="0123456789abcdef" * 4,
        is_active=True,
    )


def test_without_an_active_model_the_baseline_analyses_count(patient_a, clinician, make_series):
    site, analyses = make_series(patient_a, [0.3, 0.2])
    analysed_photo(body_site=site, taken_at=START, model_version="model:old:deadbeef")
    assert series_model_version() == BASELINE_VERSION_LABEL
    series = series_for_patient(patient=patient_a, user=clinician)
    assert [p.analysis_id for p in series.sites[0].points] == [a.pk for a in analyses]


def test_with_an_active_model_only_its_analyses_count(patient_a, clinician, make_series):
    model = _active_model()
    site, _ = make_series(patient_a, [0.3, 0.2])  # baseline analyses: left out
    mine = analysed_photo(body_site=site, taken_at=START, model_version=model.version_label)
    assert series_model_version() == "model:unet-small:01234567"
    series = series_for_patient(patient=patient_a, user=clinician)
    assert series.model_version == model.version_label
    assert [p.analysis_id for p in series.sites[0].points] == [mine.pk]


def test_points_are_oldest_first_per_site(patient_a, clinician, make_series):
    site_1, _ = make_series(patient_a, [0.1, 0.2, 0.3])
    site_2, _ = make_series(patient_a, [0.5], start=START + dt.timedelta(days=1))
    series = series_for_patient(patient=patient_a, user=clinician)
    by_site = {s.body_site.pk: s.points for s in series.sites}
    assert [p.lesion_skin_fraction for p in by_site[site_1.pk]] == [0.1, 0.2, 0.3]
    assert [p.lesion_skin_fraction for p in by_site[site_2.pk]] == [0.5]


def test_window_is_inclusive_whole_days_and_filters_treatments(patient_a, clinician, make_series):
    make_series(patient_a, [0.1, 0.2, 0.3, 0.4], every_days=10)
    TreatmentEntryFactory(patient=patient_a, date=START.date() + dt.timedelta(days=5))
    TreatmentEntryFactory(patient=patient_a, date=START.date() + dt.timedelta(days=25))
    series = series_for_patient(
        patient=patient_a,
        user=clinician,
        date_from=START.date() + dt.timedelta(days=10),
        date_to=START.date() + dt.timedelta(days=20),
    )
    assert [p.lesion_skin_fraction for p in series.sites[0].points] == [0.2, 0.3]
    assert series.treatments == []


def test_site_treatments_include_those_without_a_site(patient_a, clinician, make_series):
    site_1, _ = make_series(patient_a, [0.1])
    site_2 = BodySiteFactory(patient=patient_a)
    everywhere = TreatmentEntryFactory(patient=patient_a, body_site=None)
    only_2 = TreatmentEntryFactory(patient=patient_a, body_site=site_2)
    series = series_for_patient(patient=patient_a, user=clinician)
    by_site = {s.body_site.pk: [t.id for t in s.treatments] for s in series.sites}
    assert by_site == {site_1.pk: [everywhere.pk], site_2.pk: [everywhere.pk, only_2.pk]}
    narrowed = series_for_patient(patient=patient_a, user=clinician, body_site=site_1)
    assert [s.body_site.pk for s in narrowed.sites] == [site_1.pk]
    assert [t.id for t in narrowed.treatments] == [everywhere.pk]


def test_a_user_who_may_not_see_the_patient_gets_nothing(patient_a, other_clinician, make_series):
    make_series(patient_a, [0.1, 0.2])
    TreatmentEntryFactory(patient=patient_a)
    series = series_for_patient(patient=patient_a, user=other_clinician)
    assert series.sites == [] and series.treatments == []


@pytest.mark.parametrize("count", [3, 30])
def test_query_count_does_not_grow_with_photos(
    count, patient_a, clinician, make_series, django_assert_num_queries
):
    site, _ = make_series(patient_a, [0.01 * i for i in range(count)], every_days=2)
    make_series(patient_a, [0.2] * count, every_days=3)  # a second site
    TreatmentEntryFactory.create_batch(count, patient=patient_a, body_site=site)
    # Model version, body sites, points, the points' corrections, treatments: 5, for 3 photos as
    # for 30.
    with django_assert_num_queries(5):
        series = series_for_patient(patient=patient_a, user=clinician)
    assert sum(len(s.points) for s in series.sites) == 2 * count


@pytest.mark.parametrize("count", [3, 30])
def test_series_endpoint_query_count_does_not_grow_with_photos(
    count, patient_a, clinician, make_series, django_assert_num_queries
):
    from django.urls import reverse

    from tests.conftest import client_for

    make_series(patient_a, [0.01 * i for i in range(count)], every_days=2)
    TreatmentEntryFactory.create_batch(count, patient=patient_a)
    client = client_for(clinician)
    # The patient, the selector's five, and the audit middleware's one insert.
    with django_assert_num_queries(7):
        response = client.get(reverse("api:patient-series", args=[patient_a.pk]))
    assert len(response.json()["sites"][0]["points"]) == count


def test_trends_are_judged_against_the_active_models_own_mdc(patient_a, clinician, make_series):
    from django.urls import reverse

    from tests.conftest import client_for

    url = reverse("api:patient-trends", args=[patient_a.pk])
    model = _active_model()
    # Extent falls by 0.10 over 90 days: past the ground-truth MDC (0.06), within this model's.
    make_series(patient_a, [0.40, 0.37, 0.33, 0.30], model_version=model.version_label)
    client = client_for(clinician)
    [site] = client.get(url).json()["sites"]
    assert site["measures"]["lesion_skin_fraction"]["minimal_detectable_change"] == 0.06
    assert site["status"] == "improving"

    model.minimal_detectable_change = {"lesion_skin_fraction": 0.116, "delta_e2000": 7.3}
    model.save()
    body = client.get(url).json()
    [site] = body["sites"]
    assert body["minimal_detectable_change"]["lesion_skin_fraction"] == 0.116
    assert body["minimal_detectable_change"]["delta_e2000"] == 7.3
    assert site["measures"]["lesion_skin_fraction"]["minimal_detectable_change"] == 0.116
    assert site["status"] == "stable"  # a change this model cannot tell from its own noise
    series = series_for_patient(patient=patient_a, user=clinician)
    assert series.sites[0].minimal_detectable_change["lesion_skin_fraction"] == 0.116
