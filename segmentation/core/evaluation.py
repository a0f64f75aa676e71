"""Scoring any :class:`~segmentation.segmenter.Segmenter` against a data folder.

Predictions are compared with the masks at the masks' own resolution, so trained models and the
colour baseline are measured the same way whatever their internal input size.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

from segmentation.segmenter import Segmenter

from .data import SegmentationFolder
from .metrics import SegmentationMeter

__all__ = ["evaluate_segmenter", "time_inference"]


def evaluate_segmenter(
    segmenter: Segmenter,
    dataset: SegmentationFolder,
    *,
    bins: int = 100,
    batch_size: int = 8,
    progress: bool = False,
) -> SegmentationMeter:
    """A meter filled with the segmenter's probabilities on every image of ``dataset``."""
    meter = SegmentationMeter(bins=bins, device="cpu")
    indices = range(len(dataset))
    for start in tqdm(range(0, len(dataset), batch_size), disable=not progress, desc="evaluate"):
        pairs = [dataset.load(i) for i in indices[start : start + batch_size]]
        predictions = segmenter.predict_batch([image for image, _ in pairs])
        for prediction, (_, mask) in zip(predictions, pairs, strict=True):
            target = torch.from_numpy(np.asarray(mask, dtype=np.uint8) > 127).long()
            probabilities = torch.from_numpy(np.ascontiguousarray(prediction.probabilities))
            if probabilities.shape != target.shape:
                raise ValueError(
                    f"prediction {tuple(probabilities.shape)} vs mask {tuple(target.shape)}"
                )
            meter.update(probabilities[None], target[None])
    return meter


def time_inference(
    segmenter: Segmenter, images: Sequence[Image.Image], *, warmup: int = 2
) -> float:
    """Median wall-clock milliseconds of ``predict`` on one image (batch of one, after warm-up)."""
    if not images:
        raise ValueError("need at least one image")
    for image in list(images)[:warmup]:
        segmenter.predict(image)
    timings = []
    for image in images:
        start = time.perf_counter()
        segmenter.predict(image)
        timings.append((time.perf_counter() - start) * 1000.0)
    return float(np.median(timings))
