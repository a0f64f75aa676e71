"""Trend summary of one body site's series: change, repigmentation, robust slope, direction.

Pure functions of a list of points: no queries. The rules and the minimal detectable change are
documented (with their rationale) in docs/progression.md; keep the two in step.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import theilslopes

from ..selectors.series import SERIES_MEASURES, SeriesPoint
from .mdc import MINIMAL_DETECTABLE_CHANGE, mdc_table, minimal_detectable_change

__all__ = [
    "MINIMAL_DETECTABLE_CHANGE",
    "MIN_POINTS",
    "MIN_SPAN_DAYS",
    "MeasureTrend",
    "SiteTrend",
    "mdc_table",
    "measure_trend",
    "minimal_detectable_change",
    "site_trend",
]

# Fewer points, or a shorter span, and a slope is mostly noise: reported as insufficient_data.
MIN_POINTS = 3
MIN_SPAN_DAYS = 28
SLOPE_DAYS = 30

# Both measures rise as vitiligo gets worse (more depigmented area, more contrast).
IMPROVING, STABLE, WORSENING, INSUFFICIENT = "improving", "stable", "worsening", "insufficient_data"


@dataclass(frozen=True)
class MeasureTrend:
    measure: str
    n_points: int
    baseline: float | None
    latest: float | None
    change_since_baseline: float | None
    slope_per_30_days: float | None
    slope_low: float | None
    slope_high: float | None
    fitted_change: float | None
    minimal_detectable_change: float
    status: str


@dataclass(frozen=True)
class SiteTrend:
    n_points: int
    first_taken_at: dt.datetime | None
    last_taken_at: dt.datetime | None
    span_days: float
    repigmentation_percent: float | None
    status: str
    measures: dict[str, MeasureTrend]
    # Photos left out because a quality check refused them (docs/quality.md).
    n_left_out: int = 0


def measure_trend(
    times: Sequence[dt.datetime],
    values: Sequence[float | None],
    *,
    measure: str,
    mdc: Mapping[str, float] | None = None,
):
    """Trend of one measure, judged against ``mdc`` (an :func:`mdc_table`); points whose value is
    missing are left out."""
    pairs = [(t, v) for t, v in zip(times, values, strict=True) if v is not None]
    mdc = minimal_detectable_change(measure, mdc)
    if not pairs:
        return MeasureTrend(measure, 0, None, None, None, None, None, None, None, mdc, INSUFFICIENT)
    baseline, latest = pairs[0][1], pairs[-1][1]
    days = np.array([(t - pairs[0][0]).total_seconds() / 86400 for t, _ in pairs])
    span = float(days[-1]) if len(days) else 0.0
    if len(pairs) < MIN_POINTS or span < MIN_SPAN_DAYS:
        return MeasureTrend(
            measure, len(pairs), baseline, latest, latest - baseline,
            None, None, None, None, mdc, INSUFFICIENT,
        )  # fmt: skip
    slope, _, low, high = theilslopes(np.array([v for _, v in pairs], dtype=float), days)
    # The change the robust line puts on the whole span: one outlying photo (bad lighting, a
    # missed lesion) moves it far less than comparing the first and last photos directly.
    fitted = float(slope) * span
    status = STABLE if abs(fitted) < mdc else WORSENING if fitted > 0 else IMPROVING
    return MeasureTrend(
        measure=measure,
        n_points=len(pairs),
        baseline=baseline,
        latest=latest,
        change_since_baseline=latest - baseline,
        slope_per_30_days=float(slope) * SLOPE_DAYS,
        slope_low=float(low) * SLOPE_DAYS,
        slope_high=float(high) * SLOPE_DAYS,
        fitted_change=fitted,
        minimal_detectable_change=mdc,
        status=status,
    )


def repigmentation_percent(baseline: float | None, latest: float | None) -> float | None:
    """Share of the baseline lesion area (relative to skin) that has repigmented, in percent.

    Negative when the lesion has spread; ``None`` without a baseline lesion to compare with.
    """
    if baseline is None or latest is None or baseline <= 0:
        return None
    return 100.0 * (baseline - latest) / baseline


def site_trend(
    points: Sequence[SeriesPoint], *, mdc: Mapping[str, float] | None = None
) -> SiteTrend:
    """Trends of every measure of one site; the site's status is the lesion extent's.

    Extent decides because repigmentation is what treatment aims at and what the patient sees;
    contrast (ΔE) is reported beside it and documented as secondary. Photos that a quality check
    refused are left out (unless a clinician included them): one blurred or dark photo would be a
    false point in the fit.
    """
    counted = [p for p in points if p.counts_in_trends]
    n_left_out = len(points) - len(counted)
    points = counted
    times = [p.taken_at for p in points]
    measures = {
        name: measure_trend(times, [getattr(p, name) for p in points], measure=name, mdc=mdc)
        for name in SERIES_MEASURES
    }
    extent = measures["lesion_skin_fraction"]
    span = (times[-1] - times[0]).total_seconds() / 86400 if times else 0.0
    return SiteTrend(
        n_points=len(points),
        first_taken_at=times[0] if times else None,
        last_taken_at=times[-1] if times else None,
        span_days=span,
        repigmentation_percent=repigmentation_percent(extent.baseline, extent.latest),
        status=extent.status,
        measures=measures,
        n_left_out=n_left_out,
    )
