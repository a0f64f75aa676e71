"""The decision threshold of a trained model, chosen on its own training photos.

Choosing it on the photos being scored would flatter the score; the training photos are the
only ones the recipe may look at.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import torch

from .checkpoint import model_from_checkpoint, save_checkpoint
from .config import TrainConfig, get_transform
from .data import SegmentationFolder
from .engine import evaluate

__all__ = ["TRAIN_THRESHOLDS", "choose_threshold_on_train"]

logger = logging.getLogger(__name__)

TRAIN_THRESHOLDS = tuple(round(0.3 + 0.05 * i, 2) for i in range(9))


def choose_threshold_on_train(
    config: TrainConfig,
    data_root: Path | str,
    train_names: Sequence[str],
    output: Path,
    device: torch.device,
    channels_last: bool,
) -> None:
    """Re-score the kept checkpoint on its own training images (evaluation preset, no
    augmentation) and store the threshold with the best micro F1; the validation score at that
    threshold is recorded as well, but never looked at to choose."""
    model, header = model_from_checkpoint(output)
    model.to(device)
    loader = torch.utils.data.DataLoader(
        SegmentationFolder(
            data_root, names=train_names, transforms=get_transform(config, train=False)
        ),
        batch_size=config.batch_size,
    )
    meter = evaluate(model, loader, device, channels_last=channels_last, flip_tta=config.flip_tta)
    sweep = meter.sweep(TRAIN_THRESHOLDS)
    chosen = max(sweep, key=lambda row: row["micro"]["f1"])["threshold"]
    header["threshold"] = chosen
    header["metrics"]["threshold_choice"] = {
        "on": "training images",
        "threshold": chosen,
        "train_micro_f1": {str(row["threshold"]): row["micro"]["f1"] for row in sweep},
    }
    if header["data"].get("val_names"):
        val_loader = torch.utils.data.DataLoader(
            SegmentationFolder(
                data_root,
                names=header["data"]["val_names"],
                transforms=get_transform(config, train=False),
            ),
            batch_size=config.batch_size,
        )
        val_meter = evaluate(
            model, val_loader, device, channels_last=channels_last, flip_tta=config.flip_tta
        )
        header["metrics"]["val_at_chosen_threshold"] = val_meter.summary(chosen)
    logger.info("threshold %.2f chosen on the training images", chosen)
    save_checkpoint(output, model=model, header=header)
