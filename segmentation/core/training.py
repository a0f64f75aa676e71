"""One training run: data, model, loop, early stopping and the best checkpoint.

:class:`TrainConfig` holds every knob as plain values (it is stored verbatim in the checkpoint
header); :func:`train` wires the collaborators together and hands them to the engine's loops.
"""

from __future__ import annotations

import dataclasses
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from .checkpoint import (
    init_from_checkpoint,
    load_checkpoint,
    make_header,
    model_from_checkpoint,
    save_checkpoint,
)
from .data import SegmentationFolder, data_fingerprint
from .engine import (
    build_optimizer,
    build_scheduler,
    evaluate,
    set_backbone_trainable,
    train_one_epoch,
)
from .losses import SegmentationLoss
from .models import build_model, input_multiple, model_normalization, output_convention
from .transforms import SegmentationPresetEval, SegmentationPresetTrain

__all__ = ["KEEP_CHOICES", "TrainConfig", "TrainResult", "get_transform", "resolve_device", "train"]

KEEP_CHOICES = ("best", "final")
TRAIN_THRESHOLDS = tuple(round(0.3 + 0.05 * i, 2) for i in range(9))

logger = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """Everything a run depends on except the data. Defaults follow the paper where it says."""

    arch: str = "deeplabv3"
    backbone: str = "resnet101"
    num_classes: int = 2
    epochs: int = 20
    batch_size: int = 8
    optimizer: str = "adamw"
    lr: float = 1e-3
    weight_decay: float = 1e-4
    momentum: float = 0.9
    schedule: str = "poly"
    warmup_epochs: float = 1.0
    loss: str = "ce+dice"
    aux_loss: bool = False
    pretrained: str | None = None
    weights_file: str | None = None
    init_from: str | None = None
    freeze_backbone_epochs: int = 0
    backbone_lr_mult: float = 1.0
    resize_size: int = 312
    crop_size: int = 256
    hflip_prob: float = 0.5
    vflip_prob: float = 0.5
    brightness_prob: float = 0.5
    rotation_degrees: float = 0.0
    colour_jitter: float = 0.0
    scale_range: tuple[float, float] | None = None
    patience: int | None = None
    bn_momentum: float | None = 0.1
    threshold: float = 0.5
    #: "best": keep the epoch with the best validation micro F1 (picked on the validation photos,
    #: so its score is optimistic); "final": keep the last epoch, the honest choice for scoring.
    keep: str = "best"
    #: Average the predictions of the image and its two flips at validation and inference.
    flip_tta: bool = False
    #: After training, pick the threshold with the best micro F1 on the *training* images
    #: (between 0.3 and 0.7), never on the validation images that are scored.
    threshold_from_train: bool = False
    #: Validate every N epochs (and always after the last); 1 = every epoch.
    eval_every: int = 1
    seed: int = 0
    workers: int = 0
    device: str | None = None
    amp: bool | None = None
    channels_last: bool | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch_size must be >= 1")
        if self.crop_size > self.resize_size and self.scale_range is None:
            raise ValueError(f"crop_size {self.crop_size} > resize_size {self.resize_size}")
        if not 0 <= self.freeze_backbone_epochs <= self.epochs:
            raise ValueError("freeze_backbone_epochs must lie in [0, epochs]")
        if self.eval_every < 1:
            raise ValueError("eval_every must be >= 1")
        if self.keep not in KEEP_CHOICES:
            raise ValueError(f"keep must be one of {KEEP_CHOICES}, got {self.keep!r}")
        multiple = input_multiple(self.arch, self.backbone)
        if self.crop_size % multiple or self.resize_size % multiple:
            raise ValueError(
                f"{self.arch}-{self.backbone} needs image sides that are multiples of {multiple}; "
                f"got crop {self.crop_size}, resize {self.resize_size}"
            )


@dataclass
class TrainResult:
    checkpoint: Path
    metrics: dict
    best_epoch: int
    history: list[dict] = field(default_factory=list)


def resolve_device(name: str | None) -> torch.device:
    if name is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def get_transform(config: TrainConfig, *, train: bool):
    """The preset for training (the paper's recipe plus the configured extras) or evaluation,
    normalised the way the backbone's pretrained weights expect."""
    mean, std = model_normalization(config.arch, config.backbone)
    if not train:
        return SegmentationPresetEval(resize_size=config.resize_size, mean=mean, std=std)
    return SegmentationPresetTrain(
        mean=mean,
        std=std,
        resize_size=config.resize_size,
        crop_size=config.crop_size,
        hflip_prob=config.hflip_prob,
        vflip_prob=config.vflip_prob,
        brightness_prob=config.brightness_prob,
        rotation_degrees=config.rotation_degrees,
        colour_jitter=config.colour_jitter,
        scale_range=config.scale_range,
    )


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


