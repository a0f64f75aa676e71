"""Registration on synthetic textured skin under known transforms, and refusals."""

from __future__ import annotations

import numpy as np
import pytest

from segmentation.registration import AlignmentResult, align_images, image_features
from segmentation.registration.synthetic import corner_error, similarity, transformed
from tests.registration.scenes import textured_skin

SHAPE = (300, 400)


@pytest.fixture(scope="module")
def scene():
    return textured_skin(SHAPE, seed=3)


@pytest.mark.parametrize(
    ("degrees", "scale", "shift", "perspective"),
    [
        (0.0, 1.0, (12.0, -8.0), (0.0, 0.0)),
        (20.0, 1.15, (-15.0, 10.0), (0.0, 0.0)),
        (-25.0, 0.8, (10.0, 5.0), (0.0, 0.0)),
        (8.0, 1.05, (0.0, 0.0), (2e-4, -1.5e-4)),  # a mild tilt of the camera
    ],
)
def test_known_transform_is_recovered(scene, degrees, scale, shift, perspective):
    image, _ = scene
    truth = similarity(SHAPE, degrees=degrees, scale=scale, shift=shift, perspective=perspective)
    result = align_images(image, transformed(image, truth))
    assert result.aligned, result.reason
    assert result.reason == ""
    assert corner_error(result.matrix, truth, SHAPE) < 0.005
    assert result.n_inliers >= 20 and result.rms_error_px < 1.5
    assert 0.3 < result.overlap <= 1.0


def test_brightness_change_does_not_prevent_alignment(scene):
    image, _ = scene
    truth = similarity(SHAPE, degrees=10, scale=1.1, shift=(5.0, 5.0))
    brighter = np.clip(transformed(image, truth).astype(float) * 1.25 + 10, 0, 255)
    result = align_images(image, brighter.astype(np.uint8))
    assert result.aligned, result.reason
    assert corner_error(result.matrix, truth, SHAPE) < 0.005


def test_unrelated_photos_are_refused_with_a_reason(scene):
    image, _ = scene
    other, _ = textured_skin(SHAPE, seed=11)
    result = align_images(image, other)
    assert not result.aligned
    assert result.matrix is None
    assert result.reason  # says why, e.g. "too few matching features"


def test_a_flat_photo_has_no_features_and_is_refused(scene):
    image, _ = scene
    flat = np.full_like(image, 150)
    result = align_images(image, flat)
    assert not result.aligned
    assert result.reason == "too few features on the skin of one of the photos"


def test_keypoints_are_kept_on_skin_only(scene):
    image, lesion = scene
    blue = image.copy()
    rng = np.random.default_rng(0)
    # The left part becomes a textured blue background (a shirt, a wall): no keypoint there.
    blue[:, :150] = np.clip(
        np.array([60, 90, 170]) + rng.normal(0, 30, (SHAPE[0], 150, 1)), 0, 255
    ).astype(np.uint8)
    features = image_features(blue, lesion=lesion)
    assert features.restricted_to_skin
    assert len(features.keypoints) > 50
    margin = 0.02 * max(SHAPE) + 2  # the skin region is dilated a little
    assert features.keypoints[:, 0].min() >= 150 - margin


def test_result_round_trips_through_json(scene):
    image, _ = scene
    truth = similarity(SHAPE, degrees=5, scale=1.0, shift=(3.0, 0.0))
    result = align_images(image, transformed(image, truth))
    again = AlignmentResult.from_dict(result.as_dict())
    assert again.aligned and np.allclose(again.matrix, result.matrix)
    assert again.reference_shape == SHAPE and again.n_inliers == result.n_inliers


def test_identity_is_aligned():
    result = AlignmentResult.identity(SHAPE)
    assert result.aligned and np.array_equal(result.matrix, np.eye(3))
