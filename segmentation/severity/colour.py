"""Colour-space helpers: sRGB decoding, CIELAB, ITA° and CIEDE2000 on region means.

The conversions themselves are scikit-image's (``rgb2lab``, ``deltaE_ciede2000``); this module only
adds what scikit-image does not expose: the sRGB transfer function (needed because white-balance
gains must be applied to *linear* light, not to gamma-encoded values) and the ITA° formula.
"""

from __future__ import annotations

import math

import numpy as np
from skimage.color import deltaE_ciede2000, rgb2lab

__all__ = [
    "delta_e2000",
    "ita_degrees",
    "linear_to_srgb",
    "srgb_to_lab",
    "srgb_to_linear",
    "to_float_rgb",
]

# IEC 61966-2-1 (sRGB) transfer function constants.
_SRGB_KNEE = 0.04045
_LINEAR_KNEE = 0.0031308


def to_float_rgb(image: np.ndarray) -> np.ndarray:
    """8-bit RGB (H, W, 3) to float32 sRGB in [0, 1]."""
    return image.astype(np.float32) / np.float32(255.0)


def srgb_to_linear(rgb: np.ndarray) -> np.ndarray:
    """Gamma-encoded sRGB in [0, 1] to linear light (float32); values above 1 are extrapolated."""
    rgb = np.asarray(rgb, dtype=np.float32)
    return np.where(
        rgb <= _SRGB_KNEE,
        rgb / np.float32(12.92),
        ((np.maximum(rgb, 0) + np.float32(0.055)) / np.float32(1.055)) ** np.float32(2.4),
    ).astype(np.float32)


def linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    """Linear light to gamma-encoded sRGB (float32); not clipped, so gains above 1 survive."""
    linear = np.asarray(linear, dtype=np.float32)
    return np.where(
        linear <= _LINEAR_KNEE,
        linear * np.float32(12.92),
        np.float32(1.055) * np.maximum(linear, 0) ** np.float32(1 / 2.4) - np.float32(0.055),
    ).astype(np.float32)


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """Float sRGB (..., 3) to CIELAB (D65, 2° observer), float32, via scikit-image.

    Values above 1 (a normalisation gain that brightened a highlight) are accepted on purpose:
    clipping them would flatten exactly the pale lesion pixels whose contrast we measure.
    """
    return rgb2lab(np.asarray(rgb, dtype=np.float32), illuminant="D65", observer="2")


def ita_degrees(lightness: float, b_star: float) -> float | None:
    """Individual typology angle ITA° = arctan((L* - 50) / b*) · 180/π.

    Written with ``atan2`` so that it equals the textbook formula whenever b* > 0 (all real skin)
    and stays finite and continuous when a colour normalisation drives b* to zero or below;
    returns None only when both terms are zero (no hue and mid lightness: undefined).
    """
    if lightness == 50.0 and b_star == 0.0:
        return None
    return math.degrees(math.atan2(lightness - 50.0, b_star))


def delta_e2000(lab_a: np.ndarray, lab_b: np.ndarray) -> float:
    """CIEDE2000 colour difference between two Lab triplets (kL = kC = kH = 1)."""
    lab_a = np.asarray(lab_a, dtype=np.float64).reshape(3)
    lab_b = np.asarray(lab_b, dtype=np.float64).reshape(3)
    return float(deltaE_ciede2000(lab_a, lab_b))
