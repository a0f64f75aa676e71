"""Metrics against hand-computed cases."""

from __future__ import annotations

import pytest
import torch

from segmentation.core.metrics import (
    SegmentationMeter,
    confusion_counts,
    reduce_micro,
    reduce_per_image,
)

# Two 2x4 images. Image 0: tp=2, fp=1, fn=1, tn=4. Image 1: tp=1, fp=0, fn=3, tn=4.
TARGET = torch.tensor(
    [
        [[1, 1, 1, 0], [0, 0, 0, 0]],
        [[1, 1, 1, 1], [0, 0, 0, 0]],
    ]
)
PREDICTION = torch.tensor(
    [
        [[1, 1, 0, 1], [0, 0, 0, 0]],
        [[1, 0, 0, 0], [0, 0, 0, 0]],
    ]
)


def test_confusion_counts_per_image():
    counts = confusion_counts(PREDICTION, TARGET)
    assert counts.tp.tolist() == [2, 1]
    assert counts.fp.tolist() == [1, 0]
    assert counts.fn.tolist() == [1, 3]
    assert counts.tn.tolist() == [4, 4]


def test_micro_reduction_by_hand():
    # Summed: tp=3, fp=1, fn=4, tn=8.
    micro = reduce_micro(confusion_counts(PREDICTION, TARGET))
    assert micro["precision"] == pytest.approx(3 / 4)
    assert micro["recall"] == pytest.approx(3 / 7)
    assert micro["f1"] == pytest.approx(6 / 11)
    assert micro["iou"] == pytest.approx(3 / 8)
    assert micro["accuracy"] == pytest.approx(11 / 16)


def test_per_image_reduction_by_hand():
    per_image = reduce_per_image(confusion_counts(PREDICTION, TARGET))
    assert per_image["precision"] == pytest.approx((2 / 3 + 1) / 2)
    assert per_image["recall"] == pytest.approx((2 / 3 + 1 / 4) / 2)
    assert per_image["f1"] == pytest.approx((4 / 6 + 2 / 5) / 2)
    assert per_image["iou"] == pytest.approx((2 / 4 + 1 / 4) / 2)
    assert per_image["accuracy"] == pytest.approx((6 / 8 + 5 / 8) / 2)


def test_empty_prediction_on_empty_mask_is_perfect_and_missed_lesion_scores_zero():
    empty = torch.zeros(1, 2, 2, dtype=torch.int64)
    assert reduce_per_image(confusion_counts(empty, empty))["f1"] == 1.0
    lesion = torch.ones(1, 2, 2, dtype=torch.int64)
    scores = reduce_per_image(confusion_counts(empty, lesion))
    assert scores["f1"] == 0.0 and scores["precision"] == 0.0 and scores["recall"] == 0.0


def test_meter_matches_hard_counts_at_every_threshold():
    generator = torch.Generator().manual_seed(0)
    probabilities = torch.rand(3, 8, 8, generator=generator)
    target = (torch.rand(3, 8, 8, generator=generator) > 0.6).long()
    meter = SegmentationMeter(bins=20)
    meter.update(probabilities[:2], target[:2])
    meter.update(probabilities[2:], target[2:])
    assert meter.num_images == 3
    for threshold in (0.0, 0.25, 0.5, 0.95):
        expected = confusion_counts((probabilities >= threshold).long(), target)
        got = meter.counts(threshold)
        for field in ("tp", "fp", "fn", "tn"):
            assert torch.equal(getattr(got, field), getattr(expected, field)), (threshold, field)


def test_sweep_recall_falls_as_threshold_rises():
    generator = torch.Generator().manual_seed(1)
    meter = SegmentationMeter()
    meter.update(torch.rand(2, 16, 16, generator=generator), (torch.rand(2, 16, 16) > 0.5).long())
    recalls = [s["micro"]["recall"] for s in meter.sweep()]
    assert recalls == sorted(recalls, reverse=True)
    assert len(recalls) == 19


def test_summary_is_plain_and_hand_checked():
    meter = SegmentationMeter(bins=10)
    meter.update(PREDICTION.float() * 0.9, TARGET)
    summary = meter.summary(0.5)
    assert summary["images"] == 2 and summary["threshold"] == 0.5
    assert summary["micro"]["f1"] == pytest.approx(6 / 11)
    assert isinstance(summary["per_image"]["iou"], float)


def test_per_image_rows_by_hand():
    meter = SegmentationMeter(bins=10)
    meter.update(PREDICTION.float() * 0.9, TARGET)
    first, second = meter.per_image(0.5)
    assert first["f1"] == pytest.approx(4 / 6) and second["f1"] == pytest.approx(2 / 5)
    assert first["iou"] == pytest.approx(2 / 4) and second["recall"] == pytest.approx(1 / 4)
    # Image 0: 3 of 8 pixels are lesion, 3 predicted; image 1: 4 lesion, 1 predicted.
    assert (first["lesion_share"], first["predicted_share"]) == (3 / 8, 3 / 8)
    assert (second["lesion_share"], second["predicted_share"]) == (4 / 8, 1 / 8)


@pytest.mark.parametrize("threshold", [0.123, -0.1, 1.5])
def test_meter_rejects_thresholds_off_its_grid(threshold):
    meter = SegmentationMeter(bins=10)
    meter.update(torch.rand(1, 2, 2), torch.zeros(1, 2, 2, dtype=torch.int64))
    with pytest.raises(ValueError):
        meter.counts(threshold)


def test_meter_rejects_non_binary_target():
    with pytest.raises(ValueError, match="0 and 1"):
        SegmentationMeter(bins=10).update(torch.rand(1, 2, 2), torch.full((1, 2, 2), 255))
