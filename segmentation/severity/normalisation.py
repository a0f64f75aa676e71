"""Optional colour normalisation applied before the CIELAB measures.

All methods are diagonal (von Kries) or 3x3 corrections in *linear* sRGB, which is where a change
of illuminant colour or of exposure acts as a per-channel gain:

- ``"grey_world"``: each channel's mean over the ``reference`` pixels (the whole photo when none
  are given) is mapped to the same fixed mid grey (sRGB 128, linear 0.216). Cancels a global
  white-balance cast *and* a global exposure change exactly (up to clipping in the original
  JPEG). Over the whole photo it assumes the scene averages to grey, so the background (a white
  wall, a blue towel) changes the gains; ``measure_severity`` therefore passes the non-lesion skin
  as the reference, which maps the patient's healthy skin to grey whatever surrounds it.
- ``"white_patch"``: each channel's ``white_percentile`` (default 99th; the 8-bit level where the
  cumulative share first reaches it) over the ``reference`` pixels is mapped to white.
  Assumes the brightest pixels are white or neutral; on vitiligo that is often the lesion itself.
- ``"colour_card"``: the caller marks one or more patches of a reference card with their known
  sRGB values; one or two patches give per-channel gains, three or more a least-squares 3x3
  matrix (which also corrects cross-channel mixing).

None of them fixes: uneven lighting across the photo, shadows, specular highlights, saturated
(clipped) channels, camera tone curves or "beauty" filters, or JPEG artefacts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._checks import check_image
from .colour import linear_to_srgb, srgb_to_linear

__all__ = [
    "NORMALISATIONS",
    "ColourCardPatch",
    "NormalisationResult",
    "apply_normalisation",
    "normalisation_matrix",
    "normalise_colours",
]

NORMALISATIONS = ("grey_world", "white_patch", "colour_card")

# Linear value of sRGB 128/255: the grey-world target, so that an average scene keeps its look.
_GREY_TARGET = float(srgb_to_linear(np.float32(128.0 / 255.0)))
# sRGB decoding of every 8-bit level.
_LINEAR_LUT = srgb_to_linear(np.arange(256, dtype=np.float32) / np.float32(255.0))
# A gain outside this range means a nearly black or nearly saturated channel; correcting it fully
# would mostly amplify noise, so it is clamped and reported.
_MAX_GAIN = 8.0


@dataclass(frozen=True)
class ColourCardPatch:
    """A patch of a reference colour card: ``box`` = (left, top, right, bottom) in pixels, as in
    ``PIL.Image.crop`` (right/bottom exclusive), and its known 8-bit sRGB ``reference_rgb``."""

    box: tuple[int, int, int, int]
    reference_rgb: tuple[float, float, float]

    def __post_init__(self) -> None:
        left, top, right, bottom = self.box
        if not (0 <= left < right and 0 <= top < bottom):
            raise ValueError(f"ColourCardPatch.box {self.box} is empty or negative")
        if len(self.reference_rgb) != 3 or not all(0 < v <= 255 for v in self.reference_rgb):
            raise ValueError("ColourCardPatch.reference_rgb must be three values in (0, 255]")


@dataclass(frozen=True)
class NormalisationResult:
    """Float sRGB image (may exceed 1 where a gain brightened it), the 3x3 linear correction that
    was applied, and whether a gain had to be clamped."""

    rgb: np.ndarray
    matrix: np.ndarray
    clamped: bool


def normalise_colours(
    image: np.ndarray,
    *,
    method: str | None,
    colour_card: Sequence[ColourCardPatch] | None = None,
    white_percentile: float = 99.0,
    reference: np.ndarray | None = None,
) -> NormalisationResult:
    """Apply ``method`` (one of :data:`NORMALISATIONS`, or None for no change) to an 8-bit RGB
    photo and return float sRGB. ``reference`` as in :func:`normalisation_matrix`."""
    matrix, clamped = normalisation_matrix(
        image,
        method=method,
        colour_card=colour_card,
        white_percentile=white_percentile,
        reference=reference,
    )
    rgb = apply_normalisation(image.reshape(-1, 3), matrix).reshape(image.shape)
    return NormalisationResult(rgb=rgb, matrix=matrix, clamped=clamped)


def normalisation_matrix(
    image: np.ndarray,
    *,
    method: str | None,
    colour_card: Sequence[ColourCardPatch] | None = None,
    white_percentile: float = 99.0,
    reference: np.ndarray | None = None,
) -> tuple[np.ndarray, bool]:
    """The 3x3 linear-light correction that ``method`` estimates from the photo, and whether a
    gain had to be clamped. Cheap on large photos: statistics come from 8-bit histograms.

    ``reference`` is an optional (H, W) bool mask: grey-world and white-patch statistics are then
    taken over those pixels only (e.g. the non-lesion skin), so the rest of the photo does not
    move the gains. A colour card is its own reference and ignores it.
    """
    check_image(image)
    if method is not None and method not in NORMALISATIONS:
        raise ValueError(f"unknown normalisation {method!r}; expected one of {NORMALISATIONS}")
    if colour_card and method != "colour_card":
        raise ValueError("colour_card given but normalisation is not 'colour_card'")
    if not 50.0 <= white_percentile <= 100.0:
        raise ValueError("white_percentile must be in [50, 100]")
    if method is None:
        return np.eye(3), False
    if method == "colour_card":
        matrix = _card_matrix(image, colour_card)
    else:
        pixels = _reference_pixels(image, reference)
        # Per-channel histograms of the 8-bit values: exact linear means and percentiles without
        # converting every pixel of a 12-megapixel photo to float.
        counts = np.stack([np.bincount(pixels[:, c], minlength=256) for c in range(3)])
        if method == "grey_world":
            means = counts @ _LINEAR_LUT.astype(np.float64) / len(pixels)
            matrix = np.diag(_GREY_TARGET / np.maximum(means, 1e-6))
        else:
            rank = np.cumsum(counts, axis=1) / len(pixels)
            levels = np.argmax(rank >= white_percentile / 100.0 - 1e-12, axis=1)
            matrix = np.diag(1.0 / np.maximum(_LINEAR_LUT[levels].astype(np.float64), 1e-6))
    gains = np.diag(matrix)
    clamped = bool(np.any(gains > _MAX_GAIN) or np.any(gains < 1.0 / _MAX_GAIN))
    if clamped and np.count_nonzero(matrix - np.diag(gains)) == 0:
        matrix = np.diag(np.clip(gains, 1.0 / _MAX_GAIN, _MAX_GAIN))
    return matrix, clamped


def apply_normalisation(pixels: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """8-bit RGB pixels (..., 3) corrected by ``matrix`` in linear light, as float32 sRGB (not
    clipped above 1: brightened highlights keep their contrast)."""
    if np.array_equal(matrix, np.eye(3)):
        return pixels.astype(np.float32) / np.float32(255.0)
    if pixels.dtype == np.uint8 and not np.count_nonzero(matrix - np.diag(np.diag(matrix))):
        # A diagonal correction (grey-world, white-patch) maps each channel's 256 levels on their
        # own: correct the 256 x 3 table once and look every pixel up in it, instead of a matrix
        # product and a gamma curve per pixel (the worker's largest severity cost).
        gains = np.diag(matrix).astype(np.float32)
        table = linear_to_srgb(np.maximum(_LINEAR_LUT[:, None] * gains[None, :], 0))
        return table[pixels, np.arange(3)]
    corrected = _LINEAR_LUT[pixels] @ matrix.T.astype(np.float32)
    return linear_to_srgb(np.maximum(corrected, 0))


def _reference_pixels(image: np.ndarray, reference: np.ndarray | None) -> np.ndarray:
    """The (N, 3) pixels the statistics are taken over: the whole photo, or the reference mask's."""
    if reference is None:
        return image.reshape(-1, 3)
    if not isinstance(reference, np.ndarray) or reference.dtype != np.bool_:
        raise ValueError("reference must be a bool numpy array")
    if reference.shape != image.shape[:2]:
        raise ValueError(
            f"reference shape {reference.shape} does not match the image's {image.shape[:2]}"
        )
    if not reference.any():
        raise ValueError("reference marks no pixel to estimate the normalisation from")
    return image[reference]


