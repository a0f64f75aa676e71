"""The series' row serializers write exactly what DRF's field-by-field serializers would."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from diary.api import series_serializers as s
from diary.selectors.series import series_for_patient
from tests.factories import BodySiteFactory, TreatmentEntryFactory
from tests.progression.conftest import START, analysed_photo

pytestmark = pytest.mark.django_db


_FieldByField = s.field_by_field_series_serializer()


@pytest.fixture
def varied_series(patient_a, make_series):
    site, _ = make_series(patient_a, [0.4, 0.0, 1.0], every_days=17)
    # Empty measures and grade, a time with microseconds, in summer (another UTC offset).
    analysed_photo(
        body_site=site,
        taken_at=START + dt.timedelta(days=190, microseconds=123456),
        lesion_skin_fraction=None,
        delta_e2000=None,
        ita_difference=None,
        rgb_mean_difference=None,
        grade="",
    )
    BodySiteFactory(patient=patient_a)  # a site without photos
    TreatmentEntryFactory(patient=patient_a, body_site=site, dose="311 nm, 0.5 J/cm²")
    TreatmentEntryFactory(patient=patient_a, body_site=None, notes="whole body")
    return site


@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris", "Asia/Seoul"])
def test_rows_match_drf_fields(zone, settings, patient_a, clinician, varied_series):
    settings.TIME_ZONE = zone
    with timezone.override(zone):
        series = series_for_patient(patient=patient_a, user=clinician)
        fast = s.SeriesSerializer(series).data
        reference = _FieldByField(series).data
    assert sum(len(site["points"]) for site in fast["sites"]) == 4
    assert fast == reference
    point = fast["sites"][0]["points"][-1]
    assert point["lesion_skin_fraction"] is None and point["grade"] == ""
    if zone == "UTC":
        assert point["taken_at"].endswith(".123456Z")
    else:
        assert not point["taken_at"].endswith("Z")


def test_the_schema_still_describes_every_point_field():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    point = schema["components"]["schemas"]["SeriesPoint"]
    assert set(point["properties"]) == set(s.SeriesPointSerializer().fields)
    assert point["properties"]["taken_at"]["format"] == "date-time"
    assert set(schema["components"]["schemas"]["SeriesTreatment"]["properties"]) == set(
        s.SeriesTreatmentSerializer().fields
    )
