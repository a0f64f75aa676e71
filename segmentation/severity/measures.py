"""``measure_severity``: the paper's RGB contrast, CIELAB contrast, ITA°, extent and grades."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ._checks import check_image, check_mask
from .colour import delta_e2000, ita_degrees, srgb_to_lab, to_float_rgb
from .grading import DEFAULT_THRESHOLDS, PAPER_THRESHOLDS, GradeThresholds, grade_value
from .normalisation import ColourCardPatch, normalise_colours
from .regions import lesion_extent, split_regions
from .report import Reason, SeverityReport, Triplet
from .skin import SkinRule, skin_mask

__all__ = ["measure_severity"]


def measure_severity(
    image: np.ndarray,
    mask: np.ndarray,
    *,
    pixels_per_cm: float | None = None,
    normalisation: str | None = "grey_world",
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
    thresholds = thresholds or DEFAULT_THRESHOLDS
    normalised = normalise_colours(image, method=normalisation, colour_card=colour_card)

    regions = split_regions(
        lesion, skin_mask(image, rule=skin_rule), ring_fraction=ring_width_fraction
    )
    n_lesion = int(lesion.sum())
    n_visible = int(regions.visible_skin.sum())
    n_nonlesion_skin = int(regions.nonlesion_skin.sum())
    n_ring = int(regions.ring.sum())
    reasons: list[str] = []
    if normalised.clamped:
        reasons.append("normalisation_gain_clamped")
    if n_lesion == 0:
        reasons.append("empty_mask")
    elif lesion.all():
        reasons.append("full_mask")
    elif n_lesion < min_lesion_pixels:
        reasons.append("lesion_too_small")
    skin_found = n_nonlesion_skin >= min_lesion_pixels
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

    # The paper's measure: raw RGB, lesion vs every non-lesion pixel (background included).
    raw = image.reshape(-1, 3).astype(np.float64)
    flat_lesion = lesion.ravel()
    rgb_lesion = _mean(raw[flat_lesion]) if colour_ok else None
    rgb_nonlesion = _mean(raw[~flat_lesion]) if colour_ok else None
    rgb_skin = _mean(raw[regions.nonlesion_skin.ravel()]) if colour_ok and skin_found else None
    rgb_diff = _sub(rgb_lesion, rgb_nonlesion)
    rgb_skin_diff = _sub(rgb_lesion, rgb_skin)

    # Perceptual measures on the (optionally) normalised photo, in CIELAB.
    rgb = normalised.rgb
    lab_lesion = _mean(srgb_to_lab(rgb[lesion])) if colour_ok else None
    lab_ring = _mean(srgb_to_lab(rgb[regions.ring])) if ring_ok else None
    lab_skin = _mean(srgb_to_lab(rgb[regions.nonlesion_skin])) if colour_ok and skin_found else None
    delta_l = _sub_l(lab_lesion, lab_ring)
    if delta_l is not None and delta_l < 0:
        reasons.append("lesion_darker")
    # ITA° is a colorimetric skin-typology angle driven by b*; grey-world and white-patch estimate
    # the illuminant from the scene and pull skin's b* towards zero, so ITA° is only taken from the
    # normalised photo when a colour card calibrated it, and otherwise from the photo as taken.
    ita_source = "colour_card" if normalisation == "colour_card" else "as_taken"
    ita_rgb = rgb if ita_source == "colour_card" else to_float_rgb(image)
    ita_lesion = _ita(_mean(srgb_to_lab(ita_rgb[lesion])) if colour_ok else None, reasons)
    ita_surrounding = _ita(_mean(srgb_to_lab(ita_rgb[regions.ring])) if ring_ok else None, reasons)

    values: dict[str, float | None] = {
        "delta_e2000": _de(lab_lesion, lab_ring),
        "delta_e2000_skin": _de(lab_lesion, lab_skin),
        "delta_l": delta_l,
        "ita_difference": _minus(ita_lesion, ita_surrounding),
        "rgb_mean_difference": None if rgb_diff is None else float(np.mean(rgb_diff)),
        "rgb_skin_mean_difference": None
        if rgb_skin_diff is None
        else float(np.mean(rgb_skin_diff)),
        "lesion_skin_fraction": lesion_skin_fraction,
    }
    height, width = lesion.shape
    return SeverityReport(
        normalisation=normalisation,
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
        rgb_mean_difference=values["rgb_mean_difference"],
        rgb_nonlesion_skin_mean=rgb_skin,
        rgb_skin_mean_difference=values["rgb_skin_mean_difference"],
        lab_lesion_mean=lab_lesion,
        lab_ring_mean=lab_ring,
        lab_skin_mean=lab_skin,
        delta_e2000=values["delta_e2000"],
        delta_e2000_skin=values["delta_e2000_skin"],
        delta_l=delta_l,
        delta_l_skin=_sub_l(lab_lesion, lab_skin),
        ita_lesion=ita_lesion,
        ita_surrounding=ita_surrounding,
        ita_difference=values["ita_difference"],
        ita_source=ita_source,
        paper_grade=grade_value(values["rgb_mean_difference"], PAPER_THRESHOLDS),
        grade=grade_value(values[thresholds.measure], thresholds),
        grade_measure=thresholds.measure,
        grade_thresholds=thresholds.as_dict(),
        reasons=tuple(Reason.of(code) for code in dict.fromkeys(reasons)),
    )


def _mean(pixels: np.ndarray) -> Triplet:
    # float64 accumulation: float32 sums over millions of pixels lose the second decimal.
    means = pixels.reshape(-1, 3).astype(np.float64).mean(axis=0)
    return (float(means[0]), float(means[1]), float(means[2]))


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
