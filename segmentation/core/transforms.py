"""Joint transforms over ``(image, mask)`` pairs, in the style of torchvision's segmentation
references: every geometric transform is applied to both (the mask with NEAREST so it stays binary),
random parameters are drawn once per call, and photometric transforms touch only the image.

Randomness comes from ``torch``'s generator so that ``torch.manual_seed`` and DataLoader worker
seeding make augmentation reproducible.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torchvision.transforms as T
import torchvision.transforms.functional as F
from PIL import Image

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "ColorJitter",
    "Compose",
    "Normalize",
    "PILToTensor",
    "RandomBrightness",
    "RandomCrop",
    "RandomHorizontalFlip",
    "RandomResize",
    "RandomRotation",
    "RandomVerticalFlip",
    "Resize",
    "SegmentationPresetEval",
    "SegmentationPresetTrain",
    "ToDtype",
]

IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)

Pair = tuple[Any, Any]


def _uniform(low: float, high: float) -> float:
    return float(torch.empty(1).uniform_(low, high).item())


def _coin(p: float) -> bool:
    return bool(torch.rand(1).item() < p)


def _check_prob(p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"probability must lie in [0, 1], got {p}")


class Compose:
    def __init__(self, transforms: Sequence[Callable[[Any, Any], Pair]]) -> None:
        self.transforms = list(transforms)

    def __call__(self, image: Any, mask: Any) -> Pair:
        for transform in self.transforms:
            image, mask = transform(image, mask)
        return image, mask


class Resize:
    """Resize both to ``size`` (h, w): bilinear for the image, nearest for the mask."""

    def __init__(self, size: int | tuple[int, int]) -> None:
        self.size = [size, size] if isinstance(size, int) else list(size)

    def __call__(self, image: Image.Image, mask: Image.Image) -> Pair:
        image = F.resize(image, self.size, interpolation=T.InterpolationMode.BILINEAR)
        mask = F.resize(mask, self.size, interpolation=T.InterpolationMode.NEAREST)
        return image, mask


class RandomResize:
    """Scale augmentation: resize both sides by one factor drawn from ``[min_scale, max_scale]``."""

    def __init__(self, base_size: int, min_scale: float, max_scale: float) -> None:
        if not 0 < min_scale <= max_scale:
            raise ValueError(f"need 0 < min_scale <= max_scale, got {min_scale}, {max_scale}")
        self.base_size, self.min_scale, self.max_scale = base_size, min_scale, max_scale

    def __call__(self, image: Image.Image, mask: Image.Image) -> Pair:
        side = max(1, round(self.base_size * _uniform(self.min_scale, self.max_scale)))
        return Resize(side)(image, mask)


class RandomCrop:
    """Crop both at one random position; pads first (image 0, mask background) when too small."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __call__(self, image: Image.Image, mask: Image.Image) -> Pair:
        width, height = image.size
        pad_w, pad_h = max(self.size - width, 0), max(self.size - height, 0)
        if pad_w or pad_h:
            image = F.pad(image, [0, 0, pad_w, pad_h], fill=0)
            mask = F.pad(mask, [0, 0, pad_w, pad_h], fill=0)
        top, left, h, w = T.RandomCrop.get_params(image, (self.size, self.size))
        return F.crop(image, top, left, h, w), F.crop(mask, top, left, h, w)


class RandomHorizontalFlip:
    def __init__(self, p: float = 0.5) -> None:
        _check_prob(p)
        self.p = p

    def __call__(self, image: Any, mask: Any) -> Pair:
        if _coin(self.p):
            return F.hflip(image), F.hflip(mask)
        return image, mask


class RandomVerticalFlip:
    def __init__(self, p: float = 0.5) -> None:
        _check_prob(p)
        self.p = p

    def __call__(self, image: Any, mask: Any) -> Pair:
        if _coin(self.p):
            return F.vflip(image), F.vflip(mask)
        return image, mask


class RandomRotation:
    """Rotate both by one angle in ``[-degrees, degrees]``; corners become background."""

    def __init__(self, degrees: float) -> None:
        if degrees < 0:
            raise ValueError(f"degrees must be >= 0, got {degrees}")
        self.degrees = degrees

    def __call__(self, image: Image.Image, mask: Image.Image) -> Pair:
        angle = _uniform(-self.degrees, self.degrees)
        image = F.rotate(image, angle, interpolation=T.InterpolationMode.BILINEAR, fill=0)
        mask = F.rotate(mask, angle, interpolation=T.InterpolationMode.NEAREST, fill=0)
        return image, mask


