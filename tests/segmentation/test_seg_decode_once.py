"""The worker converts a photo once: no extra full-size copies in the predictor and the overlay."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision.transforms.functional as TF
from PIL import Image, ImageOps

from segmentation.core import SegmentationPredictor
from segmentation.severity import render_overlay


def _photo(seed: int = 0, size: tuple[int, int] = (80, 60)) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))


def test_an_upright_rgb_photo_is_prepared_without_copies_and_as_before(
    trained_checkpoint, monkeypatch
):
    predictor = SegmentationPredictor(trained_checkpoint, device="cpu")
    photo = _photo()
    resized = photo.resize((predictor.size, predictor.size), Image.Resampling.BILINEAR)
    before = TF.normalize(
        TF.pil_to_tensor(resized).float() / 255.0, predictor._mean, predictor._std
    )

    def copies(*_args, **_kwargs):
        raise AssertionError("an upright RGB photo needs no exif_transpose copy")

    monkeypatch.setattr(ImageOps, "exif_transpose", copies)
    upright = predictor._upright(photo)
    assert upright is photo and upright.size == (80, 60)
    assert torch.equal(predictor._tensor(upright, predictor.size), before)


def test_other_modes_are_still_converted(trained_checkpoint):
    predictor = SegmentationPredictor(trained_checkpoint, device="cpu")
    grey = _photo().convert("L")
    upright = predictor._upright(grey)
    assert upright.mode == "RGB" and upright.size == (80, 60)
    tensor = predictor._tensor(upright, predictor.size)
    assert torch.equal(tensor, predictor._tensor(grey.convert("RGB"), predictor.size))


def test_overlay_from_the_shared_pixels_is_the_same_image():
    photo = _photo(1)
    mask = np.zeros((60, 80), dtype=bool)
    mask[10:40, 20:60] = True
    shared = render_overlay(photo, mask, pixels=np.asarray(photo))
    assert np.array_equal(np.asarray(shared), np.asarray(render_overlay(photo, mask)))
    with pytest.raises(ValueError, match="RGB array"):
        render_overlay(photo, mask, pixels=np.zeros((60, 80), dtype=np.uint8))
