"""Pixel regions the measures compare, and the extent of the lesion.

- visible skin = skin-rule pixels OR lesion pixels (lesions are pale and often fail the skin rule,
  yet they are skin);
- non-lesion skin = skin-rule pixels outside the lesion;
- perilesional ring = non-lesion skin within ``width`` pixels (Euclidean) of the lesion.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

__all__ = ["Extent", "Regions", "lesion_extent", "perilesional_ring", "split_regions"]

_EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)


@dataclass(frozen=True)
class Regions:
    lesion: np.ndarray
    visible_skin: np.ndarray
    nonlesion_skin: np.ndarray
    ring: np.ndarray
    ring_width_px: int


@dataclass(frozen=True)
class Extent:
    lesion_count: int
    largest_component_pixels: int


def ring_width_pixels(shape: tuple[int, int], fraction: float) -> int:
    """Ring width proportional to the image's geometric mean side, so resizing scales it too."""
    return max(1, round(fraction * float(np.sqrt(shape[0] * shape[1]))))


def perilesional_ring(lesion: np.ndarray, width: int) -> np.ndarray:
    """Pixels outside ``lesion`` whose distance to it is at most ``width`` (any colour)."""
    ring = np.zeros_like(lesion)
    if not lesion.any() or lesion.all():
        return ring
    # The distance transform is only needed around the lesion: crop to its bounding box plus the
    # ring width, which keeps a 12-megapixel photo with a small lesion cheap.
    rows, cols = np.nonzero(lesion)
    top, left = max(rows.min() - width - 1, 0), max(cols.min() - width - 1, 0)
    bottom = min(rows.max() + width + 2, lesion.shape[0])
    right = min(cols.max() + width + 2, lesion.shape[1])
    crop = lesion[top:bottom, left:right]
    distance = ndimage.distance_transform_edt(~crop)
    ring[top:bottom, left:right] = (distance <= width) & ~crop
    return ring


def split_regions(lesion: np.ndarray, skin_rule: np.ndarray, *, ring_fraction: float) -> Regions:
    width = ring_width_pixels(lesion.shape, ring_fraction)
    nonlesion_skin = skin_rule & ~lesion
    return Regions(
        lesion=lesion,
        visible_skin=skin_rule | lesion,
        nonlesion_skin=nonlesion_skin,
        ring=perilesional_ring(lesion, width) & nonlesion_skin,
        ring_width_px=width,
    )


def lesion_extent(lesion: np.ndarray, *, min_component_pixels: int) -> Extent:
    """Number of 8-connected lesions of at least ``min_component_pixels`` and the largest size.

    Specks below the minimum are not counted as lesions (a predicted mask's noise would otherwise
    inflate the count) but still count towards the lesion area.
    """
    labels, count = ndimage.label(lesion, structure=_EIGHT_CONNECTED)
    if count == 0:
        return Extent(lesion_count=0, largest_component_pixels=0)
    sizes = np.bincount(labels.ravel())[1:]
    return Extent(
        lesion_count=int(np.count_nonzero(sizes >= min_component_pixels)),
        largest_component_pixels=int(sizes.max()),
    )
