"""How measures and verdicts are shown to clinicians: names, units, scales and axis ranges.

One table for the admin page and the charts, so a measure has the same name and unit in both.
The MDC comes from :func:`~diary.progression.trends.minimal_detectable_change` only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

from segmentation.severity.catalog import MEASURES

from .trends import (
    IMPROVING,
    INSUFFICIENT,
    MIN_POINTS,
    MIN_SPAN_DAYS,
    STABLE,
    WORSENING,
    minimal_detectable_change,
)

__all__ = [
    "CLINICAL_MEASURES",
    "MIN_AXIS_SPAN_MDCS",
    "VERDICTS",
    "AxisRange",
    "MeasureDisplay",
    "axis_range",
]

# Each axis spans at least this many MDCs, so that noise (a change under one MDC) never fills the
# panel: a 0.15 ΔE wobble on an auto-scaled axis looks like a cliff.
MIN_AXIS_SPAN_MDCS = 4.0


@dataclass(frozen=True)
class MeasureDisplay:
    """A stored measure as a clinician reads it: ``title`` names it with its unit; stored values
    are multiplied by ``scale`` (a fraction becomes a percentage) and shown with ``unit``."""

    key: str
    title: str
    unit: str
    scale: float
    decimals: int
    colour: str
    floor: float | None = None
    ceiling: float | None = None

    def value(self, raw: float | None) -> float | None:
        return None if raw is None else raw * self.scale

    def mdc(self, table: Mapping[str, float] | None = None) -> float:
        """The MDC in display units, from ``table`` (the series' model's) or the defaults."""
        return minimal_detectable_change(self.key, table) * self.scale

    def format(self, raw: float | None, *, signed: bool = False, scaled: bool = False) -> str:
        """``raw`` (stored units, or display units when ``scaled``) as text with its unit."""
        value = raw if scaled else self.value(raw)
        if value is None:
            return "-"
        sign = "+" if signed else ""
        text = f"{value:{sign}.{self.decimals}f}"
        return f"{text} {self.unit}" if self.unit else text


# The catalogue's measures shown to clinicians (its ``chart``), in its order. The paper's RGB
# difference is not one: it compares the lesion with the whole photo, background included.
CLINICAL_MEASURES: tuple[MeasureDisplay, ...] = tuple(
    MeasureDisplay(key=m.name, **asdict(m.chart)) for m in MEASURES if m.chart is not None
)

#: The verdict of a trend, as a label and the one sentence that explains it on the page.
VERDICTS: dict[str, tuple[str, str]] = {
    IMPROVING: (
        "Improving",
        "The robust trend line through the photos fell by at least the minimal detectable "
        "change (MDC): less depigmented area or less contrast than at baseline.",
    ),
    STABLE: (
        "Stable",
        "The robust trend line moved by less than the MDC: any change is within measurement "
        "error (lighting, framing, segmentation).",
    ),
    WORSENING: (
        "Worsening",
        "The robust trend line rose by at least the MDC: more depigmented area or more contrast "
        "than at baseline.",
    ),
    INSUFFICIENT: (
        "Not enough data",
        f"Fewer than {MIN_POINTS} analysed photos, or less than {MIN_SPAN_DAYS} days between "
        "the first and the last: no verdict is given.",
    ),
}


@dataclass(frozen=True)
class AxisRange:
    low: float
    high: float
    baseline: float | None
    mdc: float


def axis_range(
    display: MeasureDisplay,
    raw_values: Sequence[float | None],
    mdc_table: Mapping[str, float] | None = None,
) -> AxisRange:
    """The y range of ``display``'s panel: every value and the MDC band around the baseline (the
    first value), at least :data:`MIN_AXIS_SPAN_MDCS` MDCs tall, inside the measure's bounds."""
    values = [v for v in (display.value(r) for r in raw_values) if v is not None]
    mdc = display.mdc(mdc_table)
    baseline = values[0] if values else None
    points = [*values, baseline - mdc, baseline + mdc] if baseline is not None else [0.0]
    low, high = min(points), max(points)
    span = max((high - low) * 1.15, MIN_AXIS_SPAN_MDCS * mdc)
    centre = (low + high) / 2
    low, high = centre - span / 2, centre + span / 2
    # Shift (not shrink) the range inside the bounds, so the minimum span is kept.
    if display.floor is not None and low < display.floor:
        low, high = display.floor, display.floor + span
    if display.ceiling is not None and high > display.ceiling:
        low, high = display.ceiling - span, display.ceiling
        if display.floor is not None:
            low = max(low, display.floor)
    return AxisRange(low=low, high=high, baseline=baseline, mdc=mdc)
