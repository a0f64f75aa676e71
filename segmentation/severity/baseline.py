"""Training-free colour-threshold segmenter: the fallback when no trained model is active and the
reference every trained model must beat.

Method (all sizes are fractions of the image, so the result does not depend on resolution):

1. Work on a copy whose longer side is at most ``working_size`` pixels (speed).
2. Region of interest = skin-rule pixels, closed and hole-filled, so that pale lesions enclosed by
   skin (which often fail the skin rule) are inside it.
3. Feature = L* - 2·b* (CIELAB): depigmentation raises lightness and lowers the yellowness that
   melanin gives skin. Adding b* to L* raised the mask IoU on every fold of the vitiligo set
   (``bench/severity_baseline_features.py``, docs/severity.md), which makes this choice mildly
   tuned to that set.
4. Otsu's threshold of the feature inside the region of interest, then light morphology
   (opening, removal of specks and small holes).

Its ``probabilities`` are a logistic function of the feature's distance to the Otsu threshold,
clamped so that ``probabilities >= 0.5`` reproduces the cleaned mask exactly (the
:class:`~segmentation.segmenter.Prediction` contract).
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageOps
from scipy import ndimage
from skimage.color import rgb2lab
from skimage.filters import threshold_otsu
from skimage.morphology import closing, disk, opening, remove_small_holes, remove_small_objects

from segmentation.segmenter import Prediction

from .skin import SkinRule, skin_mask

__all__ = ["BASELINE_VERSION_LABEL", "ColourThresholdSegmenter"]

BASELINE_VERSION_LABEL = "baseline:colour-threshold-v1"

_THRESHOLD = 0.5
# Just below the threshold, for pixels the morphology removed from the mask.
_BELOW = float(np.nextafter(np.float32(_THRESHOLD), np.float32(0)))


class ColourThresholdSegmenter:
    """Implements :class:`segmentation.segmenter.Segmenter` without any training."""

    version_label: str = BASELINE_VERSION_LABEL
    #: Its masks are ``probabilities >= threshold``, as with a trained model's predictor.
    threshold: float = _THRESHOLD

    def __init__(
        self,
        *,
        working_size: int = 1024,
        skin_rule: SkinRule | None = None,
        morphology_fraction: float = 0.01,
        min_region_fraction: float = 1e-3,
        yellowness_weight: float = 2.0,
        softness: float = 4.0,
    ) -> None:
        if working_size < 32:
            raise ValueError("working_size must be at least 32 pixels")
        if not 0.0 <= morphology_fraction < 0.2:
            raise ValueError("morphology_fraction must be in [0, 0.2)")
        if not 0.0 <= min_region_fraction < 0.5:
            raise ValueError("min_region_fraction must be in [0, 0.5)")
        if softness <= 0:
            raise ValueError("softness must be positive")
        self.working_size = working_size
        self.skin_rule = skin_rule or SkinRule()
        self.morphology_fraction = morphology_fraction
        self.min_region_fraction = min_region_fraction
        self.yellowness_weight = yellowness_weight
        self.softness = softness

    def predict(self, image: Image.Image) -> Prediction:
        if not isinstance(image, Image.Image):
            raise ValueError(f"image must be a PIL image, got {type(image).__name__}")
        image = ImageOps.exif_transpose(image).convert("RGB")
        full_size = image.size
        scale = min(1.0, self.working_size / max(full_size))
        if scale < 1.0:
            small = (max(1, round(full_size[0] * scale)), max(1, round(full_size[1] * scale)))
            image = image.resize(small, Image.Resampling.BILINEAR)
        probabilities = self._probabilities(np.asarray(image))
        if scale < 1.0:
            # Bilinear up-sampling of the probability map keeps mask == (p >= threshold) exact at
            # the photo's own size, with smooth rather than blocky outlines.
            resized = Image.fromarray(probabilities).resize(full_size, Image.Resampling.BILINEAR)
            probabilities = np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)
        return Prediction(
            probabilities=probabilities,
            mask=probabilities >= _THRESHOLD,
            threshold=_THRESHOLD,
        )

    def predict_batch(self, images: list[Image.Image]) -> list[Prediction]:
        return [self.predict(image) for image in images]

    def _probabilities(self, rgb: np.ndarray) -> np.ndarray:
        height, width = rgb.shape[:2]
        radius = round(self.morphology_fraction * np.sqrt(height * width))
        min_pixels = int(self.min_region_fraction * height * width)
        roi = skin_mask(rgb, rule=self.skin_rule)
        if radius > 0:
            roi = closing(roi, disk(radius))
        roi = ndimage.binary_fill_holes(roi)
        if np.count_nonzero(roi) <= max(min_pixels, 16):
            return np.zeros((height, width), dtype=np.float32)
        lab = rgb2lab(rgb)
        feature = (lab[..., 0] - self.yellowness_weight * lab[..., 2]).astype(np.float32)
        inside = feature[roi]
        if float(inside.max() - inside.min()) < 1e-3:  # uniform region: nothing to separate
            return np.zeros((height, width), dtype=np.float32)
        threshold = threshold_otsu(inside)
        mask = roi & (feature > threshold)
        if radius > 0:
            mask = opening(mask, disk(radius))
        if min_pixels > 0:
            mask = remove_small_objects(mask, max_size=min_pixels)
            mask = remove_small_holes(mask, max_size=min_pixels)
        score = 1.0 / (1.0 + np.exp(-(feature - threshold) / np.float32(self.softness)))
        score = np.where(roi, score, 0.0).astype(np.float32)
        return np.where(mask, np.maximum(score, _THRESHOLD), np.minimum(score, _BELOW)).astype(
            np.float32
        )
