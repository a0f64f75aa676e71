"""Trend rules on hand-made series: no database."""

from __future__ import annotations

import datetime as dt

import pytest

from diary.progression.charts import treatment_periods
from diary.progression.trends import (
    INSUFFICIENT,
    MINIMAL_DETECTABLE_CHANGE,
    measure_trend,
    repigmentation_percent,
    site_trend,
)
from diary.selectors.series import SeriesPoint, TreatmentPoint

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def _points(values, *, every_days=30):
    return [
        SeriesPoint(
            photo_id=i,
            analysis_id=i,
            taken_at=T0 + dt.timedelta(days=every_days * i),
            lesion_skin_fraction=v,
            delta_e2000=None if v is None else 20 * v,
            ita_difference=None,
            rgb_mean_difference=None,
            grade="medium",
            model_version="baseline:colour-threshold-v1",
        )
        for i, v in enumerate(values)
    ]


def test_repigmenting_site_is_improving_with_the_exact_slope():
    trend = site_trend(_points([0.40, 0.35, 0.30, 0.25, 0.20]))
    extent = trend.measures["lesion_skin_fraction"]
    assert trend.status == extent.status == "improving"
    assert extent.slope_per_30_days == pytest.approx(-0.05)
    assert extent.change_since_baseline == pytest.approx(-0.20)
    assert trend.repigmentation_percent == pytest.approx(50.0)
    assert trend.span_days == pytest.approx(120)
    assert trend.measures["delta_e2000"].status == "improving"


def test_spreading_site_is_worsening_and_repigmentation_negative():
    trend = site_trend(_points([0.10, 0.15, 0.20, 0.25]))
    assert trend.status == "worsening"
    assert trend.repigmentation_percent == pytest.approx(-150.0)


def test_change_below_the_minimal_detectable_change_is_stable():
    mdc = MINIMAL_DETECTABLE_CHANGE["lesion_skin_fraction"]
    step = mdc / 8  # four steps: half the MDC in all
    trend = site_trend(_points([0.30 + step * i for i in range(5)]))
    assert trend.measures["lesion_skin_fraction"].fitted_change == pytest.approx(mdc / 2)
    assert trend.status == "stable"


def test_one_outlying_photo_does_not_flip_the_trend():
    # A single badly lit photo at the end: first-vs-last would say "worsening".
    values = [0.40, 0.37, 0.34, 0.31, 0.28, 0.25, 0.60]
    extent = site_trend(_points(values)).measures["lesion_skin_fraction"]
    assert extent.change_since_baseline > 0
    assert extent.slope_per_30_days == pytest.approx(-0.03)
    assert extent.status == "improving"


@pytest.mark.parametrize(
    ("values", "every_days"),
    [([], 30), ([0.3], 30), ([0.3, 0.1], 30), ([0.3, 0.2, 0.1], 7)],
    ids=["none", "one", "two", "short-span"],
)
def test_too_few_points_or_too_short_is_insufficient(values, every_days):
    trend = site_trend(_points(values, every_days=every_days))
    assert trend.status == INSUFFICIENT
    assert trend.measures["lesion_skin_fraction"].slope_per_30_days is None


def test_missing_values_are_left_out():
    times = [T0 + dt.timedelta(days=30 * i) for i in range(4)]
    trend = measure_trend(times, [0.4, None, 0.3, None], measure="lesion_skin_fraction")
    assert trend.n_points == 2
    assert trend.latest == 0.3
    assert trend.status == INSUFFICIENT


@pytest.mark.parametrize(("baseline", "latest"), [(0.0, 0.1), (None, 0.1), (0.2, None)])
def test_repigmentation_needs_a_baseline_lesion(baseline, latest):
    assert repigmentation_percent(baseline, latest) is None


def test_treatment_sessions_close_together_form_one_period():
    day = dt.date(2025, 3, 1)
    entries = [
        TreatmentPoint(i, day + dt.timedelta(days=d), kind, None, "", "")
        for i, (d, kind) in enumerate(
            [
                (0, "phototherapy"),
                (3, "phototherapy"),
                (7, "topical"),
                (10, "phototherapy"),
                (40, "phototherapy"),
            ]
        )
    ]
    periods = treatment_periods(entries)
    assert [(p.kind, p.start, p.end, p.sessions) for p in periods] == [
        ("phototherapy", day, day + dt.timedelta(days=10), 3),
        ("topical", day + dt.timedelta(days=7), day + dt.timedelta(days=7), 1),
        ("phototherapy", day + dt.timedelta(days=40), day + dt.timedelta(days=40), 1),
    ]
