"""Edge cases give defined results with reasons, never NaN or a crash; bad arguments raise."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from segmentation.severity import ColourCardPatch, measure_severity

from .conftest import BACKGROUND, make_scene

COLOUR_KEYS = (
    "delta_e2000",
    "delta_e2000_skin",
    "delta_l",
    "ita_lesion",
    "rgb_mean_difference_vs_rest",
)


def _codes(report):
    return [reason["code"] for reason in report.as_dict()["reasons"]]


def _strict_json(report):
    return json.loads(json.dumps(report.as_dict(), allow_nan=False))


def test_empty_mask(scene):
    report = measure_severity(scene.image, np.zeros_like(scene.lesion))
    data = _strict_json(report)
    assert _codes(report) == ["empty_mask"]
    assert data["lesion_skin_fraction"] == 0.0
    assert data["lesion_count"] == 0
    assert data["largest_lesion_fraction"] == 0.0
    assert all(data[key] is None for key in COLOUR_KEYS)
    assert data["grade"] is None and data["paper_grade"] is None
    assert all(reason["message"] for reason in data["reasons"])


def test_full_mask(scene):
    report = measure_severity(scene.image, np.ones_like(scene.lesion), pixels_per_cm=10.0)
    data = _strict_json(report)
    assert _codes(report) == ["full_mask"]
    assert data["lesion_skin_fraction"] == 1.0
    assert data["lesion_count"] == 1
    assert data["lesion_area_cm2"] == pytest.approx(scene.lesion.size / 100.0)
    assert all(data[key] is None for key in COLOUR_KEYS)


def test_lesion_under_the_minimum_keeps_extent_but_not_colour(scene):
    mask = np.zeros_like(scene.lesion)
    mask[100:105, 150:155] = True  # 25 pixels
    report = measure_severity(scene.image, mask, min_lesion_pixels=50)
    assert _codes(report) == ["lesion_too_small"]
    assert report.lesion_pixel_count == 25
    assert report.lesion_skin_fraction == pytest.approx(25 / report.skin_pixel_count)
    assert all(getattr(report, key) is None for key in COLOUR_KEYS)
    # With a lower minimum the same lesion is measured.
    assert measure_severity(scene.image, mask, min_lesion_pixels=10).delta_e2000 is not None


def test_no_skin_found():
    image = np.empty((80, 80, 3), dtype=np.uint8)
    image[:] = BACKGROUND
    mask = np.zeros((80, 80), dtype=bool)
    mask[20:60, 20:60] = True
    image[mask] = (240, 240, 240)
    report = measure_severity(image, mask)
    data = _strict_json(report)
    assert "no_skin_found" in _codes(report)
    assert data["lesion_skin_fraction"] is None
    assert data["delta_e2000"] is None and data["delta_e2000_skin"] is None
    # The paper's measure needs no skin rule, so it is still there.
    assert data["rgb_mean_difference"] == pytest.approx(
        np.mean((240, 240, 240)) - np.mean(BACKGROUND)
    )


def test_ring_with_no_skin_but_skin_elsewhere():
    # The lesion sits in the background, far from the skin rectangle.
    scene = make_scene(skin_box=(0.0, 0.0, 1.0, 0.3), lesions=((0.5, 0.75, 0.1),))
    report = measure_severity(scene.image, scene.lesion)
    assert "ring_too_small" in _codes(report)
    assert report.delta_e2000 is None and report.ita_surrounding is None
    assert report.delta_e2000_skin is not None  # all non-lesion skin is still there


def test_lesion_darker_than_skin_is_flagged(scene):
    dark = make_scene(lesion_rgb=(110, 70, 50))
    report = measure_severity(dark.image, dark.lesion)
    assert "lesion_darker" in _codes(report)
    assert report.delta_l < 0


def test_uniform_grey_image_with_lesion_mask_is_defined():
    image = np.full((50, 50, 3), 128, dtype=np.uint8)
    mask = np.zeros((50, 50), dtype=bool)
    mask[10:30, 10:30] = True
    data = _strict_json(measure_severity(image, mask))
    assert data["rgb_mean_difference"] == 0.0
    assert data["paper_grade"] == "low"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pixels_per_cm": 0.0}, "pixels_per_cm"),
        ({"pixels_per_cm": float("nan")}, "pixels_per_cm"),
        ({"normalisation": "retinex"}, "normalisation"),
        ({"normalisation": "colour_card"}, "ColourCardPatch"),
        ({"colour_card": [ColourCardPatch((0, 0, 5, 5), (200, 200, 200))]}, "colour_card"),
        ({"ring_width_fraction": 0.0}, "ring_width_fraction"),
        ({"min_lesion_pixels": 0}, "min_lesion_pixels"),
    ],
)
def test_bad_options_raise_value_error(scene, kwargs, message):
    with pytest.raises(ValueError, match=message):
        measure_severity(scene.image, scene.lesion, **kwargs)


@pytest.mark.parametrize(
    ("image", "mask"),
    [
        (np.zeros((10, 10, 3), dtype=np.float32), np.zeros((10, 10), dtype=bool)),
        (np.zeros((10, 10), dtype=np.uint8), np.zeros((10, 10), dtype=bool)),
        (np.zeros((10, 10, 4), dtype=np.uint8), np.zeros((10, 10), dtype=bool)),
        (np.zeros((10, 10, 3), dtype=np.uint8), np.zeros((10, 11), dtype=bool)),
        (np.zeros((10, 10, 3), dtype=np.uint8), np.full((10, 10), 7, dtype=np.uint8)),
        (np.zeros((10, 10, 3), dtype=np.uint8), np.zeros((10, 10), dtype=np.float32)),
    ],
)
def test_bad_arrays_raise_value_error(image, mask):
    with pytest.raises(ValueError):
        measure_severity(image, mask)


def test_integer_masks_0_255_are_accepted(scene):
    as_bool = measure_severity(scene.image, scene.lesion)
    as_255 = measure_severity(scene.image, scene.lesion.astype(np.uint8) * 255)
    assert as_255.as_dict() == as_bool.as_dict()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    image=arrays(np.uint8, (24, 24, 3)),
    mask=arrays(np.bool_, (24, 24)),
    normalisation=st.sampled_from([None, "grey_world", "white_patch"]),
)
def test_any_photo_and_mask_give_finite_json(image, mask, normalisation):
    data = _strict_json(measure_severity(image, mask, normalisation=normalisation))
    for key in ("lesion_skin_fraction", "largest_lesion_fraction"):
        assert data[key] is None or 0.0 <= data[key] <= 1.0
    assert data["lesion_pixel_count"] == int(mask.sum())
