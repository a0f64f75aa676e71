"""Synthetic scenes with known colours and known geometry."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

# Colours checked against the skin rule in test_severity_skin.py.
SKIN = (190, 130, 100)
LESION = (240, 220, 210)
BACKGROUND = (60, 90, 170)


@dataclass(frozen=True)
class Scene:
    image: np.ndarray
    lesion: np.ndarray
    skin: np.ndarray  # skin-coloured pixels outside the lesion


def disc(shape: tuple[int, int], centre: tuple[float, float], radius: float) -> np.ndarray:
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    return (rows - centre[0]) ** 2 + (cols - centre[1]) ** 2 <= radius**2


def make_scene(
    shape: tuple[int, int] = (200, 300),
    *,
    skin_box: tuple[float, float, float, float] = (0.1, 0.1, 0.9, 0.9),
    lesions: tuple[tuple[float, float, float], ...] = ((0.5, 0.5, 0.15),),
    skin_rgb: tuple[int, int, int] = SKIN,
    lesion_rgb: tuple[int, int, int] = LESION,
    background_rgb: tuple[int, int, int] = BACKGROUND,
    noise: float = 0.0,
    seed: int = 0,
) -> Scene:
    """A background, a rectangle of skin (fractions top, left, bottom, right of the image) and
    lesion discs (centre row, centre col, radius as fractions of the image height)."""
    height, width = shape
    top, left, bottom, right = skin_box
    skin_region = np.zeros(shape, dtype=bool)
    skin_region[
        round(top * height) : round(bottom * height), round(left * width) : round(right * width)
    ] = True
    lesion = np.zeros(shape, dtype=bool)
    for row, col, radius in lesions:
        lesion |= disc(shape, (row * height, col * width), radius * height)
    image = np.empty((*shape, 3), dtype=np.float64)
    image[:] = background_rgb
    image[skin_region] = skin_rgb
    image[lesion] = lesion_rgb
    if noise:
        image += np.random.default_rng(seed).normal(0.0, noise, image.shape)
    image = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    return Scene(image=image, lesion=lesion, skin=skin_region & ~lesion)


@pytest.fixture
def scene() -> Scene:
    return make_scene()
