"""Agreement of a lesion mask with a reference mask of the same photo (pixel counts, F1, IoU).

Numpy only: the web process scores a model's mask against a clinician's correction without
loading torch. Pixel counts are returned so that pooled (micro) F1 over many photos can be
summed rather than averaged (``pooled_agreement``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MaskAgreement:
    true_positive: int
    false_positive: int
    false_negative: int
    true_negative: int

    @property
    def f1(self) -> float:
        """Pixel F1 (Dice); 1.0 when neither mask has a lesion pixel (they agree)."""
        denominator = 2 * self.true_positive + self.false_positive + self.false_negative
        return 1.0 if denominator == 0 else 2 * self.true_positive / denominator

    @property
    def iou(self) -> float:
        denominator = self.true_positive + self.false_positive + self.false_negative
        return 1.0 if denominator == 0 else self.true_positive / denominator

    @property
    def pixels(self) -> int:
        return self.true_positive + self.false_positive + self.false_negative + self.true_negative

    @property
    def area_difference(self) -> float:
        """The mask's lesion share of the photo minus the reference's (signed, 0-1)."""
        if self.pixels == 0:
            return 0.0
        return (self.false_positive - self.false_negative) / self.pixels


def mask_agreement(mask: np.ndarray, reference: np.ndarray) -> MaskAgreement:
    """Pixel counts of ``mask`` against ``reference`` (2-D, same shape, truthy = lesion)."""
    if mask.shape != reference.shape or mask.ndim != 2:
        raise ValueError(
            f"masks must be 2-D and of one shape, not {mask.shape} and {reference.shape}"
        )
    predicted, truth = mask.astype(bool), reference.astype(bool)
    true_positive = int(np.count_nonzero(predicted & truth))
    false_positive = int(np.count_nonzero(predicted & ~truth))
    false_negative = int(np.count_nonzero(~predicted & truth))
    true_negative = predicted.size - true_positive - false_positive - false_negative
    return MaskAgreement(true_positive, false_positive, false_negative, true_negative)


def pooled_agreement(agreements: Iterable[MaskAgreement]) -> MaskAgreement:
    """The counts of many photos summed: its F1 and IoU are the micro (pooled-pixel) figures."""
    totals = [0, 0, 0, 0]
    for agreement in agreements:
        totals[0] += agreement.true_positive
        totals[1] += agreement.false_positive
        totals[2] += agreement.false_negative
        totals[3] += agreement.true_negative
    return MaskAgreement(*totals)
