"""Known transforms for validating the registration: the validation script (bench/) and the
tests build a photo's "other day" copy from a transform and score the transform found."""

from __future__ import annotations

import numpy as np
from skimage.transform import ProjectiveTransform, SimilarityTransform, warp

__all__ = ["about_centre", "corner_error", "similarity", "transformed"]


def about_centre(matrix: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``matrix`` applied about the image's centre rather than its top-left corner."""
    centre = np.array([shape[1] / 2, shape[0] / 2])
    to_origin = SimilarityTransform(translation=-centre).params
    return SimilarityTransform(translation=centre).params @ matrix @ to_origin


def similarity(
    shape: tuple[int, int],
    *,
    degrees: float,
    scale: float,
    shift: tuple[float, float],
    perspective: tuple[float, float] = (0.0, 0.0),
) -> np.ndarray:
    """Reference (x, y) -> moving (x, y): rotation and scale about the centre, then a shift;
    ``perspective`` (per pixel) tilts the plane, moving the corners by about that x the size."""
    transform = SimilarityTransform(scale=scale, rotation=np.deg2rad(degrees), translation=shift)
    tilt = np.eye(3)
    tilt[2, :2] = perspective
    return about_centre(transform.params @ tilt, shape)


def transformed(image: np.ndarray, matrix: np.ndarray, *, order: int = 1) -> np.ndarray:
    """The photo another day: its pixel at ``matrix @ p`` shows what the reference shows at p."""
    inverse = ProjectiveTransform(matrix=np.linalg.inv(matrix))
    out = warp(image, inverse, order=order, preserve_range=True, output_shape=image.shape[:2])
    return np.clip(np.rint(out), 0, 255).astype(image.dtype)


def corner_error(found: np.ndarray, truth: np.ndarray, shape: tuple[int, int]) -> float:
    """Mean distance between the reference's corners mapped by each transform, as a share of
    the reference's diagonal."""
    height, width = shape
    corners = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=float)
    a = ProjectiveTransform(matrix=found)(corners)
    b = ProjectiveTransform(matrix=truth)(corners)
    return float(np.linalg.norm(a - b, axis=1).mean() / np.hypot(width, height))
