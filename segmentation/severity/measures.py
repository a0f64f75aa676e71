"""``measure_severity``: the paper's RGB contrast, CIELAB contrast, ITA°, extent and grades."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from ._checks import check_image, check_mask
from .colour import delta_e2000, ita_degrees, srgb_to_lab
from .grading import DEFAULT_THRESHOLDS, PAPER_THRESHOLDS, GradeThresholds, grade_value
from .normalisation import ColourCardPatch, apply_normalisation, normalisation_matrix
from .regions import lesion_extent, split_regions
from .report import Reason, SeverityReport, Triplet
from .skin import SkinRule, skin_mask

__all__ = ["NORMALISATION_REFERENCES", "measure_severity"]

_MAX_LAB_PIXELS = 1 << 20
#: Which pixels grey-world and white-patch are estimated from.
NORMALISATION_REFERENCES = ("skin", "photo")


def measure_severity(
    image: np.ndarray,
    mask: np.ndarray,
    *,
    pixels_per_cm: float | None = None,
    normalisation: str | None = "grey_world",
    normalisation_reference: str = "skin",
    thresholds: GradeThresholds | None = None,
    colour_card: Sequence[ColourCardPatch] | None = None,
    skin_rule: SkinRule | None = None,
    ring_width_fraction: float = 0.03,
    min_lesion_pixels: int = 50,
    min_component_fraction: float = 1e-4,
    segmenter: str | None = None,
) -> SeverityReport:
    """Measure one lesion mask on one photo.

    ``image`` is 8-bit RGB (H, W, 3); ``mask`` a (H, W) bool lesion mask at the same size.
    ``pixels_per_cm`` (in this image's pixels) enables areas in cm². ``normalisation`` is None,
    ``"grey_world"``, ``"white_patch"`` or ``"colour_card"`` (then ``colour_card`` marks the
    patches) and affects the Lab/ΔE/ITA° measures only; the RGB measures stay the paper's, on the
    photo as taken, and ITA° uses the photo as taken unless a colour card calibrated it.
    ``normalisation_reference`` is ``"skin"`` (default: grey-world is estimated from the
    non-lesion skin, so the background cannot move the contrast measures) or ``"photo"`` (the
    whole photo, as before issue 12; kept for comparisons). White-patch is defined by the photo's
    brightest pixels, which healthy skin does not contain, so it always uses the whole photo.
    ``thresholds`` selects the measure and cut-offs of ``grade`` (default
    :data:`~segmentation.severity.grading.DEFAULT_THRESHOLDS`). The ring is
    ``ring_width_fraction`` x sqrt(H·W) pixels wide. Colours of a region with fewer than
    ``min_lesion_pixels`` pixels are not measured. Lesions smaller than ``min_component_fraction``
    of the image are not counted in ``lesion_count``. ``segmenter`` is the label of the segmenter
    that produced the mask (e.g. ``"baseline:colour-threshold-v1"``), copied into the report.
    """
    check_image(image)
    lesion = check_mask(mask, image.shape[:2])
    if pixels_per_cm is not None and not (math.isfinite(pixels_per_cm) and pixels_per_cm > 0):
        raise ValueError("pixels_per_cm must be a positive finite number")
    if not 0.0 < ring_width_fraction < 0.5:
        raise ValueError("ring_width_fraction must be in (0, 0.5)")
    if min_lesion_pixels < 1:
        raise ValueError("min_lesion_pixels must be at least 1")
    if not 0.0 <= min_component_fraction < 1.0:
        raise ValueError("min_component_fraction must be in [0, 1)")
    if normalisation_reference not in NORMALISATION_REFERENCES:
        raise ValueError(
            f"unknown normalisation_reference {normalisation_reference!r}; "
            f"expected one of {NORMALISATION_REFERENCES}"
        )
    thresholds = thresholds or DEFAULT_THRESHOLDS

    regions = split_regions(
        lesion, skin_mask(image, rule=skin_rule), ring_fraction=ring_width_fraction
    )
    n_lesion = int(np.count_nonzero(lesion))
    n_visible = int(np.count_nonzero(regions.visible_skin))
    n_nonlesion_skin = int(np.count_nonzero(regions.nonlesion_skin))
    n_ring = int(np.count_nonzero(regions.ring))
    skin_found = n_nonlesion_skin >= min_lesion_pixels
    reference = _reference(normalisation, normalisation_reference, skin_found)
    matrix, clamped = normalisation_matrix(
        image,
        method=normalisation,
        colour_card=colour_card,
        reference=regions.nonlesion_skin if reference == "skin" else None,
    )
    reasons: list[str] = []
    if clamped:
        reasons.append("normalisation_gain_clamped")
    if n_lesion == 0:
        reasons.append("empty_mask")
    elif lesion.all():
        reasons.append("full_mask")
    elif n_lesion < min_lesion_pixels:
        reasons.append("lesion_too_small")
    if not skin_found and not lesion.all():
        reasons.append("no_skin_found")
    colour_ok = n_lesion >= min_lesion_pixels and not lesion.all()
    ring_ok = colour_ok and n_ring >= min_lesion_pixels
    if colour_ok and skin_found and not ring_ok:
        reasons.append("ring_too_small")

    # Extent: defined whenever there is skin to relate the lesion to (or the lesion is everything).
    extent = lesion_extent(
        lesion, min_component_pixels=max(1, math.ceil(min_component_fraction * lesion.size))
    )
    fraction_ok = skin_found or lesion.all()
    lesion_skin_fraction = n_lesion / n_visible if fraction_ok and n_visible else None
    largest = extent.largest_component_pixels / n_visible if fraction_ok and n_visible else None
    area_scale = None if pixels_per_cm is None else 1.0 / (pixels_per_cm * pixels_per_cm)

    # Pixel sets, gathered once; colours are only converted for the pixels that are measured.
    lesion_px = image[lesion] if colour_ok else None
    skin_px = image[regions.nonlesion_skin] if colour_ok and skin_found else None
    ring_px = image[regions.ring] if ring_ok else None

    # The paper's measure: raw RGB, lesion vs every non-lesion pixel (background included), so
    # it changes with the background by construction; the skin-only variant does not.
    rgb_lesion = rgb_nonlesion = rgb_skin = None
    if lesion_px is not None:
        total = _channel_sums(image.reshape(-1, 3))
        lesion_sum = _channel_sums(lesion_px)
        rgb_lesion = _triplet(lesion_sum / n_lesion)
        rgb_nonlesion = _triplet((total - lesion_sum) / (lesion.size - n_lesion))
    if skin_px is not None:
        rgb_skin = _triplet(_channel_sums(skin_px) / len(skin_px))
    rgb_diff = _sub(rgb_lesion, rgb_nonlesion)
    rgb_skin_diff = _sub(rgb_lesion, rgb_skin)

    # Perceptual measures on the (optionally) normalised colours, in CIELAB.
    lab_lesion = _lab_mean(lesion_px, matrix)
    lab_ring = _lab_mean(ring_px, matrix)
    lab_skin = _lab_mean(skin_px, matrix)
    delta_l = _sub_l(lab_lesion, lab_ring)
    if delta_l is not None and delta_l < 0:
        reasons.append("lesion_darker")
    # ITA° is a colorimetric skin-typology angle driven by b*; grey-world and white-patch estimate
    # the illuminant from the scene and pull skin's b* towards zero, so ITA° is only taken from the
    # normalised photo when a colour card calibrated it, and otherwise from the photo as taken.
    ita_source = "colour_card" if normalisation == "colour_card" else "as_taken"
    ita_matrix = matrix if ita_source == "colour_card" else np.eye(3)
    if np.array_equal(ita_matrix, matrix):  # same colours: reuse the conversions
        ita_lab_lesion, ita_lab_ring = lab_lesion, lab_ring
    else:
        ita_lab_lesion, ita_lab_ring = (
            _lab_mean(lesion_px, ita_matrix),
            _lab_mean(ring_px, ita_matrix),
        )
    ita_lesion = _ita(ita_lab_lesion, reasons)
    ita_surrounding = _ita(ita_lab_ring, reasons)

    rgb_vs_rest = None if rgb_diff is None else float(np.mean(rgb_diff))
    height, width = lesion.shape
    report = SeverityReport(
        normalisation=normalisation,
        normalisation_reference=reference,
        segmenter=segmenter,
        image_width=int(width),
        image_height=int(height),
        lesion_pixel_count=n_lesion,
        skin_pixel_count=n_visible,
        nonlesion_skin_pixel_count=n_nonlesion_skin,
        ring_pixel_count=n_ring,
        ring_width_px=regions.ring_width_px,
        lesion_skin_fraction=lesion_skin_fraction,
        lesion_image_fraction=n_lesion / lesion.size,
        lesion_count=extent.lesion_count,
        largest_lesion_fraction=largest,
        pixels_per_cm=None if pixels_per_cm is None else float(pixels_per_cm),
        lesion_area_cm2=None if area_scale is None else n_lesion * area_scale,
        skin_area_cm2=None if area_scale is None else n_visible * area_scale,
        rgb_lesion_mean=rgb_lesion,
        rgb_nonlesion_mean=rgb_nonlesion,
        rgb_difference=rgb_diff,
        rgb_mean_difference_vs_rest=rgb_vs_rest,
        rgb_nonlesion_skin_mean=rgb_skin,
        rgb_mean_difference_vs_skin=None
        if rgb_skin_diff is None
        else float(np.mean(rgb_skin_diff)),
        lab_lesion_mean=lab_lesion,
        lab_ring_mean=lab_ring,
        lab_skin_mean=lab_skin,
        delta_e2000=_de(lab_lesion, lab_ring),
        delta_e2000_skin=_de(lab_lesion, lab_skin),
        delta_l=delta_l,
        delta_l_skin=_sub_l(lab_lesion, lab_skin),
        ita_lesion=ita_lesion,
        ita_surrounding=ita_surrounding,
        ita_difference=_minus(ita_lesion, ita_surrounding),
        ita_source=ita_source,
        paper_grade=grade_value(rgb_vs_rest, PAPER_THRESHOLDS),
        grade=None,  # below: graded on the report's field that the thresholds name
        grade_measure=thresholds.measure,
        grade_thresholds=thresholds.as_dict(),
        reasons=tuple(Reason.of(code) for code in dict.fromkeys(reasons)),
    )
    return replace(report, grade=grade_value(getattr(report, thresholds.measure), thresholds))


def _reference(normalisation: str | None, requested: str, skin_found: bool) -> str | None:
    """The reference actually used: none without a scene-estimated normalisation; the whole photo
    for white-patch, and when too little skin was found (then no contrast is reported anyway)."""
    if normalisation is None or normalisation == "colour_card":
        return None
    return requested if skin_found and normalisation == "grey_world" else "photo"


def _channel_sums(pixels: np.ndarray) -> np.ndarray:
    """Exact per-channel sums of (N, 3) 8-bit pixels. One channel at a time: numpy's reduction
    over axis 0 of an (N, 3) array runs an inner loop of three and was 15x slower."""
    return np.array([pixels[:, channel].sum(dtype=np.int64) for channel in range(3)])


def _triplet(values: np.ndarray) -> Triplet:
    return (float(values[0]), float(values[1]), float(values[2]))


def _lab_mean(pixels: np.ndarray | None, matrix: np.ndarray) -> Triplet | None:
    """Mean CIELAB of 8-bit pixels (N, 3) after the linear-light correction ``matrix``.

    Regions larger than ``_MAX_LAB_PIXELS`` are read at an even stride: the Lab conversion is the
    cost of a 12-megapixel photo, and the mean of a million evenly spread skin pixels differs from
    the full mean by about 0.01 ΔE (standard error), far below anything the measures resolve.
    """
    if pixels is None:
        return None
    if len(pixels) > _MAX_LAB_PIXELS:
        pixels = pixels[np.linspace(0, len(pixels) - 1, _MAX_LAB_PIXELS).astype(np.intp)]
    lab = srgb_to_lab(apply_normalisation(pixels, matrix))
    # float64 accumulation: float32 sums over millions of pixels lose the second decimal.
    return _triplet(lab.mean(axis=0, dtype=np.float64))


def _sub(a: Triplet | None, b: Triplet | None) -> Triplet | None:
    if a is None or b is None:
        return None
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2])


def _sub_l(a: Triplet | None, b: Triplet | None) -> float | None:
    return None if a is None or b is None else a[0] - b[0]


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _de(a: Triplet | None, b: Triplet | None) -> float | None:
    return None if a is None or b is None else delta_e2000(np.asarray(a), np.asarray(b))


def _ita(lab: Triplet | None, reasons: list[str]) -> float | None:
    if lab is None:
        return None
    value = ita_degrees(lab[0], lab[2])
    if value is None:
        reasons.append("ita_undefined")
    return value
