"""The minimal detectable change (MDC95) of each series measure: the ground truth's constants and
the table of the model that measured a series.

A leaf of the diary (it imports only the measure catalogue): the series selector and the trend
rules both read it, and neither imports the other through it. The rationale is in
docs/progression.md.
"""

from __future__ import annotations

from collections.abc import Mapping

from segmentation.severity.catalog import MEASURES

__all__ = ["MINIMAL_DETECTABLE_CHANGE", "mdc_table", "minimal_detectable_change"]

# The ground truth's MDC95 of every measure that has one, under its diary name (the column, or
# the report key of a measure with none), from the catalogue (the rationale is there).
# Read them through minimal_detectable_change(), never this dict directly.
MINIMAL_DETECTABLE_CHANGE: dict[str, float] = {m.name: m.mdc for m in MEASURES if m.mdc is not None}

# The registry measures a model's MDC under the severity report's keys; the diary's name differs
# where the column was named differently (rgb_mean_difference_vs_rest -> rgb_mean_difference).
_REPORT_NAMES = {m.key: m.name for m in MEASURES if m.name != m.key}


def mdc_table(model_mdc: Mapping[str, float] | None = None) -> dict[str, float]:
    """The MDC95 of every measure for the analyses of one model: the model's own, measured on
    augmented copies with its masks (``SegmentationModel.minimal_detectable_change``), where it
    has one; the ground-truth MDC above otherwise (the colour baseline, older models)."""
    table = dict(MINIMAL_DETECTABLE_CHANGE)
    for name, value in (model_mdc or {}).items():
        name = _REPORT_NAMES.get(name, name)
        if name in table and value is not None and value > 0:
            table[name] = float(value)
    return table


def minimal_detectable_change(measure: str, table: Mapping[str, float] | None = None) -> float:
    """The MDC95 of ``measure``, from ``table`` (:func:`mdc_table` of the model that measured the
    series) or the ground-truth constants: the one lookup of it."""
    return (table or MINIMAL_DETECTABLE_CHANGE)[measure]
