"""Response bodies of the progression endpoints (diary/api/series.py), for DRF and the schema."""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Iterable

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from segmentation.severity.catalog import COLUMNS

from ..models import BodySite, TreatmentEntry
from ..models.photos import MASK_SOURCES

STATUSES = ["improving", "stable", "worsening", "insufficient_data"]


# A component of its own: one named after the field would collide with the photos' ``status``.
@extend_schema_field({"type": "string", "enum": STATUSES}, component_name="TrendStatus")
class TrendStatusField(serializers.CharField):
    pass


class RoundedFloatField(serializers.FloatField):
    """A derived number shown to people, rounded: 37.5 rather than 37.49999999999999.

    Measurements (the series' points, a trend's baseline and latest) stay raw."""

    def __init__(self, *, decimals: int, **kwargs) -> None:
        self.decimals = decimals
        super().__init__(**kwargs)

    def to_representation(self, value):
        return round(super().to_representation(value), self.decimals)


# Differences and slopes of measures: six decimals drop float noise and keep every real digit
# (the smallest minimal detectable change is 0.06).
_DERIVED = 6


def _iso(value: dt.datetime | dt.date | None, tz) -> str | None:
    """What DRF's DateTimeField/DateField write: ISO 8601 in ``tz``, UTC as ``Z``."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        value = value.astimezone(tz) if tz is not None else value
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class _RowsSerializer(serializers.ListSerializer):
    """Writes many rows with plain Python instead of DRF's per-field machinery.

    Profiled at 2,000 points, DRF spent ~20 µs per field (attribute lookup, ``isinstance``
    checks, a time-zone lookup per datetime): two thirds of the series endpoint's time. The
    child's fields still describe the rows for the schema; ``child.row`` writes one row, and
    ``tests/progression/test_series_serializers.py`` holds it to DRF's own output.
    """

    def to_representation(self, data: Iterable) -> list[dict]:
        tz = timezone.get_current_timezone() if settings.USE_TZ else None
        row = self.child.row
        return [row(item, tz) for item in data]


_measures_of = operator.attrgetter(*COLUMNS)


class SeriesPointSerializer(serializers.Serializer):
    photo_id = serializers.IntegerField()
    analysis_id = serializers.IntegerField()
    taken_at = serializers.DateTimeField()
    lesion_skin_fraction = serializers.FloatField(
        allow_null=True, help_text="Lesion area / visible skin area, 0 to 1."
    )
    delta_e2000 = serializers.FloatField(
        allow_null=True, help_text="CIEDE2000, lesion vs perilesional skin."
    )
    ita_difference = serializers.FloatField(
        allow_null=True, help_text="ITA° of the lesion minus the surrounding skin's."
    )
    rgb_mean_difference = serializers.FloatField(
        allow_null=True,
        help_text="The paper's mean RGB difference, lesion minus every other pixel of the photo "
        "(background included, so it changes with the background).",
    )
    grade = serializers.CharField(help_text="low, medium or high; empty when not graded.")
    model_version = serializers.CharField()
    quality_ok = serializers.BooleanField(
        help_text="Every quality check of the photo passed. Points that failed are kept but left "
        "out of trends, unless `included_by_clinician`; charts draw them hollow."
    )
    included_by_clinician = serializers.BooleanField(
        help_text="A clinician counted this photo in the trends although a check refused it."
    )
    mask_source = serializers.ChoiceField(
        choices=MASK_SOURCES,
        help_text="Who drew the mask these measures come from: the `model` (`model_version`), "
        "or a `clinician`'s correction of it, which then replaces the model's measures.",
    )

    class Meta:
        list_serializer_class = _RowsSerializer

    @staticmethod
    def row(p, tz) -> dict:
        return {
            "photo_id": p.photo_id,
            "analysis_id": p.analysis_id,
            "taken_at": _iso(p.taken_at, tz),
            **dict(zip(COLUMNS, _measures_of(p), strict=True)),
            "grade": p.grade,
            "model_version": p.model_version,
            "quality_ok": p.quality_ok,
            "included_by_clinician": p.included_by_clinician,
            "mask_source": p.mask_source,
        }


class SeriesTreatmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    date = serializers.DateField()
    kind = serializers.ChoiceField(choices=TreatmentEntry.Kind.choices)
    body_site_id = serializers.IntegerField(
        allow_null=True, help_text="Empty: logged for no particular site (applies to all)."
    )
    dose = serializers.CharField()
    notes = serializers.CharField()

    class Meta:
        list_serializer_class = _RowsSerializer

    @staticmethod
    def row(t, tz) -> dict:
        return {
            "id": t.id,
            "date": _iso(t.date, tz),
            "kind": t.kind,
            "body_site_id": t.body_site_id,
            "dose": t.dose,
            "notes": t.notes,
        }


class _SiteFields(serializers.Serializer):
    body_site = serializers.IntegerField(source="site.body_site.pk")
    label = serializers.CharField(source="site.body_site.label")
    region = serializers.ChoiceField(
        source="site.body_site.region", choices=BodySite.Region.choices
    )


class SiteSeriesSerializer(serializers.Serializer):
    body_site = serializers.IntegerField(source="body_site.pk")
    label = serializers.CharField(source="body_site.label")
    region = serializers.ChoiceField(source="body_site.region", choices=BodySite.Region.choices)
    points = SeriesPointSerializer(many=True)
    treatments = SeriesTreatmentSerializer(
        many=True, help_text="This site's treatments and those logged without a site."
    )


class SeriesSerializer(serializers.Serializer):
    patient = serializers.IntegerField(source="patient.pk")
    model_version = serializers.CharField(help_text="Whose analyses the points are.")
    date_from = serializers.DateField(allow_null=True)
    date_to = serializers.DateField(allow_null=True)
    sites = SiteSeriesSerializer(many=True)
    treatments = SeriesTreatmentSerializer(many=True, help_text="All treatments in the window.")


def field_by_field_series_serializer() -> type[serializers.Serializer]:
    """The series serializer with DRF's generic per-field ``to_representation`` everywhere: the
    same fields as :class:`SeriesSerializer` without the row writers. It is the reference the
    rows are tested against and the baseline ``bench/api.py`` times them against."""

    class Point(SeriesPointSerializer):
        class Meta:
            list_serializer_class = serializers.ListSerializer

    class Treatment(SeriesTreatmentSerializer):
        class Meta:
            list_serializer_class = serializers.ListSerializer

    class Site(SiteSeriesSerializer):
        points = Point(many=True)
        treatments = Treatment(many=True)

    class Series(SeriesSerializer):
        sites = Site(many=True)
        treatments = Treatment(many=True)

    return Series


class MeasureTrendSerializer(serializers.Serializer):
    measure = serializers.CharField()
    n_points = serializers.IntegerField()
    baseline = serializers.FloatField(allow_null=True, help_text="At the first photo.")
    latest = serializers.FloatField(allow_null=True, help_text="At the last photo.")
    change_since_baseline = RoundedFloatField(decimals=_DERIVED, allow_null=True)
    slope_per_30_days = RoundedFloatField(
        decimals=_DERIVED, allow_null=True, help_text="Theil-Sen slope."
    )
    slope_low = RoundedFloatField(
        decimals=_DERIVED, allow_null=True, help_text="95% interval, low end."
    )
    slope_high = RoundedFloatField(
        decimals=_DERIVED, allow_null=True, help_text="95% interval, high end."
    )
    fitted_change = RoundedFloatField(
        decimals=_DERIVED,
        allow_null=True,
        help_text="Slope x span: the change the robust line shows.",
    )
    minimal_detectable_change = serializers.FloatField()
    status = TrendStatusField()


class SiteTrendSerializer(_SiteFields):
    n_points = serializers.IntegerField(
        source="trend.n_points", help_text="Photos the trend uses (quality checks passed)."
    )
    n_left_out = serializers.IntegerField(
        source="trend.n_left_out",
        help_text="Photos left out because a quality check refused them (`quality_ok` false in "
        "the series) and no clinician included them.",
    )
    first_taken_at = serializers.DateTimeField(source="trend.first_taken_at", allow_null=True)
    last_taken_at = serializers.DateTimeField(source="trend.last_taken_at", allow_null=True)
    span_days = RoundedFloatField(source="trend.span_days", decimals=2)
    repigmentation_percent = RoundedFloatField(
        decimals=1,
        source="trend.repigmentation_percent",
        allow_null=True,
        help_text="100 x (baseline - latest) / baseline lesion share, to 0.1; negative if it "
        "spread.",
    )
    status = TrendStatusField(source="trend.status", help_text="The lesion extent's status.")
    measures = serializers.DictField(source="trend.measures", child=MeasureTrendSerializer())


class TrendsSerializer(serializers.Serializer):
    patient = serializers.IntegerField()
    model_version = serializers.CharField()
    minimal_detectable_change = serializers.DictField(child=serializers.FloatField())
    sites = SiteTrendSerializer(many=True)
