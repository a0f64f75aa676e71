"""Losses over torchvision-style outputs ``{"out": logits, "aux": logits?}`` or smp's logits.

Lesions are a small share of the pixels (median about 13 %), so plain cross-entropy favours the
background; the soft Dice term scores the lesion overlap directly. ``"ce+dice"`` sums both.
``"ce+image-dice"`` takes the Dice of each photo and averages them, so that a small lesion
weighs as much as a large one (the batch's pooled Dice barely notices a missed small lesion, and
neither does micro F1; per-image F1 does).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["LOSSES", "SegmentationLoss", "soft_dice_loss"]

LOSSES = ("ce", "dice", "ce+dice", "ce+image-dice")


def soft_dice_loss(
    logits: torch.Tensor, target: torch.Tensor, eps: float = 1.0, *, per_image: bool = False
) -> torch.Tensor:
    """1 - soft Dice of the foreground classes, with counts summed over the batch (micro), or
    per image and then averaged (``per_image``)."""
    probabilities = logits.float().softmax(dim=1)
    one_hot = F.one_hot(target, num_classes=logits.shape[1]).permute(0, 3, 1, 2).float()
    dims = (2, 3) if per_image else (0, 2, 3)
    intersection = (probabilities * one_hot).sum(dims)
    total = probabilities.sum(dims) + one_hot.sum(dims)
    dice = (2 * intersection + eps) / (total + eps)
    return 1.0 - dice[..., 1:].mean()


class SegmentationLoss:
    """``kind`` in :data:`LOSSES`; the auxiliary output, when present, weighs ``aux_weight``."""

    def __init__(self, kind: str = "ce", *, aux_weight: float = 0.5) -> None:
        if kind not in LOSSES:
            raise ValueError(f"unknown loss {kind!r}; valid: {', '.join(LOSSES)}")
        self.kind, self.aux_weight = kind, aux_weight
        self._terms = frozenset(kind.split("+"))

    def _single(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss = logits.new_zeros((), dtype=torch.float32)
        if "ce" in self._terms:
            loss = loss + F.cross_entropy(logits.float(), target)
        if "dice" in self._terms:
            loss = loss + soft_dice_loss(logits, target)
        if "image-dice" in self._terms:
            loss = loss + soft_dice_loss(logits, target, per_image=True)
        return loss

    def __call__(
        self, outputs: dict[str, torch.Tensor] | torch.Tensor, target: torch.Tensor
    ) -> torch.Tensor:
        if isinstance(outputs, torch.Tensor):  # smp models return the logits themselves
            return self._single(outputs, target)
        loss = self._single(outputs["out"], target)
        if "aux" in outputs:
            loss = loss + self.aux_weight * self._single(outputs["aux"], target)
        return loss