def train(
    config: TrainConfig,
    *,
    data_root: Path | str,
    train_names: Sequence[str],
    val_names: Sequence[str] = (),
    output: Path | str,
) -> TrainResult:
    """Train on ``train_names``, validate on ``val_names`` each epoch, keep the best checkpoint.

    With no validation images the last epoch is kept. Early stopping (``patience``) watches the
    micro F1 on the validation images at ``config.threshold``.
    """
    if set(train_names) & set(val_names):
        raise ValueError("train and validation images overlap")
    device = resolve_device(config.device)
    on_cuda = device.type == "cuda"
    amp = on_cuda if config.amp is None else (config.amp and on_cuda)
    channels_last = on_cuda if config.channels_last is None else (config.channels_last and on_cuda)
    generator = _seed_everything(config.seed)

    train_set = SegmentationFolder(
        data_root, names=train_names, transforms=get_transform(config, train=True)
    )
    loader_args = {
        "num_workers": config.workers,
        "pin_memory": on_cuda,
        "worker_init_fn": _seed_worker,
        "persistent_workers": config.workers > 0,
    }
    train_loader = torch.utils.data.DataLoader(
        train_set,
        batch_size=config.batch_size,
        shuffle=True,
        drop_last=len(train_set) > config.batch_size,
        generator=generator,
        **loader_args,
    )
    val_loader = None
    if val_names:
        val_set = SegmentationFolder(
            data_root, names=val_names, transforms=get_transform(config, train=False)
        )
        val_loader = torch.utils.data.DataLoader(
            val_set, batch_size=config.batch_size, **loader_args
        )

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

    header_args = {
        "arch": config.arch,
        "backbone": config.backbone,
        "num_classes": config.num_classes,
        "resize_size": config.resize_size,
        "crop_size": config.crop_size,
        "mean": model_normalization(config.arch, config.backbone)[0],
        "std": model_normalization(config.arch, config.backbone)[1],
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
        },
    }
    output = Path(output)
    best_f1, best_epoch, stale, history = -1.0, 0, 0, []
    best_metrics: dict = {}
    for epoch in range(1, config.epochs + 1):
        set_backbone_trainable(model, epoch > config.freeze_backbone_epochs)
        bar = tqdm(
            train_loader,
            desc=f"{config.arch}-{config.backbone} epoch {epoch}/{config.epochs}",
            disable=not config.progress,
            leave=False,
        )
        loss = train_one_epoch(
            model,
            criterion,
            optimizer,
            bar,
            scheduler,
            device,
            scaler=scaler,
            channels_last=channels_last,
        )
        record: dict = {"epoch": epoch, "loss": loss}
        validate = val_loader is not None and (
            epoch % config.eval_every == 0 or epoch == config.epochs
        )
        if validate:
            meter = evaluate(
                model,
                val_loader,
                device,
                amp=amp,
                channels_last=channels_last,
                flip_tta=config.flip_tta,
            )
            summary = meter.summary(config.threshold)
            record["val"] = summary
            f1 = summary["micro"]["f1"]
            bar.set_postfix(loss=f"{loss:.4f}", val_f1=f"{f1:.4f}")
        elif val_loader is None:
            f1 = float(epoch)  # no validation: the latest epoch is the best one
        bar.close()
        history.append(record)
        logger.info("epoch %d/%d loss %.4f val %s", epoch, config.epochs, loss, record.get("val"))
        final = epoch == config.epochs
        if val_loader is not None and not validate:
            continue  # "best" and early stopping only look at validated epochs
        if f1 > best_f1 or (config.keep == "final" and final):
            best_f1, best_epoch, stale = max(f1, best_f1), epoch, 0
            if config.keep == "best" or final:
                best_metrics = {"epoch": epoch, "train_loss": loss, "kept": config.keep}
                if "val" in record:
                    best_metrics["val"] = record["val"]
                save_checkpoint(
                    output, model=model, header=make_header(metrics=best_metrics, **header_args)
                )
        else:
            stale += 1
            if config.patience is not None and stale >= config.patience:
                logger.info("early stop after epoch %d (best %d)", epoch, best_epoch)
                if config.keep == "final":
                    best_metrics = {"epoch": epoch, "train_loss": loss, "kept": "final"}
                    best_metrics.update({"val": record["val"]} if "val" in record else {})
                    best_epoch = epoch
                    save_checkpoint(
                        output,
                        model=model,
                        header=make_header(metrics=best_metrics, **header_args),
                    )
                break
    if config.threshold_from_train:
        _choose_threshold_on_train(config, data_root, train_names, output, device, channels_last)
        best_metrics = load_checkpoint(output)[0]["metrics"]
    return TrainResult(
        checkpoint=output, metrics=best_metrics, best_epoch=best_epoch, history=history
    )


def _choose_threshold_on_train(
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
