"""The clinician chart: clinical names and units, a minimum axis span, the MDC band (issue 12)."""

from __future__ import annotations

import datetime as dt

import pytest
from matplotlib.patches import Rectangle

from diary.progression.charts import CORRECTED_LABEL, series_chart, series_figure
from diary.progression.display import (
    CLINICAL_MEASURES,
    MIN_AXIS_SPAN_MDCS,
    VERDICTS,
    axis_range,
)
from diary.progression.trends import minimal_detectable_change
from diary.selectors.series import BodySiteSeries, SeriesPoint
from tests.progression.conftest import START

DISPLAY = {display.key: display for display in CLINICAL_MEASURES}


def _point(i: int, fraction: float, delta_e: float) -> SeriesPoint:
    return SeriesPoint(
        photo_id=i,
        analysis_id=i,
        taken_at=START + dt.timedelta(days=30 * i),
        lesion_skin_fraction=fraction,
        delta_e2000=delta_e,
        ita_difference=30.0,
        rgb_mean_difference=40.0,
        grade="high",
        model_version="baseline:colour-threshold-v1",
    )


def _series(points) -> BodySiteSeries:
    return BodySiteSeries(body_site="left hand, dorsum", points=list(points))


def test_a_tiny_change_gets_an_axis_of_several_mdcs():
    # 0.15 ΔE of change must not fill the panel.
    limits = axis_range(DISPLAY["delta_e2000"], [12.0, 12.1, 11.95, 12.15])
    mdc = minimal_detectable_change("delta_e2000")
    assert limits.high - limits.low >= MIN_AXIS_SPAN_MDCS * mdc - 1e-9
    assert limits.low <= 12.0 - mdc and limits.high >= 12.0 + mdc
    assert limits.baseline == 12.0 and limits.mdc == mdc


def test_a_large_change_keeps_every_value_and_the_band_in_view():
    limits = axis_range(DISPLAY["lesion_skin_fraction"], [0.05, 0.40, 0.80])
    assert limits.low == 0.0  # never below 0 %, and the minimum span is kept by shifting
    assert limits.high >= 80.0 and limits.high <= 100.0
    assert limits.mdc == pytest.approx(100 * minimal_detectable_change("lesion_skin_fraction"))


def test_the_figure_has_a_titled_panel_per_measure_with_its_band_and_range():
    points = [_point(i, 0.30 + 0.001 * i, 12.0 + 0.05 * i) for i in range(4)]
    figure = series_figure(_series(points))
    assert [ax.get_title(loc="left") for ax in figure.axes] == [d.title for d in CLINICAL_MEASURES]
    for ax, display in zip(figure.axes, CLINICAL_MEASURES, strict=True):
        raw = [getattr(p, display.key) for p in points]
        limits = axis_range(display, raw)
        assert ax.get_ylim() == pytest.approx((limits.low, limits.high))
        bands = [a for a in ax.patches if a.get_gid() == f"mdc-band-{display.key}"]
        assert len(bands) == 1
        band = bands[0]
        assert isinstance(band, Rectangle)
        # axhspan draws in (axes x, data y): its y extent is baseline ± MDC in display units.
        assert band.get_y() == pytest.approx(limits.baseline - limits.mdc)
        assert band.get_height() == pytest.approx(2 * limits.mdc)
        plotted = ax.lines[-1].get_ydata()
        assert list(plotted) == pytest.approx([display.value(v) for v in raw])


def test_a_site_without_photos_is_one_line_of_text_and_no_axes():
    figure = series_figure(_series([]))
    assert figure.axes == []
    assert [t.get_text() for t in figure.texts] == ["left hand, dorsum: no analysed photos yet"]
    assert series_chart(_series([]), fmt="png").startswith(b"\x89PNG")


def test_every_verdict_has_a_label_and_one_sentence():
    assert set(VERDICTS) == {"improving", "stable", "worsening", "insufficient_data"}
    for label, sentence in VERDICTS.values():
        assert label and sentence.endswith(".") and sentence.count(". ") == 0


def test_points_measured_on_a_clinicians_correction_are_squared_on_the_chart():
    points = [_point(i, 0.30 - 0.02 * i, 12.0) for i in range(4)]
    points[2] = points[2]._replace(mask_source="clinician")
    figure = series_figure(_series(points))
    for ax, display in zip(figure.axes, CLINICAL_MEASURES, strict=True):
        squares = [line for line in ax.lines if line.get_gid() == f"clinician-mask-{display.key}"]
        assert len(squares) == 1, display.key
        assert list(squares[0].get_ydata()) == pytest.approx(
            [display.value(getattr(points[2], display.key))]
        )
        assert squares[0].get_marker() == "s"
    legend = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert CORRECTED_LABEL in legend
    svg = series_chart(_series(points), fmt="svg").decode()
    assert 'id="clinician-mask-lesion_skin_fraction"' in svg


def test_a_chart_without_corrections_has_no_correction_square_nor_legend_entry():
    figure = series_figure(_series([_point(i, 0.30, 12.0) for i in range(3)]))
    assert not [line for ax in figure.axes for line in ax.lines if line.get_gid()]
    legend = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert CORRECTED_LABEL not in legend
