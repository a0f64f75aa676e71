"""Known transforms for validating the registration: the validation script (bench/) and the
tests build a photo's "other day" copy from a transform and score the transform found.
``second_photo`` adds lighting and JPEG re-compression to such a copy, for the minimal detectable
change on realistic re-photographs (``bench/model_mdc.py``)."""

from __future__ import annotations

from io import BytesIO

import numpy as np
from PIL import Image
from skimage.transform import ProjectiveTransform, SimilarityTransform, warp

__all__ = ["about_centre", "corner_error", "second_photo", "similarity", "transformed"]


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


def second_photo(
    image: np.ndarray, mask: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The same skin photographed again another day, image and lesion mask together.

    What a patient's second photo changes and the data set's augmented copies (exact quarter
    turns and flips, which flip test-time augmentation makes agree by construction) do not: an
    arbitrary rotation (up to 30 degrees), scale (0.85-1.2), shift (up to 5 % of the size) and a
    mild perspective (corners moved by up to about 6 %), all about the centre, with black beyond
    the photo's edge; then the lighting (overall gain 0.75-1.25, white balance 0.9-1.1 per
    channel, gamma 0.85-1.15, a brightness gradient of up to 15 % across the frame) and a JPEG
    re-compression at quality 60-92. The mask follows the geometry only (nearest neighbour).
    """
    shape = image.shape[:2]
    height, width = shape
    matrix = similarity(
        shape,
        degrees=rng.uniform(-30, 30),
        scale=rng.uniform(0.85, 1.2),
        shift=(rng.uniform(-0.05, 0.05) * width, rng.uniform(-0.05, 0.05) * height),
        perspective=tuple(rng.uniform(-0.06, 0.06, 2) / max(shape)),
    )
    moved = transformed(image, matrix).astype(np.float32) / 255.0
    moved_mask = transformed(mask.astype(np.uint8), matrix, order=0) > 0
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:height, 0:width]
    across = (np.cos(angle) * (xx / width - 0.5) + np.sin(angle) * (yy / height - 0.5))[..., None]
    gain = rng.uniform(0.75, 1.25) * rng.uniform(0.9, 1.1, 3) * (1 + rng.uniform(0, 0.15) * across)
    lit = np.clip(moved ** rng.uniform(0.85, 1.15) * gain, 0.0, 1.0)
    buffer = BytesIO()
    Image.fromarray(np.rint(lit * 255).astype(np.uint8)).save(
        buffer, format="JPEG", quality=int(rng.integers(60, 93))
    )
    buffer.seek(0)
    with Image.open(buffer) as jpeg:
        return np.asarray(jpeg.convert("RGB")), moved_mask
