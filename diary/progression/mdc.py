"""The minimal detectable change (MDC95) of each series measure: the ground truth's constants and
the table of the model that measured a series.

A leaf module: the series selector and the trend rules both read it, and neither imports the
other through it. The rationale is in docs/progression.md.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["MINIMAL_DETECTABLE_CHANGE", "mdc_table", "minimal_detectable_change"]

# MDC95 = 1.96 * sqrt(2) * SEM, SEM = the within-photo SD of the measure over augmented copies
# of the same photo with ground-truth masks (docs/severity.md, "Repeatability"), rounded up:
# lesion_skin_fraction 2.77 * 0.021 = 0.058 -> 0.06; delta_e2000 2.77 * 1.290 = 3.58 -> 3.6
# (grey-world estimated from the skin since issue 12; 1.117 -> 3.1 with the whole photo).
# ``rgb_mean_difference`` is the paper's lesion vs everything else (``rgb_mean_difference_vs_rest``
# in the severity report), the series' name for it; the skin-only variant is not in the series yet
# but has its MDC for the background test (tests/severity/test_severity_background.py).
# Read them through minimal_detectable_change(), never this dict directly.
MINIMAL_DETECTABLE_CHANGE: dict[str, float] = {
    "lesion_skin_fraction": 0.06,
    "delta_e2000": 3.6,
    "ita_difference": 10.2,
    "rgb_mean_difference": 5.7,
    "rgb_mean_difference_vs_skin": 6.8,
}


# The registry measures a model's MDC under the severity report's names; the series stores the
# paper's lesion-vs-rest RGB difference as ``rgb_mean_difference``.
_REPORT_NAMES = {"rgb_mean_difference_vs_rest": "rgb_mean_difference"}


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