def _card_matrix(image: np.ndarray, patches: Sequence[ColourCardPatch] | None) -> np.ndarray:
    if not patches:
        raise ValueError("normalisation 'colour_card' needs at least one ColourCardPatch")
    height, width = image.shape[:2]
    measured, reference = [], []
    for patch in patches:
        left, top, right, bottom = patch.box
        if right > width or bottom > height:
            raise ValueError(f"ColourCardPatch.box {patch.box} lies outside the image")
        # Median, not mean: robust to a card edge or a glare spot inside the marked box.
        box = _LINEAR_LUT[image[top:bottom, left:right]].reshape(-1, 3)
        measured.append(np.median(box, axis=0))
        reference.append(srgb_to_linear(np.asarray(patch.reference_rgb, np.float32) / 255.0))
    measured_arr = np.asarray(measured, dtype=np.float64)
    reference_arr = np.asarray(reference, dtype=np.float64)
    if len(patches) < 3:
        # Per-channel least squares through the origin: gain_c = Σ m·r / Σ m².
        num = (measured_arr * reference_arr).sum(axis=0)
        den = np.maximum((measured_arr**2).sum(axis=0), 1e-12)
        return np.diag(num / den)
    # reference ≈ matrix @ measured for each patch, solved jointly for all three output channels.
    if np.linalg.matrix_rank(measured_arr) < 3:
        raise ValueError("colour-card patches are collinear; mark patches of different colours")
    solution, *_ = np.linalg.lstsq(measured_arr, reference_arr, rcond=None)
    return solution.T
