"""The configuration of one training run, and the transforms it implies.

:class:`TrainConfig` holds every knob as plain values (it is stored verbatim in the checkpoint
header). Defaults follow the paper where it says; presets (``presets.py``) name good sets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .models import input_multiple, model_normalization
from .transforms import SegmentationPresetEval, SegmentationPresetTrain

__all__ = ["KEEP_CHOICES", "OPTIMIZERS", "SCHEDULES", "TrainConfig", "TrainResult", "get_transform"]

KEEP_CHOICES = ("best", "final")
OPTIMIZERS = ("adamw", "sgd")
SCHEDULES = ("poly", "cosine")


@dataclass
class TrainConfig:
    """Everything a run depends on except the data."""

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
