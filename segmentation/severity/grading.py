"""Three-level grades ("high", "medium", "low") from one measure and two configurable thresholds.

The paper graded severity by hand-picking one photo per level; its thresholds were never stated.
Both defaults here are derived from its three examples, and are therefore provisional until
calibrated against dermatologist-graded photos:

- :data:`PAPER_THRESHOLDS` grade ``rgb_mean_difference_vs_rest`` (the paper's lesion vs everything
  else) at the midpoints between the paper's examples: (44.8 + 26.2) / 2 = 35.5 and
  (26.2 + 17.0) / 2 = 21.6.
- :data:`DEFAULT_THRESHOLDS` grade ``delta_e2000`` (lesion vs perilesional ring). Each paper example
  is read as two neutral greys (lesion mean, non-lesion mean), converted to CIELAB and compared with
  CIEDE2000: high 17.69, medium 10.38, low 4.67; the midpoints are 14.0 and 7.5.
"""

from __future__ import annotations

from dataclasses import dataclass

from .catalog import MEASURES
from .report import LEGACY_KEYS

__all__ = [
    "DEFAULT_THRESHOLDS",
    "GRADEABLE_MEASURES",
    "PAPER_THRESHOLDS",
    "GradeThresholds",
    "grade_value",
]

GRADES = ("low", "medium", "high")

#: Report keys a grade may be based on.
GRADEABLE_MEASURES = tuple(m.key for m in MEASURES if m.graded)


@dataclass(frozen=True)
class GradeThresholds:
    """``grade = "high"`` if value >= high, ``"medium"`` if value >= medium, else ``"low"``."""

    measure: str
    high: float
    medium: float
    rationale: str = ""

    def __post_init__(self) -> None:
        # Thresholds stored before the rename name the old key; they grade the same measure.
        object.__setattr__(self, "measure", LEGACY_KEYS.get(self.measure, self.measure))
        if self.measure not in GRADEABLE_MEASURES:
            raise ValueError(
                f"GradeThresholds.measure {self.measure!r} is not one of {GRADEABLE_MEASURES}"
            )
        if not self.high > self.medium:
            raise ValueError("GradeThresholds.high must be greater than medium")

    def as_dict(self) -> dict[str, object]:
        return {
            "measure": self.measure,
            "high": self.high,
            "medium": self.medium,
            "rationale": self.rationale,
        }


PAPER_THRESHOLDS = GradeThresholds(
    measure="rgb_mean_difference_vs_rest",
    high=35.5,
    medium=21.6,
    rationale="midpoints between the paper's three examples (44.8 high, 26.2 medium, 17.0 low)",
)

DEFAULT_THRESHOLDS = GradeThresholds(
    measure="delta_e2000",
    high=14.0,
    medium=7.5,
    rationale=(
        "midpoints of CIEDE2000 between the paper's examples read as neutral greys "
        "(17.69 high, 10.38 medium, 4.67 low); provisional, not clinically calibrated"
    ),
)


def grade_value(value: float | None, thresholds: GradeThresholds) -> str | None:
    """The grade of ``value`` under ``thresholds``; None when the value is undefined."""
    if value is None:
        return None
    if value >= thresholds.high:
        return "high"
    if value >= thresholds.medium:
        return "medium"
    return "low"
