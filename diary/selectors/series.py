"""Severity time series of a patient: which analyses count, and the points per body site.

Reads only; every query starts from ``visible_to(user)``. The number of queries is constant
(model version, body sites, points, treatments) whatever the number of photos.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import NamedTuple

from segmentation.selectors import active_model_get
from segmentation.severity.catalog import COLUMNS

from ..models import Analysis, BodySite, Correction, Patient, TreatmentEntry
from ..models.photos import MASK_SOURCE_CLINICIAN, MASK_SOURCE_MODEL
from ..progression.mdc import mdc_table
from ..versions import active_version_label, version_label_of

# The measures a series carries for each photo, in the order of the API, CSV and FHIR exports.
# The Analysis columns of the catalogue; SeriesPoint's fields in between taken_at and grade.
SERIES_MEASURES = COLUMNS


# Named tuples, not frozen dataclasses: a series builds thousands of points per request, and a
# tuple is made five times faster (1 ms against 5 ms for 2,000 points, profiled in
# docs/performance.md).
class SeriesPoint(NamedTuple):
    photo_id: int
    analysis_id: int
    taken_at: dt.datetime
    lesion_skin_fraction: float | None
    delta_e2000: float | None
    ita_difference: float | None
    rgb_mean_difference: float | None
    grade: str
    model_version: str
    # Photo quality (docs/quality.md): whether the checks passed (true for photos older than the
    # checks), and whether a clinician counted a refused photo in the trends anyway.
    quality_ok: bool = True
    included_by_clinician: bool = False
    # Who drew the mask the measures come from: the model, or a clinician's correction (which
    # then replaces the model's measures; docs/corrections.md).
    mask_source: str = MASK_SOURCE_MODEL

    @property
    def counts_in_trends(self) -> bool:
        return self.quality_ok or self.included_by_clinician


class TreatmentPoint(NamedTuple):
    id: int
    date: dt.date
    kind: str
    body_site_id: int | None
    dose: str
    notes: str


@dataclass
class BodySiteSeries:
    body_site: BodySite
    points: list[SeriesPoint] = field(default_factory=list)
    # The MDC95 per measure of the model that measured the points (progression.trends.mdc_table).
    minimal_detectable_change: dict[str, float] = field(default_factory=dict)
    # Treatments logged for this site, and those logged without a site (whole-body or systemic).
    treatments: list[TreatmentPoint] = field(default_factory=list)


@dataclass
class PatientSeries:
    patient: Patient
    model_version: str
    minimal_detectable_change: dict[str, float]
    date_from: dt.date | None
    date_to: dt.date | None
    sites: list[BodySiteSeries]
    treatments: list[TreatmentPoint]


def series_model_version() -> str:
    """The one rule for which analyses a series uses: the active model's, else the baseline's.

    Analyses by older models are kept but never mixed into a series, since two models measure the
    same photo differently and their mix would show change that is only a change of model.
    """
    return active_version_label()


def _series_model(model_version: str | None) -> tuple[str, dict[str, float]]:
    """The version label of the series' analyses and the MDC table of the model behind them (one
    query). An explicit older version is judged against the ground-truth MDC."""
    if model_version is not None:
        return model_version, mdc_table()
    model = active_model_get()
    return version_label_of(model), mdc_table(model.minimal_detectable_change if model else None)


def _window(date_from: dt.date | None, date_to: dt.date | None, tz: dt.tzinfo) -> tuple:
    # Whole days of the patient's time zone (where the photos were taken and the treatments
    # logged), as aware datetimes, so the (patient, taken_at) index can be used.
    start = end = None
    if date_from is not None:
        start = dt.datetime.combine(date_from, dt.time.min, tzinfo=tz)
    if date_to is not None:
        end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return start, end


def _corrections_in_force(analyses) -> dict[int, list]:
    """The measures and grade of each photo's newest correction, for the photos of ``analyses``
    (one query; a subquery, so the window and the visibility are the analyses' own)."""
    rows = (
        Correction.objects.filter(photo_id__in=analyses.values("photo_id"))
        .order_by("photo_id", "created_at", "id")
        .values_list("photo_id", *SERIES_MEASURES, "grade")
    )
    return {photo_id: values for photo_id, *values in rows}  # the newest comes last, and wins


def series_for_patient(
    *,
    patient: Patient,
    user,
    body_site: BodySite | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    model_version: str | None = None,
) -> PatientSeries:
    """Points per body site (oldest first) and the treatments in the same window.

    Five queries: the model version (unless given), the body sites, the points, the
    clinicians' corrections of those points, the treatments. A corrected photo's point carries
    the measures of its newest correction (``mask_source`` ``clinician``).
    """
    version, mdc = _series_model(model_version)
    sites = BodySite.objects.visible_to(user).filter(patient=patient).order_by("id")
    if body_site is not None:
        sites = sites.filter(pk=body_site.pk)
    by_site = {
        site.pk: BodySiteSeries(body_site=site, minimal_detectable_change=mdc) for site in sites
    }

    start, end = _window(date_from, date_to, patient.zone)
    analyses = Analysis.objects.visible_to(user).filter(
        photo__patient=patient, model_version=version
    )
    if body_site is not None:
        # An equality, not ``body_site__in`` the patient's sites: PostgreSQL cannot know that
        # those sites hold all of the patient's photos, expected a tenth of the rows and chose a
        # scan of every analysis (EXPLAIN ANALYZE in docs/performance.md).
        analyses = analyses.filter(photo__body_site=body_site)
    treatments = TreatmentEntry.objects.visible_to(user).filter(patient=patient)
    if start is not None:
        analyses = analyses.filter(photo__taken_at__gte=start)
        treatments = treatments.filter(date__gte=date_from)
    if end is not None:
        analyses = analyses.filter(photo__taken_at__lt=end)
        treatments = treatments.filter(date__lte=date_to)

    # values_list: no model instances for thousands of rows, only the columns a point needs.
    rows = analyses.order_by("photo__taken_at", "photo_id").values_list(
        "photo_id",
        "id",
        "photo__taken_at",
        *SERIES_MEASURES,
        "grade",
        "photo__body_site_id",
        "photo__quality_ok",
        "photo__quality_included_at",
    )
    corrected = _corrections_in_force(analyses)
    for photo_id, analysis_id, taken_at, *values, site_id, quality_ok, included_at in rows:
        site_series = by_site.get(site_id)
        if site_series is None:  # a photo's site is its patient's, hence visible: defensive
            continue
        source = MASK_SOURCE_MODEL
        if photo_id in corrected:
            values, source = corrected[photo_id], MASK_SOURCE_CLINICIAN
        site_series.points.append(
            SeriesPoint(
                photo_id,
                analysis_id,
                taken_at,
                *values,
                model_version=version,
                quality_ok=quality_ok is not False,
                included_by_clinician=included_at is not None,
                mask_source=source,
            )
        )

    entries = [
        TreatmentPoint(*row)
        for row in treatments.order_by("date", "id").values_list(
            "id", "date", "kind", "body_site_id", "dose", "notes"
        )
    ]
    if body_site is not None:
        entries = [e for e in entries if e.body_site_id in (None, body_site.pk)]
    for entry in entries:
        targets = (
            by_site.values() if entry.body_site_id is None else [by_site.get(entry.body_site_id)]
        )
        for site_series in targets:
            if site_series is not None:
                site_series.treatments.append(entry)

    return PatientSeries(
        patient=patient,
        model_version=version,
        minimal_detectable_change=mdc,
        date_from=date_from,
        date_to=date_to,
        sites=list(by_site.values()),
        treatments=entries,
    )
