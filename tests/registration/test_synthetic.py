"""``second_photo``: a realistic re-photograph of a photo, its lesion mask moved with it."""

from __future__ import annotations

import numpy as np

from segmentation.registration.synthetic import second_photo

from .scenes import textured_skin


def test_the_mask_follows_the_image_and_the_copy_is_not_a_quarter_turn():
    image, lesion = textured_skin((160, 160), seed=3, lesion_radius=0.2)
    copy, mask = second_photo(image, lesion, np.random.default_rng(7))
    assert copy.shape == image.shape and copy.dtype == np.uint8
    assert mask.shape == lesion.shape and mask.dtype == bool
    # The pale lesion is still where the moved mask says, under the new lighting.
    luma = copy.astype(float).mean(axis=2)
    inside, outside = luma[mask].mean(), luma[~mask & (luma > 20)].mean()
    assert inside > outside + 25
    assert 0.6 < mask.sum() / lesion.sum() < 1.6
    # Not the data set's augmentations: no flip or quarter turn reproduces the moved mask.
    turns = [np.rot90(lesion, k) for k in range(4)]
    variants = turns + [np.fliplr(t) for t in turns]
    assert all((variant != mask).mean() > 0.01 for variant in variants)


def test_the_generator_decides_the_copy():
    image, lesion = textured_skin((96, 128), seed=1)
    first = second_photo(image, lesion, np.random.default_rng(5))
    again = second_photo(image, lesion, np.random.default_rng(5))
    other = second_photo(image, lesion, np.random.default_rng(6))
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])
    assert not np.array_equal(first[0], other[0])