class RandomBrightness:
    """The paper's photometric step: with probability ``p`` multiply brightness by U(low, high)."""

    def __init__(self, low: float = 0.7, high: float = 1.3, p: float = 0.5) -> None:
        _check_prob(p)
        if not 0 <= low <= high:
            raise ValueError(f"need 0 <= low <= high, got {low}, {high}")
        self.low, self.high, self.p = low, high, p

    def __call__(self, image: Image.Image, mask: Any) -> Pair:
        if _coin(self.p):
            image = F.adjust_brightness(image, _uniform(self.low, self.high))
        return image, mask


class ColorJitter:
    """torchvision's ColorJitter on the image only."""

    def __init__(self, brightness=0.0, contrast=0.0, saturation=0.0, hue=0.0) -> None:
        self.jitter = T.ColorJitter(brightness, contrast, saturation, hue)

    def __call__(self, image: Image.Image, mask: Any) -> Pair:
        return self.jitter(image), mask


class PILToTensor:
    """Image to uint8 CxHxW; mask (0/255 PNG) to int64 HxW class indices 0/1."""

    def __call__(self, image: Image.Image, mask: Image.Image) -> Pair:
        image_t = F.pil_to_tensor(image)
        mask_t = torch.from_numpy(np.asarray(mask, dtype=np.uint8) > 127).to(torch.int64)
        return image_t, mask_t


class ToDtype:
    def __init__(self, dtype: torch.dtype = torch.float32, scale: bool = True) -> None:
        self.dtype, self.scale = dtype, scale

    def __call__(self, image: torch.Tensor, mask: torch.Tensor) -> Pair:
        image = image.to(self.dtype)
        return (image / 255.0 if self.scale else image), mask


class Normalize:
    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        self.mean, self.std = list(mean), list(std)

    def __call__(self, image: torch.Tensor, mask: Any) -> Pair:
        return F.normalize(image, mean=self.mean, std=self.std), mask


class SegmentationPresetTrain:
    """The paper's recipe by default: resize 312, random crop 256, flips, brightness x U(.7, 1.3).

    Extras (all off by default): ``rotation_degrees``, ``colour_jitter`` (strength for brightness,
    contrast and saturation; hue gets a quarter of it), ``scale_range`` (replaces the fixed resize
    by a random one around ``resize_size``).
    """

    def __init__(
        self,
        *,
        resize_size: int = 312,
        crop_size: int = 256,
        hflip_prob: float = 0.5,
        vflip_prob: float = 0.5,
        brightness: tuple[float, float] = (0.7, 1.3),
        brightness_prob: float = 0.5,
        rotation_degrees: float = 0.0,
        colour_jitter: float = 0.0,
        scale_range: tuple[float, float] | None = None,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
    ) -> None:
        steps: list[Callable[[Any, Any], Pair]] = []
        if scale_range is None:
            steps.append(Resize(resize_size))
        else:
            steps.append(RandomResize(resize_size, *scale_range))
        if rotation_degrees > 0:
            steps.append(RandomRotation(rotation_degrees))
        steps.append(RandomCrop(crop_size))
        if hflip_prob > 0:
            steps.append(RandomHorizontalFlip(hflip_prob))
        if vflip_prob > 0:
            steps.append(RandomVerticalFlip(vflip_prob))
        if brightness_prob > 0:
            steps.append(RandomBrightness(*brightness, p=brightness_prob))
        if colour_jitter > 0:
            steps.append(
                ColorJitter(
                    colour_jitter, colour_jitter, colour_jitter, min(colour_jitter / 4, 0.5)
                )
            )
        steps += [PILToTensor(), ToDtype(torch.float32, scale=True), Normalize(mean, std)]
        self.transforms = Compose(steps)

    def __call__(self, image: Image.Image, mask: Image.Image) -> Pair:
        return self.transforms(image, mask)


class SegmentationPresetEval:
    """Resize the whole image to ``resize_size`` (the scale trained at), then normalise."""

    def __init__(
        self,
        *,
        resize_size: int = 312,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
    ) -> None:
        self.transforms = Compose(
            [
                Resize(resize_size),
                PILToTensor(),
                ToDtype(torch.float32, scale=True),
                Normalize(mean, std),
            ]
        )

    def __call__(self, image: Image.Image, mask: Image.Image) -> Pair:
        return self.transforms(image, mask)
