"""Optimisers, schedules and the two loops, in the style of torchvision's references: each loop
gets every collaborator (model, criterion, optimiser, loader, scheduler, device) as an argument.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch
from torch import nn

from .config import OPTIMIZERS, SCHEDULES
from .inference import predict_probabilities
from .metrics import SegmentationMeter
from .models import model_encoder

__all__ = [
    "build_optimizer",
    "build_scheduler",
    "evaluate",
    "set_backbone_trainable",
    "train_one_epoch",
]


def set_backbone_trainable(model: nn.Module, trainable: bool) -> None:
    """Freeze or unfreeze the encoder (frozen parameters get no gradient, so no update)."""
    for parameter in model_encoder(model).parameters():
        parameter.requires_grad_(trainable)


def build_optimizer(
    model: nn.Module,
    *,
    name: str = "adamw",
    lr: float = 1e-3,
    weight_decay: float = 1e-4,
    momentum: float = 0.9,
    backbone_lr_mult: float = 1.0,
) -> torch.optim.Optimizer:
    """Two parameter groups: the backbone at ``lr * backbone_lr_mult`` (discriminative learning
    rates: pretrained features move less than the fresh head), everything else at ``lr``.
    """
    backbone_ids = {id(p) for p in model_encoder(model).parameters()}
    backbone = [p for p in model.parameters() if id(p) in backbone_ids]
    rest = [p for p in model.parameters() if id(p) not in backbone_ids]
    groups = [
        {"params": backbone, "lr": lr * backbone_lr_mult},
        {"params": rest, "lr": lr},
    ]
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=momentum, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r}; valid: {', '.join(OPTIMIZERS)}")


def build_scheduler(
    optimizer: torch.optim.Optimizer,
    *,
    total_iters: int,
    warmup_iters: int = 0,
    kind: str = "poly",
    warmup_factor: float = 0.01,
    power: float = 0.9,
) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up from ``warmup_factor``, then poly or cosine decay, stepped per iteration."""
    if kind not in SCHEDULES:
        raise ValueError(f"unknown schedule {kind!r}; valid: {', '.join(SCHEDULES)}")
    if total_iters < 1 or not 0 <= warmup_iters < max(total_iters, 1):
        raise ValueError(f"need 0 <= warmup_iters ({warmup_iters}) < total_iters ({total_iters})")

    def factor(step: int) -> float:
        if step < warmup_iters:
            return warmup_factor + (1 - warmup_factor) * step / warmup_iters
        progress = min((step - warmup_iters) / max(total_iters - warmup_iters, 1), 1.0)
        if kind == "poly":
            return (1 - progress) ** power
        return 0.5 * (1 + math.cos(math.pi * progress))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def train_one_epoch(
    model: nn.Module,
    criterion: Callable[[dict[str, torch.Tensor], torch.Tensor], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    data_loader: Iterable,
    lr_scheduler: torch.optim.lr_scheduler.LRScheduler,
    device: torch.device,
    *,
    scaler: torch.amp.GradScaler | None = None,
    channels_last: bool = False,
) -> float:
    """One pass over ``data_loader``; returns the mean loss. A tqdm bar shows the running loss."""
    model.train()
    amp = scaler is not None and scaler.is_enabled()
    total, batches = 0.0, 0
    for image, target in data_loader:
        image, target = image.to(device, non_blocking=True), target.to(device, non_blocking=True)
        if channels_last:
            image = image.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=amp):
            loss = criterion(model(image), target)
        optimizer.zero_grad(set_to_none=True)
        if amp:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()
        lr_scheduler.step()
        total, batches = total + loss.item(), batches + 1
        if hasattr(data_loader, "set_postfix"):
            data_loader.set_postfix(loss=f"{total / batches:.4f}")
    if batches == 0:
        raise ValueError("empty data loader")
    return total / batches


@torch.inference_mode()
def evaluate(
    model: nn.Module,
    data_loader: Iterable,
    device: torch.device,
    *,
    meter: SegmentationMeter | None = None,
    amp: bool = False,
    channels_last: bool = False,
    flip_tta: bool = False,
) -> SegmentationMeter:
    """Fill ``meter`` (a new one by default) with the lesion probabilities of every batch."""
    model.eval()
    meter = meter if meter is not None else SegmentationMeter(device=device)
    for image, target in data_loader:
        image, target = image.to(device, non_blocking=True), target.to(device, non_blocking=True)
        if channels_last:
            image = image.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=amp):
            probabilities = predict_probabilities(model, image, flip_tta=flip_tta)
        meter.update(probabilities, target)
    return meter
