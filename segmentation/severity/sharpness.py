"""Sharpness and compression measures (used by the photo quality checks, photo_quality.py)."""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

__all__ = ["blockiness", "blur_effects"]

_EPSILON = 1e-10


def blur_effects(patches: np.ndarray, h_size: int = 11) -> np.ndarray:
    """``skimage.measure.blur_effect`` of each 2-D patch of ``patches`` (N, H, W) at once.

    The same computation as scikit-image's (Crété-Roffet et al. 2007: Sobel edges of the patch
    and of a copy blurred by an ``h_size`` box, per axis, the worse axis kept), batched over
    patches because a Python loop of hundreds of calls cost ten times the rest of the checks;
    tests/severity/test_photo_quality.py holds it to scikit-image's own result.
    """
    inner = (slice(None), slice(2, patches.shape[1] - 1), slice(2, patches.shape[2] - 1))
    results = []
    for axis in (1, 2):
        other = 3 - axis

        def edges(a: np.ndarray, axis: int = axis, other: int = other) -> np.ndarray:
            derivative = ndimage.correlate1d(a, [-1.0, 0.0, 1.0], axis=axis, mode="reflect")
            return np.abs(
                ndimage.correlate1d(derivative, [1.0, 2.0, 1.0], axis=other, mode="reflect")
            )

        blurred = ndimage.uniform_filter1d(patches, h_size, axis=axis)
        sharp = np.maximum(_EPSILON, edges(patches))
        soft = np.maximum(_EPSILON, edges(blurred))
        m1 = sharp[inner].sum(axis=(1, 2))
        m2 = np.maximum(0.0, sharp - soft)[inner].sum(axis=(1, 2))
        results.append(np.abs(m1 - m2) / m1)
    return np.max(results, axis=0)


def blockiness(image: Image.Image, side: int) -> float:
    """Luma steps across the 8-pixel JPEG block grid over the steps elsewhere (1 = no blocks).

    Heavy compression flattens each 8x8 block and leaves steps between blocks; the blur effect
    reads those steps as sharp edges, so it needs this check beside it. Measured at the photo's
    own resolution (the grid is there), on a central crop of at most ``side`` pixels that starts
    on the grid.
    """
    left = (max(0, (image.width - side) // 2) // 8) * 8
    top = (max(0, (image.height - side) // 2) // 8) * 8
    crop = image.crop((left, top, min(image.width, left + side), min(image.height, top + side)))
    luma = np.asarray(crop.convert("L"), dtype=np.float32)
    if min(luma.shape) < 16:
        return 1.0
    across = np.abs(np.diff(luma, axis=1))
    down = np.abs(np.diff(luma, axis=0))
    on_across, on_down = across[:, 7::8], down[7::8, :]
    on_grid = on_across.mean() + on_down.mean()
    off_grid = (across.sum() - on_across.sum()) / (across.size - on_across.size) + (
        down.sum() - on_down.sum()
    ) / (down.size - on_down.size)
    return float(on_grid / off_grid) if off_grid > 0 else 1.0
