"""Skin rule, colour normalisation and grade thresholds."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.color import deltaE_ciede2000, rgb2lab

from segmentation.severity import (
    DEFAULT_THRESHOLDS,
    PAPER_THRESHOLDS,
    ColourCardPatch,
    GradeThresholds,
    SkinRule,
    normalise_colours,
    skin_mask,
)
from segmentation.severity.colour import linear_to_srgb, srgb_to_linear
from segmentation.severity.grading import grade_value

from .conftest import BACKGROUND, LESION, SKIN, make_scene

NO_SPECK_FILTER = SkinRule(min_region_fraction=0.0)


@pytest.mark.parametrize(
    ("rgb", "is_skin"),
    [
        (SKIN, True),
        ((120, 75, 50), True),  # dark brown skin
        ((230, 200, 185), True),  # light skin
        (BACKGROUND, False),  # blue
        ((40, 160, 60), False),  # green
        ((20, 20, 20), False),  # near black (hair): below the luma floor
        ((250, 250, 250), False),  # white: no chroma
    ],
)
def test_skin_rule_on_single_colours(rgb, is_skin):
    image = np.full((4, 4, 3), rgb, dtype=np.uint8)
    assert skin_mask(image, rule=NO_SPECK_FILTER).all() == is_skin


def test_skin_rule_bounds_are_full_range_ycbcr():
    # Full-range (JPEG) Cr = 128 + 0.5 R - 0.418688 G - 0.081312 B. A grey pixel has
    # Cb = Cr = 128, outside [133, 173] for Cr; a box around 128 admits it.
    grey = np.full((2, 2, 3), 150, dtype=np.uint8)
    assert not skin_mask(grey, rule=NO_SPECK_FILTER).any()
    assert skin_mask(
        grey, rule=SkinRule(cr_min=127.0, cb_min=127.0, cb_max=129.0, min_region_fraction=0)
    ).all()


def test_skin_rule_drops_specks_but_keeps_regions():
    scene = make_scene()
    image = scene.image.copy()
    image[5, 5] = SKIN  # one skin-coloured pixel in the background
    mask = skin_mask(image)
    assert not mask[5, 5]
    assert mask[scene.skin].all()


def test_invalid_skin_rule():
    with pytest.raises(ValueError):
        SkinRule(cr_min=180.0)


def _relight(image, gains):
    linear = srgb_to_linear(image / 255.0) * np.asarray(gains, dtype=np.float32)
    return np.clip(np.rint(linear_to_srgb(linear) * 255.0), 0, 255).astype(np.uint8)


def test_grey_world_cancels_a_per_channel_gain():
    scene = make_scene(noise=2.0)
    relit = _relight(scene.image, (0.7, 0.6, 0.5))
    a = normalise_colours(scene.image, method="grey_world").rgb
    b = normalise_colours(relit, method="grey_world").rgb
    assert np.abs(a - b).max() < 0.02  # 8-bit re-quantisation only
    # and the mean of every linear channel is the fixed mid grey, sRGB 128 (IEC 61966-2-1).
    mid_grey = ((128 / 255 + 0.055) / 1.055) ** 2.4
    np.testing.assert_allclose(srgb_to_linear(a).reshape(-1, 3).mean(axis=0), mid_grey, rtol=1e-3)


def test_white_patch_maps_the_percentile_to_white():
    scene = make_scene()
    out = normalise_colours(scene.image, method="white_patch", white_percentile=100.0).rgb
    np.testing.assert_allclose(out.reshape(-1, 3).max(axis=0), 1.0, atol=1e-5)


def test_no_normalisation_is_the_identity():
    scene = make_scene()
    result = normalise_colours(scene.image, method=None)
    np.testing.assert_array_equal(result.rgb, scene.image / np.float32(255.0))
    np.testing.assert_array_equal(result.matrix, np.eye(3))


def test_colour_card_with_one_grey_patch_restores_its_reference():
    scene = make_scene()
    image = scene.image.copy()
    image[0:10, 0:10] = (128, 128, 128)
    relit = _relight(image, (0.9, 0.7, 0.5))
    patch = ColourCardPatch(box=(0, 0, 10, 10), reference_rgb=(128, 128, 128))
    out = normalise_colours(relit, method="colour_card", colour_card=[patch]).rgb
    np.testing.assert_allclose(out[5, 5], 128 / 255, atol=2 / 255)


def test_colour_card_with_three_patches_recovers_channel_mixing():
    rng = np.random.default_rng(1)
    references = [(200, 60, 60), (60, 180, 70), (70, 80, 200), (180, 180, 180)]
    image = np.zeros((40, 40, 3), dtype=np.uint8)
    image[:] = rng.integers(40, 220, (40, 40, 3))
    patches = []
    for i, ref in enumerate(references):
        image[0:8, 10 * i : 10 * i + 8] = ref
        patches.append(ColourCardPatch(box=(10 * i, 0, 10 * i + 8, 8), reference_rgb=ref))
    mixing = np.array([[0.8, 0.15, 0.0], [0.1, 0.7, 0.1], [0.0, 0.2, 0.6]], dtype=np.float32)
    linear = srgb_to_linear(image / 255.0) @ mixing.T
    distorted = np.clip(np.rint(linear_to_srgb(linear) * 255.0), 0, 255).astype(np.uint8)
    result = normalise_colours(distorted, method="colour_card", colour_card=patches)
    restored = np.clip(result.rgb, 0, 1)
    lab_a, lab_b = rgb2lab(restored), rgb2lab(image)
    assert np.median(deltaE_ciede2000(lab_a, lab_b)) < 1.0
    assert np.median(deltaE_ciede2000(rgb2lab(distorted), lab_b)) > 5.0  # it was distorted


def test_colour_card_box_outside_the_image():
    with pytest.raises(ValueError, match="outside"):
        normalise_colours(
            np.zeros((10, 10, 3), np.uint8),
            method="colour_card",
            colour_card=[ColourCardPatch((5, 5, 20, 20), (128, 128, 128))],
        )


def test_paper_thresholds_are_the_midpoints_of_its_examples():
    high, medium, low = 44.8, 26.2, 17.0
    assert PAPER_THRESHOLDS.measure == "rgb_mean_difference_vs_rest"
    assert PAPER_THRESHOLDS.high == pytest.approx((high + medium) / 2)
    assert PAPER_THRESHOLDS.medium == pytest.approx((medium + low) / 2)
    for value, grade in ((high, "high"), (medium, "medium"), (low, "low")):
        assert grade_value(value, PAPER_THRESHOLDS) == grade


def test_default_thresholds_are_derived_from_the_papers_examples_as_greys():
    def de(lesion, other):
        grey = np.array([[[lesion / 255] * 3, [other / 255] * 3]])
        lab = rgb2lab(grey)
        return float(deltaE_ciede2000(lab[0, 0], lab[0, 1]))

    high, medium, low = de(136.0, 91.2), de(127.9, 101.7), de(188.0, 171.0)
    assert high > medium > low
    assert DEFAULT_THRESHOLDS.measure == "delta_e2000"
    assert DEFAULT_THRESHOLDS.high == pytest.approx((high + medium) / 2, abs=0.05)
    assert DEFAULT_THRESHOLDS.medium == pytest.approx((medium + low) / 2, abs=0.05)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (7.49, "low"),
        (7.5, "medium"),
        (13.99, "medium"),
        (14.0, "high"),
        (-3.0, "low"),
    ],
)
def test_grade_boundaries(value, expected):
    assert grade_value(value, DEFAULT_THRESHOLDS) == expected


def test_invalid_thresholds():
    with pytest.raises(ValueError, match="greater"):
        GradeThresholds(measure="delta_e2000", high=5.0, medium=8.0)
    with pytest.raises(ValueError, match="measure"):
        GradeThresholds(measure="lesion_count", high=5.0, medium=2.0)


def test_lesion_is_lighter_than_skin_in_the_fixtures():
    # Guard for the other tests: the fixture colours describe depigmentation.
    assert (
        rgb2lab(np.array([[LESION]], np.uint8))[0, 0, 0]
        > rgb2lab(np.array([[SKIN]], np.uint8))[0, 0, 0]
    )
