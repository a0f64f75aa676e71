"""The change between two analysed photos of one body site (docs/alignment.md).

Each photo is registered to its site's baseline when analysed (``Analysis.alignment``: baseline
pixels -> photo pixels); two photos are related through it: earlier -> later is
``M_later @ inv(M_earlier)``. The later photo's mask is warped into the earlier photo's frame
and compared pixel by pixel there. Nothing is stored: the answer is computed on each request,
at most ``WORKING_SIZE`` pixels on the longer side (shares hardly move with resolution; a
12-megapixel warp would take seconds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from segmentation.registration import (
    LesionChange,
    lesion_change,
    render_change,
    warp_image,
    warp_mask,
)

from ..models import Analysis, Photo
from ..services.alignment import stored_image, stored_mask
from ..services.errors import ServiceError

WORKING_SIZE = 1024


@dataclass(frozen=True)
class PhotoPair:
    earlier: Photo
    later: Photo
    earlier_analysis: Analysis
    later_analysis: Analysis
    matrix: np.ndarray | None  # earlier (x, y) -> later (x, y), full resolution
    reason: str  # why ``matrix`` is None
    transform_error_px: float | None


@dataclass(frozen=True)
class PhotoChange:
    pair: PhotoPair
    change: LesionChange | None

    @property
    def aligned(self) -> bool:
        return self.pair.matrix is not None


def photo_pair(*, photo: Photo, other: Photo) -> PhotoPair:
    """The two photos in date order with their latest analyses and the transform between them.

    Both must be visible to the caller already (the view looks them up with ``photo_list``)."""
    if photo.body_site_id != other.body_site_id:
        raise ServiceError(
            "The two photos are of different body sites; only photos of one site compare.",
            code="different_body_sites",
            field="against",
        )
    earlier, later = sorted((photo, other), key=lambda p: (p.taken_at, p.pk))
    analyses = []
    for item in (earlier, later):
        analysis = item.latest_analysis
        if analysis is None:
            field = "against" if item.pk == other.pk and other.pk != photo.pk else None
            raise ServiceError(f"Photo {item.pk} has not been analysed yet.", code="not_analysed",
                               status=404, field=field)  # fmt: skip
        analyses.append(analysis)
    matrix, reason, error = _transform(earlier, later, *analyses)
    return PhotoPair(earlier, later, analyses[0], analyses[1], matrix, reason, error)


def _transform(
    earlier: Photo, later: Photo, first: Analysis, second: Analysis
) -> tuple[np.ndarray | None, str, float | None]:
    if earlier.pk == later.pk:
        return np.eye(3), "", 0.0
    a, b = first.alignment or {}, second.alignment or {}
    if not a or not b:
        return None, "not aligned yet: the site's photos are being aligned", None
    if a.get("baseline_photo") != b.get("baseline_photo"):
        return None, "aligned to different baselines: the site is being realigned", None
    for label, stored in (("earlier", a), ("later", b)):
        if not stored.get("aligned"):
            why = stored.get("reason") or "unknown"
            return (
                None,
                f"the {label} photo could not be aligned to the site's baseline ({why})",
                None,
            )
    matrix = np.asarray(b["matrix"]) @ np.linalg.inv(np.asarray(a["matrix"]))
    # Two independent registrations through the baseline: their errors add in quadrature.
    error = math.hypot(a.get("rms_error_px") or 0.0, b.get("rms_error_px") or 0.0)
    return matrix / matrix[2, 2], "", round(error, 3)


def _working(pair: PhotoPair, full_shape: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
    """The transform from a reduced copy of the earlier photo (``full_shape``), and its shape."""
    height, width = full_shape
    scale = min(1.0, WORKING_SIZE / max(height, width))
    shape = (max(1, round(height * scale)), max(1, round(width * scale)))
    to_full = np.diag([width / shape[1], height / shape[0], 1.0])
    return pair.matrix @ to_full, shape


def _resized(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    if mask.shape == shape:
        return mask
    image = Image.fromarray(mask.astype(np.uint8) * 255).resize((shape[1], shape[0]))
    return np.asarray(image) > 127


def _warped_masks(pair: PhotoPair):
    """The earlier mask, the later one in its frame and where the later photo lies (reduced).

    The masks in force: a clinician's correction where there is one (docs/corrections.md); the
    transform is the analyses' registration, which does not depend on the masks."""
    earlier = stored_mask(pair.earlier.mask_in_force or pair.earlier_analysis)
    matrix, shape = _working(pair, earlier.shape)
    later_mask = stored_mask(pair.later.mask_in_force or pair.later_analysis)
    later, valid = warp_mask(later_mask, matrix, shape)
    return _resized(earlier, shape), later, valid


def photo_change(pair: PhotoPair) -> PhotoChange:
    """Shares of the earlier lesion repigmented and newly depigmented; none when not aligned."""
    if pair.matrix is None:
        return PhotoChange(pair, None)
    earlier, later, valid = _warped_masks(pair)
    return PhotoChange(pair, lesion_change(earlier, later, valid))


def change_overlay(pair: PhotoPair) -> Image.Image:
    """The earlier photo with repigmented, new and unchanged lesion pixels coloured, a legend."""
    earlier, later, valid = _warped_masks(pair)
    image = _reduced(stored_image(pair.earlier), earlier.shape)
    return render_change(image, earlier, later, valid)


def aligned_later_image(pair: PhotoPair) -> Image.Image:
    """The later photo warped into the (reduced) earlier photo's frame, for a slider."""
    earlier = stored_image(pair.earlier)
    matrix, shape = _working(pair, earlier.shape[:2])
    return Image.fromarray(warp_image(stored_image(pair.later), matrix, shape))


def _reduced(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    if image.shape[:2] == shape:
        return image
    return np.asarray(
        Image.fromarray(image).resize((shape[1], shape[0]), Image.Resampling.BILINEAR)
    )
