"""Lesion change between two aligned masks, and its picture."""

from __future__ import annotations

import numpy as np
import pytest

from segmentation.registration import lesion_change, render_change, warp_image, warp_mask
from segmentation.registration.change import CHANGE_COLOURS
from segmentation.registration.synthetic import similarity, transformed
from tests.registration.scenes import textured_skin

SHAPE = (120, 160)


def _disc(radius: float, centre=(60, 80)) -> np.ndarray:
    rows, cols = np.mgrid[: SHAPE[0], : SHAPE[1]]
    return (rows - centre[0]) ** 2 + (cols - centre[1]) ** 2 <= radius**2


def test_shrinking_lesion_is_repigmentation():
    earlier, later = _disc(40), _disc(20)
    change = lesion_change(earlier, later, np.ones(SHAPE, bool))
    assert change.earlier_lesion_px == earlier.sum()
    assert change.new_lesion_px == 0
    assert change.repigmented_share == pytest.approx(1 - later.sum() / earlier.sum(), abs=1e-3)
    assert change.unchanged_px == later.sum()


def test_moved_lesion_is_both_new_and_repigmented():
    change = lesion_change(_disc(20), _disc(20, centre=(60, 100)), np.ones(SHAPE, bool))
    assert change.repigmented_share == pytest.approx(change.new_lesion_share, abs=1e-3)
    assert 0.3 < change.repigmented_share < 0.9


def test_what_the_later_photo_does_not_show_is_not_counted():
    valid = np.zeros(SHAPE, bool)
    valid[:, :80] = True  # the later photo shows only the left half
    change = lesion_change(_disc(30), np.zeros(SHAPE, bool), valid)
    assert change.earlier_lesion_px == (_disc(30) & valid).sum()
    assert change.repigmented_share == 1.0
    assert change.overlap == 0.5


def test_no_earlier_lesion_gives_no_shares():
    change = lesion_change(np.zeros(SHAPE, bool), _disc(10), np.ones(SHAPE, bool))
    assert change.repigmented_share is None and change.new_lesion_share is None
    assert change.new_lesion_px == _disc(10).sum()


def test_warped_mask_of_a_transformed_copy_matches_the_original():
    _, lesion = textured_skin(SHAPE, seed=1)
    truth = similarity(SHAPE, degrees=15, scale=0.9, shift=(6.0, -4.0))
    moved = transformed(lesion.astype(np.uint8), truth, order=0) > 0
    back, valid = warp_mask(moved, truth, SHAPE)
    change = lesion_change(lesion, back, valid)
    # Only the rasterisation of the edge differs, twice resampled.
    assert change.repigmented_share < 0.05 and change.new_lesion_share < 0.05
    assert 0.5 < change.overlap < 1.0


def test_warp_image_brings_a_copy_back():
    image, _ = textured_skin(SHAPE, seed=2)
    truth = similarity(SHAPE, degrees=0, scale=1.0, shift=(10.0, 0.0))
    back = warp_image(transformed(image, truth), truth, SHAPE)
    inner = (slice(5, -5), slice(5, -20))
    assert np.abs(back[inner].astype(int) - image[inner].astype(int)).mean() < 2


def test_change_picture_shows_each_colour_and_a_legend():
    earlier, later = _disc(30), _disc(30, centre=(60, 100))
    valid = np.ones(SHAPE, bool)
    valid[:, :10] = False
    image, _ = textured_skin(SHAPE, seed=4)
    picture = render_change(image, earlier, later, valid)
    assert picture.height > SHAPE[0]  # the legend band
    assert picture.width >= SHAPE[1]
    pixels = np.asarray(picture)
    legend = pixels[SHAPE[0] :]
    for colour, _ in CHANGE_COLOURS.values():
        assert (legend == colour).all(axis=2).any()  # its swatch
    only_new = later & ~earlier
    rows, cols = np.nonzero(only_new)
    r, c = rows[len(rows) // 2], cols[len(cols) // 2]
    red, green, blue = pixels[r, c].astype(int)
    assert red > green > blue  # vermillion tint: new lesion
