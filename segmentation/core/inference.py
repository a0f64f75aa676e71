"""Lesion probabilities from a network's logits: what prediction needs and nothing of training,
so that the worker's predictor loads no optimiser, loop or loss."""

from __future__ import annotations

import torch
from torch import nn

from .models import model_logits

__all__ = ["lesion_probabilities", "predict_probabilities"]


def lesion_probabilities(logits: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) logits to the (N, H, W) probability of the lesion: class 1 of a softmax, or
    the sigmoid of a single-channel (binary) head."""
    if logits.shape[1] == 1:
        return logits.float().sigmoid()[:, 0]
    return logits.float().softmax(dim=1)[:, 1]


def predict_probabilities(model: nn.Module, image: torch.Tensor, *, flip_tta: bool = False):
    """Lesion probabilities of a batch; with ``flip_tta`` averaged over the image and its
    horizontal and vertical flips (each prediction flipped back first)."""
    probabilities = lesion_probabilities(model_logits(model(image)))
    if not flip_tta:
        return probabilities
    total = probabilities.clone()
    for dims in ((3,), (2,)):
        flipped = lesion_probabilities(model_logits(model(image.flip(dims))))
        total += flipped.flip(tuple(d - 1 for d in dims))
    return total / 3
