"""The result of one measurement: raw numbers, grades, and the reasons for anything undefined."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

from .catalog import MEASURES

__all__ = ["LEGACY_KEYS", "REASON_MESSAGES", "Reason", "SeverityReport"]

#: Keys of analyses stored before the RGB measures were renamed (issue 12), and the key each
#: became. ``as_dict`` still writes them, so stored ``measures`` and their readers keep working.
LEGACY_KEYS: dict[str, str] = {old: m.key for m in MEASURES for old in m.legacy}

#: Machine-readable reason codes and the human message attached to each.
REASON_MESSAGES: dict[str, str] = {
    "empty_mask": "The mask marks no lesion: extent is zero and contrast is undefined.",
    "full_mask": "The mask covers the whole image: nothing to compare the lesion with.",
    "lesion_too_small": "The lesion has fewer pixels than the minimum; its colour is not measured.",
    "no_skin_found": "No skin outside the lesion was found by the skin rule.",
    "ring_too_small": "Too few skin pixels around the lesion: ring contrast and ITA° undefined.",
    "lesion_darker": "The lesion is darker than its surroundings, unlike depigmented vitiligo.",
    "ita_undefined": "ITA° is undefined for a colour with b* = 0 and L* = 50.",
    "normalisation_gain_clamped": "A colour-normalisation gain was clamped (channel near black).",
}


@dataclass(frozen=True)
class Reason:
    code: str
    message: str

    @classmethod
    def of(cls, code: str) -> Reason:
        return cls(code=code, message=REASON_MESSAGES[code])


Triplet = tuple[float, float, float]


@dataclass(frozen=True)
class SeverityReport:
    """All measures of one photo and one lesion mask. Undefined values are None, never NaN.

    RGB values are the paper's (0..255, on the photo as taken); Lab and ΔE are measured after the
    optional colour normalisation named in ``normalisation``, estimated from the pixels named in
    ``normalisation_reference`` ("skin": the non-lesion skin; "photo": the whole photo; None when
    there is no normalisation or a colour card is the reference); ITA° on the colours named in
    ``ita_source`` ("as_taken", or "colour_card" when a card calibrated the photo).
    """

    normalisation: str | None
    normalisation_reference: str | None
    segmenter: str | None
    image_width: int
    image_height: int
    # Extent
    lesion_pixel_count: int
    skin_pixel_count: int
    nonlesion_skin_pixel_count: int
    ring_pixel_count: int
    ring_width_px: int
    lesion_skin_fraction: float | None
    lesion_image_fraction: float
    lesion_count: int
    largest_lesion_fraction: float | None
    pixels_per_cm: float | None
    lesion_area_cm2: float | None
    skin_area_cm2: float | None
    # The paper's RGB contrast
    rgb_lesion_mean: Triplet | None
    rgb_nonlesion_mean: Triplet | None
    rgb_difference: Triplet | None
    # Lesion vs *every* other pixel, background included: the paper's, background-dependent by
    # construction and kept for fidelity to the paper.
    rgb_mean_difference_vs_rest: float | None
    rgb_nonlesion_skin_mean: Triplet | None
    # Lesion vs non-lesion skin only: the same difference without the background.
    rgb_mean_difference_vs_skin: float | None
    # Perceptual contrast
    lab_lesion_mean: Triplet | None
    lab_ring_mean: Triplet | None
    lab_skin_mean: Triplet | None
    delta_e2000: float | None
    delta_e2000_skin: float | None
    delta_l: float | None
    delta_l_skin: float | None
    ita_lesion: float | None
    ita_surrounding: float | None
    ita_difference: float | None
    ita_source: str
    # Grades
    paper_grade: str | None
    grade: str | None
    grade_measure: str
    grade_thresholds: dict[str, object] = field(default_factory=dict)
    reasons: tuple[Reason, ...] = ()

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            values = value if isinstance(value, tuple) and item.name != "reasons" else (value,)
            for number in values:
                if isinstance(number, float) and not math.isfinite(number):
                    raise ValueError(f"SeverityReport.{item.name} is not finite: {value!r}")

    @property
    def reason_codes(self) -> tuple[str, ...]:
        return tuple(reason.code for reason in self.reasons)

    def as_dict(self) -> dict[str, object]:
        """JSON-serialisable dict: tuples become lists, reasons become {code, message} dicts; the
        :data:`LEGACY_KEYS` are repeated under their old names."""
        out: dict[str, object] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name == "reasons":
                out[item.name] = [{"code": r.code, "message": r.message} for r in value]
            elif isinstance(value, tuple):
                out[item.name] = list(value)
            elif isinstance(value, dict):
                out[item.name] = dict(value)
            else:
                out[item.name] = value
        for legacy, key in LEGACY_KEYS.items():
            out[legacy] = out[key]
        return out
