"""The contract between segmenters and their callers.

Both the trained-model predictor (``segmentation.core.predictor``) and the training-free colour
baseline (``segmentation.severity.baseline``) return a :class:`Prediction`, so the Django pipeline
can use either without knowing which one it holds. No torch and no Django imports here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class Prediction:
    """A lesion segmentation at the input image's own size (after EXIF orientation).

    ``probabilities`` is float32 in [0, 1] of shape (H, W); ``mask`` is bool of shape (H, W),
    ``probabilities >= threshold``.
    """

    probabilities: np.ndarray
    mask: np.ndarray
    threshold: float


@runtime_checkable
class Segmenter(Protocol):
    """Anything that turns photos into lesion masks."""

    #: Stable label stored with every analysis, e.g. ``"baseline:colour-threshold-v1"``.
    version_label: str

    def predict(self, image: Image.Image) -> Prediction: ...

    def predict_batch(self, images: list[Image.Image]) -> list[Prediction]: ...
