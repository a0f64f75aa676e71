"""Pair transforms: image and mask stay aligned, the presets follow the paper's recipe."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from scipy import ndimage

from segmentation.core import transforms as T

# Every transform that moves pixels or changes colours, with settings that keep a white-on-black
# image readable (so the transformed image still tells where the lesion is).
TRANSFORMS = {
    "resize": lambda: T.Resize(40),
    "resize_rect": lambda: T.Resize((30, 50)),
    "random_resize": lambda: T.RandomResize(48, 0.5, 1.5),
    "random_crop": lambda: T.RandomCrop(32),
    "random_crop_padding": lambda: T.RandomCrop(80),
    "hflip": lambda: T.RandomHorizontalFlip(1.0),
    "vflip": lambda: T.RandomVerticalFlip(1.0),
    "rotation": lambda: T.RandomRotation(45),
    "brightness": lambda: T.RandomBrightness(0.7, 1.3, p=1.0),
    "colour_jitter": lambda: T.ColorJitter(0.3, 0.3, 0.3, 0.1),
    "paper_train_preset_geometry": lambda: T.Compose(
        T.SegmentationPresetTrain(resize_size=60, crop_size=48).transforms.transforms[:-3]
    ),
    "train_preset_extras_geometry": lambda: T.Compose(
        T.SegmentationPresetTrain(
            resize_size=60,
            crop_size=48,
            rotation_degrees=30,
            colour_jitter=0.2,
            scale_range=(0.8, 1.2),
        ).transforms.transforms[:-3]
    ),
}


def _white_on_black(mask: np.ndarray) -> tuple[Image.Image, Image.Image]:
    pixels = (mask * 255).astype(np.uint8)
    return Image.fromarray(np.stack([pixels] * 3, axis=-1)), Image.fromarray(pixels)


@settings(max_examples=15, deadline=None)
@given(
    name=st.sampled_from(sorted(TRANSFORMS)),
    height=st.integers(24, 64),
    width=st.integers(24, 64),
    box=st.tuples(*[st.floats(0.1, 0.9)] * 4),
    seed=st.integers(0, 2**16),
)
def test_image_and_mask_stay_aligned(name, height, width, box, seed):
    y0, y1 = sorted(round(v * height) for v in box[:2])
    x0, x1 = sorted(round(v * width) for v in box[2:])
    mask = np.zeros((height, width), dtype=bool)
    mask[y0 : y1 + 1, x0 : x1 + 1] = True
    image, mask_image = _white_on_black(mask)

    torch.manual_seed(seed)
    out_image, out_mask = TRANSFORMS[name]()(image, mask_image)

    assert out_image.size == out_mask.size
    bright = np.asarray(out_image.convert("L")) > 127
    lesion = np.asarray(out_mask) > 127
    assert set(np.unique(np.asarray(out_mask))) <= {0, 255}, "mask must stay binary (NEAREST)"
    # Interpolation blurs the image edge by about a pixel; everywhere else they must agree.
    edge = ndimage.binary_dilation(lesion, iterations=2) & ~ndimage.binary_erosion(
        lesion, iterations=2
    )
    assert not np.any((bright != lesion) & ~edge)


def test_train_preset_is_the_paper_recipe_by_default():
    steps = T.SegmentationPresetTrain().transforms.transforms
    kinds = [type(step).__name__ for step in steps]
    assert kinds == [
        "Resize",
        "RandomCrop",
        "RandomHorizontalFlip",
        "RandomVerticalFlip",
        "RandomBrightness",
        "PILToTensor",
        "ToDtype",
        "Normalize",
    ]
    resize, crop, hflip, vflip, brightness = steps[:5]
    assert resize.size == [312, 312] and crop.size == 256
    assert hflip.p == 0.5 and vflip.p == 0.5
    assert (brightness.low, brightness.high, brightness.p) == (0.7, 1.3, 0.5)
    assert steps[-1].mean == list(T.IMAGENET_MEAN) and steps[-1].std == list(T.IMAGENET_STD)


def test_train_preset_outputs_normalised_crop_and_binary_target():
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 255, (50, 70, 3), dtype=np.uint8))
    mask = Image.fromarray(((rng.random((50, 70)) > 0.7) * 255).astype(np.uint8))
    torch.manual_seed(0)
    out_image, out_mask = T.SegmentationPresetTrain(resize_size=40, crop_size=32)(image, mask)
    assert out_image.shape == (3, 32, 32) and out_image.dtype == torch.float32
    assert out_mask.shape == (32, 32) and out_mask.dtype == torch.int64
    assert set(out_mask.unique().tolist()) <= {0, 1}
    assert out_image.min() < 0  # normalised, not in [0, 1]


def test_normalize_touches_only_the_image():
    image = torch.full((3, 4, 4), 0.5)
    mask = torch.ones(4, 4, dtype=torch.int64)
    out_image, out_mask = T.Normalize(T.IMAGENET_MEAN, T.IMAGENET_STD)(image, mask)
    expected = (0.5 - T.IMAGENET_MEAN[0]) / T.IMAGENET_STD[0]
    assert out_image[0, 0, 0].item() == pytest.approx(expected)
    assert out_mask is mask


def test_eval_preset_resizes_whole_image():
    image = Image.new("RGB", (90, 30), (200, 150, 120))
    mask = Image.new("L", (90, 30), 255)
    out_image, out_mask = T.SegmentationPresetEval(resize_size=48)(image, mask)
    assert out_image.shape == (3, 48, 48) and bool(out_mask.all())


@pytest.mark.parametrize(
    "build",
    [
        lambda: T.RandomHorizontalFlip(1.5),
        lambda: T.RandomBrightness(1.3, 0.7),
        lambda: T.RandomRotation(-1),
        lambda: T.RandomResize(10, 2.0, 1.0),
    ],
)
def test_invalid_arguments_raise(build):
    with pytest.raises(ValueError):
        build()
