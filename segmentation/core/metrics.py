"""Pixel metrics for binary lesion masks, in two steps (as segmentation_models_pytorch does):

1. counts: true/false positives/negatives per image (:class:`Counts`), filled on the device with
   a single ``torch.bincount`` per batch;
2. reductions: ``micro`` (counts summed over the set, then the ratio) and ``per_image`` (the ratio
   per image, then the mean).

:class:`SegmentationMeter` keeps, per image, a histogram of lesion probabilities split by the true
class: the confusion matrix at every threshold ``k / bins`` at once, which gives the threshold sweep
without a second pass over the data.

Undefined ratios (zero denominator) are 1.0 when the image has no lesion and none was predicted
(perfect agreement on an empty mask) and 0.0 otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

__all__ = [
    "METRIC_NAMES",
    "Counts",
    "SegmentationMeter",
    "confusion_counts",
    "metric_values",
    "reduce_micro",
    "reduce_per_image",
]

METRIC_NAMES = ("precision", "recall", "f1", "iou", "accuracy")


@dataclass(frozen=True)
class Counts:
    """Pixel counts, each an int64 tensor of shape (N,) for N images (or () once summed)."""

    tp: torch.Tensor
    fp: torch.Tensor
    fn: torch.Tensor
    tn: torch.Tensor

    def sum(self) -> Counts:
        return Counts(self.tp.sum(), self.fp.sum(), self.fn.sum(), self.tn.sum())


def confusion_counts(prediction: torch.Tensor, target: torch.Tensor) -> Counts:
    """Per-image counts of a hard prediction (N, H, W) of 0/1 against a target (N, H, W) of 0/1."""
    if prediction.shape != target.shape or prediction.ndim != 3:
        raise ValueError(f"need two (N, H, W) tensors, got {prediction.shape} and {target.shape}")
    n = prediction.shape[0]
    image_index = torch.arange(n, device=prediction.device).view(n, 1, 1)
    index = image_index * 4 + target.long() * 2 + prediction.long()
    matrix = torch.bincount(index.flatten(), minlength=4 * n).view(n, 2, 2)
    return Counts(tp=matrix[:, 1, 1], fp=matrix[:, 0, 1], fn=matrix[:, 1, 0], tn=matrix[:, 0, 0])


def _ratio(
    numerator: torch.Tensor, denominator: torch.Tensor, errors: torch.Tensor
) -> torch.Tensor:
    numerator, denominator = numerator.double(), denominator.double()
    fallback = (errors == 0).double()
    safe = torch.where(denominator > 0, denominator, torch.ones_like(denominator))
    return torch.where(denominator > 0, numerator / safe, fallback)


def metric_values(counts: Counts) -> dict[str, torch.Tensor]:
    """Precision, recall, F1 (= Dice), IoU and accuracy, element-wise over the counts."""
    tp, fp, fn, tn = counts.tp, counts.fp, counts.fn, counts.tn
    errors = fp + fn
    return {
        "precision": _ratio(tp, tp + fp, errors),
        "recall": _ratio(tp, tp + fn, errors),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn, errors),
        "iou": _ratio(tp, tp + fp + fn, errors),
        "accuracy": _ratio(tp + tn, tp + fp + fn + tn, errors),
    }


def reduce_micro(counts: Counts) -> dict[str, float]:
    """Sum the counts over all images, then compute each metric once."""
    return {name: float(value) for name, value in metric_values(counts.sum()).items()}


def reduce_per_image(counts: Counts) -> dict[str, float]:
    """Compute each metric per image, then average over images."""
    if counts.tp.numel() == 0:
        raise ValueError("no images to average over")
    return {name: float(value.mean()) for name, value in metric_values(counts).items()}


class SegmentationMeter:
    """Accumulates per-image lesion-probability histograms by true class, on the device."""

    def __init__(self, *, bins: int = 100, device: torch.device | str | None = None) -> None:
        if bins < 2:
            raise ValueError(f"bins must be >= 2, got {bins}")
        self.bins = bins
        self.device = torch.device(device) if device is not None else None
        self._histograms: list[torch.Tensor] = []

    def update(self, probabilities: torch.Tensor, target: torch.Tensor) -> None:
        """Lesion probabilities (N, H, W) in [0, 1] against a target (N, H, W) of 0/1."""
        if probabilities.shape != target.shape or probabilities.ndim != 3:
            raise ValueError(f"need (N, H, W) tensors, got {probabilities.shape}, {target.shape}")
        device = self.device or probabilities.device
        probabilities = probabilities.detach().to(device, torch.float32)
        target = target.to(device).long()
        n = probabilities.shape[0]
        level = (probabilities * self.bins).long().clamp_(0, self.bins - 1)
        image_index = torch.arange(n, device=device).view(n, 1, 1)
        index = (image_index * 2 + target) * self.bins + level
        histogram = torch.bincount(index.flatten(), minlength=n * 2 * self.bins)
        if histogram.numel() != n * 2 * self.bins:
            raise ValueError("target must hold only 0 and 1")
        self._histograms.append(histogram.view(n, 2, self.bins))

    @property
    def num_images(self) -> int:
        return sum(h.shape[0] for h in self._histograms)

    def _level(self, threshold: float) -> int:
        level = round(threshold * self.bins)
        if not 0.0 <= threshold <= 1.0 or abs(level - threshold * self.bins) > 1e-6:
            raise ValueError(
                f"threshold must be a multiple of 1/{self.bins} in [0, 1], got {threshold}"
            )
        return level

    def counts(self, threshold: float = 0.5) -> Counts:
        """Per-image counts for the prediction ``probability >= threshold``."""
        if not self._histograms:
            raise ValueError("no data: call update() first")
        level = self._level(threshold)
        histogram = torch.cat(self._histograms)
        negatives, positives = histogram[:, 0], histogram[:, 1]
        return Counts(
            tp=positives[:, level:].sum(dim=1),
            fp=negatives[:, level:].sum(dim=1),
            fn=positives[:, :level].sum(dim=1),
            tn=negatives[:, :level].sum(dim=1),
        )

    def summary(self, threshold: float = 0.5) -> dict:
        """Plain-typed metrics: ``{"threshold", "images", "micro": {...}, "per_image": {...}}``."""
        counts = self.counts(threshold)
        return {
            "threshold": threshold,
            "images": self.num_images,
            "micro": reduce_micro(counts),
            "per_image": reduce_per_image(counts),
        }

    def per_image(self, threshold: float = 0.5) -> list[dict[str, float]]:
        """One row per image, in update order: every metric plus the true and predicted lesion
        shares, to find the photos a model fails on (a set's mean hides them)."""
        counts = self.counts(threshold)
        values = metric_values(counts)
        pixels = (counts.tp + counts.fp + counts.fn + counts.tn).double()
        shares = {
            "lesion_share": (counts.tp + counts.fn).double() / pixels,
            "predicted_share": (counts.tp + counts.fp).double() / pixels,
        }
        columns = {**values, **shares}
        return [
            {name: float(column[i]) for name, column in columns.items()}
            for i in range(self.num_images)
        ]

    def sweep(self, thresholds: Sequence[float] | None = None) -> list[dict]:
        """:meth:`summary` at each threshold (default 0.05, 0.10, ..., 0.95)."""
        if thresholds is None:
            thresholds = [round(0.05 * i, 2) for i in range(1, 20)]
        return [self.summary(t) for t in thresholds]
