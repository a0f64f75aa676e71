"""The Dice losses: pooled over the batch, a missed small lesion barely counts; per image, it
counts as much as a found large one."""

import pytest
import torch

from segmentation.core.losses import SegmentationLoss, soft_dice_loss


def _confident_logits(predicted: torch.Tensor) -> torch.Tensor:
    """Two-class logits that put (almost) all probability on ``predicted``."""
    return torch.stack([(predicted == 0).float(), (predicted == 1).float()], dim=1) * 20.0


def test_a_missed_small_lesion_weighs_as_much_as_a_found_large_one_only_per_image():
    target = torch.zeros(2, 32, 32, dtype=torch.long)
    target[0, :, :16] = 1  # a large lesion, found
    target[1, 0:2, 0:2] = 1  # a small lesion (4 pixels), missed
    predicted = target.clone()
    predicted[1] = 0
    logits = _confident_logits(predicted)

    pooled = soft_dice_loss(logits, target).item()
    per_image = soft_dice_loss(logits, target, per_image=True).item()

    assert pooled < 0.01  # 4 missed pixels of 516
    assert per_image == pytest.approx(0.5 * (1 - 1 / 5), abs=1e-3)  # (0 + (1 - eps/(4+eps))) / 2


def test_both_agree_on_one_photo_and_the_combined_loss_adds_cross_entropy():
    target = torch.zeros(1, 16, 16, dtype=torch.long)
    target[0, 4:12, 4:12] = 1
    logits = torch.randn(1, 2, 16, 16)

    pooled = soft_dice_loss(logits, target)
    assert soft_dice_loss(logits, target, per_image=True).item() == pytest.approx(pooled.item())
    combined = SegmentationLoss("ce+image-dice")(logits, target)
    ce = torch.nn.functional.cross_entropy(logits, target)
    assert combined.item() == pytest.approx((ce + pooled).item(), rel=1e-5)


def test_an_unknown_loss_is_refused_with_the_valid_names():
    with pytest.raises(ValueError, match="ce\\+image-dice"):
        SegmentationLoss("focal")
