"""Argument checks shared by the severity modules (ValueError, never ``assert``)."""

from __future__ import annotations

import numpy as np


def check_image(image: np.ndarray) -> None:
    """An 8-bit RGB photo of shape (H, W, 3) with at least one pixel."""
    if not isinstance(image, np.ndarray):
        raise ValueError(f"image must be a numpy array, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must have shape (H, W, 3), got {image.shape}")
    if image.dtype != np.uint8:
        raise ValueError(f"image must be uint8 RGB, got dtype {image.dtype}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError("image is empty")


def check_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A boolean (H, W) mask matching ``shape``; 0/1 and 0/255 integer masks are accepted."""
    if not isinstance(mask, np.ndarray):
        raise ValueError(f"mask must be a numpy array, got {type(mask).__name__}")
    if mask.shape != tuple(shape):
        raise ValueError(f"mask shape {mask.shape} does not match the image's {tuple(shape)}")
    if mask.dtype == np.bool_:
        return mask
    if not np.issubdtype(mask.dtype, np.integer):
        raise ValueError(f"mask must be bool or integer, got dtype {mask.dtype}")
    values = np.unique(mask)
    if not set(values.tolist()) <= {0, 1, 255}:
        raise ValueError("an integer mask must hold only 0 and 1, or 0 and 255")
    return mask > 0
