"""One training run, split the way torchvision's reference recipe splits it: data loaders, the
model and its optimiser, then per epoch one training pass, an evaluation and a save step.

:func:`train` wires the collaborators together; the loops live in ``engine.py``.
"""

from __future__ import annotations

import dataclasses
import logging
import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from .checkpoint import (
    init_from_checkpoint,
    load_checkpoint,
    make_header,
    save_checkpoint,
)
from .config import TrainConfig, TrainResult, get_transform
from .data import SegmentationFolder, data_fingerprint
from .device import resolve_device
from .engine import (
    build_optimizer,
    build_scheduler,
    evaluate,
    set_backbone_trainable,
    train_one_epoch,
)
from .losses import SegmentationLoss
from .models import build_model, model_normalization, output_convention
from .thresholds import choose_threshold_on_train

__all__ = ["train"]

logger = logging.getLogger(__name__)


def record_postfix(record: dict) -> dict[str, str]:
    """What the epoch bar shows after an epoch: its loss, and its validation F1 when scored."""
    postfix = {"loss": f"{record['loss']:.4f}"}
    if "val" in record:
        postfix["val_f1"] = f"{record['val']['micro']['f1']:.4f}"
    return postfix


def _seed_everything(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def _seed_worker(worker_id: int) -> None:
    # torch seeds each worker from the loader's generator; numpy and random follow it.
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


def _set_bn_momentum(model: torch.nn.Module, momentum: float) -> None:
    # torchvision's MobileNetV3 uses momentum 0.01: its running statistics need thousands of steps
    # to forget their (0, 1) start, so a model trained from scratch on ~100 images predicts well
    # in train mode and nothing at all in eval mode. 0.1 (PyTorch's default) tracks within tens.
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.momentum = momentum


def _loaders(config, data_root, train_names, val_names, generator, on_cuda):
    loader_args = {
        "num_workers": config.workers,
        "pin_memory": on_cuda,
        "worker_init_fn": _seed_worker,
        "persistent_workers": config.workers > 0,
    }
    train_set = SegmentationFolder(
        data_root, names=train_names, transforms=get_transform(config, train=True)
    )
    train_loader = torch.utils.data.DataLoader(
        train_set,
        batch_size=config.batch_size,
        shuffle=True,
        drop_last=len(train_set) > config.batch_size,
        generator=generator,
        **loader_args,
    )
    if not val_names:
        return train_loader, None
    val_set = SegmentationFolder(
        data_root, names=val_names, transforms=get_transform(config, train=False)
    )
    return train_loader, torch.utils.data.DataLoader(
        val_set, batch_size=config.batch_size, **loader_args
    )


def _model(config: TrainConfig, device: torch.device, channels_last: bool) -> torch.nn.Module:
    model = build_model(
        config.arch,
        config.backbone,
        num_classes=config.num_classes,
        pretrained=config.pretrained,
        weights_file=config.weights_file,
        aux_loss=config.aux_loss,
    )
    if config.init_from:
        init_from_checkpoint(model, config.init_from, arch=config.arch, backbone=config.backbone)
    if config.bn_momentum is not None:
        _set_bn_momentum(model, config.bn_momentum)
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    return model


def _header_args(config: TrainConfig, data_root, train_names, val_names, sources) -> dict:
    mean, std = model_normalization(config.arch, config.backbone)
    return {
        "arch": config.arch,
        "backbone": config.backbone,
        "num_classes": config.num_classes,
        "resize_size": config.resize_size,
        "crop_size": config.crop_size,
        "mean": mean,
        "std": std,
        "threshold": config.threshold,
        "output_convention": output_convention(config.arch, config.backbone),
        "flip_tta": config.flip_tta,
        "training_args": dataclasses.asdict(config),
        "data": {
            "root": str(data_root),
            "train_images": len(train_names),
            "val_images": len(val_names),
            "train_fingerprint": data_fingerprint(data_root, train_names),
            "val_fingerprint": data_fingerprint(data_root, val_names) if val_names else None,
            "val_names": sorted(val_names),
            # A union of folders (segmentation.core.union): ``root`` is a temporary folder.
            **({"sources": list(sources)} if sources else {}),
        },
    }


class _Keeper:
    """The save step: which epoch's weights end up in ``output`` (``config.keep``), and early
    stopping. "best" and patience only look at validated epochs."""

    def __init__(self, config: TrainConfig, output: Path, header_args: dict, validating: bool):
        self.config, self.output, self.header_args = config, output, header_args
        self.validating = validating
        self.best_f1, self.best_epoch, self.stale = -1.0, 0, 0
        self.metrics: dict = {}

    def save(self, model: torch.nn.Module, epoch: int, record: dict) -> None:
        self.best_epoch = epoch
        self.metrics = {"epoch": epoch, "train_loss": record["loss"], "kept": self.config.keep}
        if "val" in record:
            self.metrics["val"] = record["val"]
        header = make_header(metrics=self.metrics, **self.header_args)
        save_checkpoint(self.output, model=model, header=header)

    def step(self, model: torch.nn.Module, epoch: int, record: dict) -> bool:
        """Save what must be saved after ``epoch``; True when training should stop early."""
        final = epoch == self.config.epochs
        if self.validating and "val" not in record:
            return False
        # Without validation photos the latest epoch counts as the best one.
        f1 = record["val"]["micro"]["f1"] if "val" in record else float(epoch)
        improved = f1 > self.best_f1
        if improved:
            self.best_f1, self.stale = f1, 0
        else:
            self.stale += 1
        if (self.config.keep == "best" and improved) or (self.config.keep == "final" and final):
            self.save(model, epoch, record)
        stop = self.config.patience is not None and self.stale >= self.config.patience
        if stop:
            logger.info("early stop after epoch %d (best %d)", epoch, self.best_epoch)
            if self.config.keep == "final":
                self.save(model, epoch, record)
        return stop


def train(
    config: TrainConfig,
    *,
    data_root: Path | str,
    train_names: Sequence[str],
    val_names: Sequence[str] = (),
    output: Path | str,
    data_sources: Sequence[dict] = (),
) -> TrainResult:
    """Train on ``train_names``, validate on ``val_names``, keep one epoch's checkpoint.

    ``config.keep`` says which: the best validated epoch (micro F1 at ``config.threshold``, an
    optimistic pick) or the final one. Early stopping (``patience``) watches the same score.
    ``data_sources`` (the folders of a union, with their counts) go into the checkpoint's header.
    """
    if set(train_names) & set(val_names):
        raise ValueError("train and validation images overlap")
    device = resolve_device(config.device)
    on_cuda = device.type == "cuda"
    amp = on_cuda if config.amp is None else (config.amp and on_cuda)
    channels_last = on_cuda if config.channels_last is None else (config.channels_last and on_cuda)
    generator = _seed_everything(config.seed)
    train_loader, val_loader = _loaders(
        config, data_root, train_names, val_names, generator, on_cuda
    )
    model = _model(config, device, channels_last)
    criterion = SegmentationLoss(config.loss)
    optimizer = build_optimizer(
        model,
        name=config.optimizer,
        lr=config.lr,
        weight_decay=config.weight_decay,
        momentum=config.momentum,
        backbone_lr_mult=config.backbone_lr_mult,
    )
    iters = len(train_loader)
    scheduler = build_scheduler(
        optimizer,
        total_iters=config.epochs * iters,
        warmup_iters=min(round(config.warmup_epochs * iters), config.epochs * iters - 1),
        kind=config.schedule,
    )
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    output = Path(output)
    keeper = _Keeper(
        config,
        output,
        _header_args(config, data_root, train_names, val_names, data_sources),
        validating=val_loader is not None,
    )
    history: list[dict] = []
    # One bar over the epochs (its rate and the time left are what a user waits on), and a
    # transient one over each epoch's batches.
    epochs = tqdm(
        range(1, config.epochs + 1),
        desc=f"{config.arch}-{config.backbone}",
        unit="epoch",
        disable=not config.progress,
    )
    for epoch in epochs:
        set_backbone_trainable(model, epoch > config.freeze_backbone_epochs)
        bar = tqdm(
            train_loader,
            desc=f"epoch {epoch}/{config.epochs}",
            disable=not config.progress,
            leave=False,
        )
        loss = train_one_epoch(
            model, criterion, optimizer, bar, scheduler, device,
            scaler=scaler, channels_last=channels_last,
        )  # fmt: skip
        record: dict = {"epoch": epoch, "loss": loss}
        if val_loader is not None and (epoch % config.eval_every == 0 or epoch == config.epochs):
            meter = evaluate(
                model, val_loader, device,
                amp=amp, channels_last=channels_last, flip_tta=config.flip_tta,
            )  # fmt: skip
            record["val"] = meter.summary(config.threshold)
        bar.close()
        epochs.set_postfix(record_postfix(record))
        history.append(record)
        logger.info("epoch %d/%d loss %.4f val %s", epoch, config.epochs, loss, record.get("val"))
        if keeper.step(model, epoch, record):
            break
    epochs.close()
    metrics = keeper.metrics
    if config.threshold_from_train:
        choose_threshold_on_train(config, data_root, train_names, output, device, channels_last)
        metrics = load_checkpoint(output)[0]["metrics"]
    return TrainResult(
        checkpoint=output, metrics=metrics, best_epoch=keeper.best_epoch, history=history
    )
