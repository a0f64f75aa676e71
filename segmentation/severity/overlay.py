"""PNG-ready renderings of a lesion mask for the admin and the API."""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.segmentation import find_boundaries

from ._checks import check_mask

__all__ = ["render_mask", "render_overlay"]


def render_overlay(
    image: Image.Image,
    mask: np.ndarray,
    *,
    fill_rgb: tuple[int, int, int] = (0, 160, 255),
    fill_alpha: float = 0.35,
    outline_rgb: tuple[int, int, int] = (255, 230, 0),
    outline_fraction: float = 0.004,
    pixels: np.ndarray | None = None,
) -> Image.Image:
    """The photo (as RGB) with the lesion filled semi-transparently and outlined.

    ``mask`` is (H, W) at the photo's size (after EXIF orientation, which the caller applies).
    Blue fill and yellow outline stay visible on both pale lesions and dark skin. The outline is
    ``outline_fraction`` x the longer side thick (at least 1 px), so it looks the same at any size.
    """
    if not isinstance(image, Image.Image):
        raise ValueError(f"image must be a PIL image, got {type(image).__name__}")
    if not 0.0 <= fill_alpha <= 1.0:
        raise ValueError("fill_alpha must be in [0, 1]")
    lesion = check_mask(mask, (image.height, image.width))
    if pixels is not None and pixels.shape != (image.height, image.width, 3):
        raise ValueError(f"pixels must be the photo's RGB array, got shape {pixels.shape}")
    # ``pixels``: the photo's RGB array when the caller already has it (the worker converts the
    # photo once for the severity measures and the overlay); converting a PIL image is the slow
    # part, copying an array is not.
    rgb = np.array(image.convert("RGB") if pixels is None else pixels, dtype=np.uint8)
    # Only the lesion's pixels change, so only they go through float arithmetic: the worker
    # renders every photo, and a float copy of the whole photo cost more than the blend.
    fill = np.asarray(fill_rgb, dtype=np.float32)
    blended = (1.0 - fill_alpha) * rgb[lesion].astype(np.float32) + fill_alpha * fill
    rgb[lesion] = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    outline = find_boundaries(lesion, mode="inner")
    thickness = max(1, round(outline_fraction * max(image.width, image.height)))
    if thickness > 1 and outline.any():
        outline = ndimage.binary_dilation(outline, iterations=thickness - 1) & lesion
    rgb[outline] = np.asarray(outline_rgb, dtype=np.uint8)
    return Image.fromarray(rgb)


def render_mask(mask: np.ndarray) -> Image.Image:
    """The mask alone as an 8-bit 'L' image: 255 = lesion, 0 = elsewhere."""
    if not isinstance(mask, np.ndarray) or mask.ndim != 2:
        raise ValueError("mask must be a 2-D numpy array")
    lesion = check_mask(mask, mask.shape)
    return Image.fromarray(np.where(lesion, 255, 0).astype(np.uint8))
