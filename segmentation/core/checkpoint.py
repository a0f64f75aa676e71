"""The checkpoint file: one dict readable with ``torch.load(..., weights_only=True)``.

``{"format", "format_version", "header": {...plain types...}, "model": state_dict}``. The header
says everything inference needs (architecture, backbone, classes, input size and resize policy,
normalisation, threshold) and how the weights came to be (training arguments, data fingerprint,
metrics, library versions).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import importlib.metadata
import logging
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torchvision
from torch import nn

from .models import build_model

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "init_from_checkpoint",
    "load_checkpoint",
    "make_header",
    "model_from_checkpoint",
    "save_checkpoint",
]

logger = logging.getLogger(__name__)

FORMAT = "vitiligo-diary-segmentation"
FORMAT_VERSION = 1
CLASSES = ("background", "lesion")
RESIZE_POLICY = (
    "stretch the whole image to resize_size x resize_size (bilinear), predict, and resize the "
    "lesion probabilities back to the original size (bilinear)"
)


def _plain(value: Any) -> Any:
    """Recursively turn a value into what ``weights_only`` loading accepts (and JSON can hold)."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(item) for item in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, np.generic):
        return value.item()
    if value is None:
        return value
    # Exact built-in types: subclasses such as torch's TorchVersion (a str) are not loadable.
    for plain in (bool, int, float, str):
        if isinstance(value, plain):
            return plain(value)
    raise TypeError(f"cannot store {type(value).__name__} in a checkpoint header")


def _optional_versions() -> dict[str, str]:
    versions = {}
    for name in ("timm", "segmentation_models_pytorch"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[name] = importlib.metadata.version(name.replace("_", "-"))
    return versions


def make_header(
    *,
    arch: str,
    backbone: str,
    num_classes: int,
    resize_size: int,
    crop_size: int,
    mean: list[float],
    std: list[float],
    threshold: float = 0.5,
    output_convention: str = "dict",
    flip_tta: bool = False,
    training_args: Mapping[str, Any] | None = None,
    data: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A self-describing header of plain types."""
    return _plain(
        {
            "architecture": arch,
            "backbone": backbone,
            "num_classes": num_classes,
            "classes": list(CLASSES[:num_classes])
            if num_classes == 2
            else list(range(num_classes)),
            "input": {
                "resize_size": resize_size,
                "crop_size": crop_size,
                "channels": "RGB",
                "resize_policy": RESIZE_POLICY,
            },
            "normalization": {"mean": list(mean), "std": list(std), "scale": "pixel / 255"},
            "threshold": threshold,
            "output_convention": output_convention,
            "test_time_augmentation": ["hflip", "vflip"] if flip_tta else [],
            "training_args": dict(training_args or {}),
            "data": dict(data or {}),
            "metrics": dict(metrics or {}),
            "versions": {
                "torch": torch.__version__,
                "torchvision": torchvision.__version__,
                **_optional_versions(),
                "numpy": np.__version__,
                "python": platform.python_version(),
            },
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
    )


def save_checkpoint(path: Path | str, *, model: nn.Module, header: Mapping[str, Any]) -> Path:
    """Write the header and the inference weights (the auxiliary head is a training aid: dropped).

    Writes to a temporary name first so a crash never leaves a truncated "best" checkpoint.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        key: tensor.detach().cpu()
        for key, tensor in model.state_dict().items()
        if not key.startswith("aux_classifier.")
    }
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION, "header": _plain(header)}
    payload["model"] = state
    partial = path.with_name(path.name + ".partial")
    torch.save(payload, partial)
    partial.replace(path)
    return path


def load_checkpoint(path: Path | str) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """``(header, state_dict)``, read with ``weights_only=True`` onto the CPU."""
    payload = torch.load(Path(path), map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path} is not a {FORMAT} checkpoint")
    if payload.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path} has format version {payload.get('format_version')}, "
            f"this library reads {FORMAT_VERSION}"
        )
    return payload["header"], payload["model"]


def model_from_checkpoint(path: Path | str) -> tuple[nn.Module, dict[str, Any]]:
    """The model described by the header with its weights, in eval mode on the CPU."""
    header, state = load_checkpoint(path)
    model = build_model(
        header["architecture"], header["backbone"], num_classes=header["num_classes"]
    )
    model.load_state_dict(state)
    return model.eval(), header


def init_from_checkpoint(
    model: nn.Module, path: Path | str, *, arch: str, backbone: str
) -> list[str]:
    """Start ``model`` from one of our checkpoints (e.g. trained on PH2).

    Every tensor whose name and shape match is copied; the others (the class-specific output
    convolutions when the number of classes differs) keep their fresh initialisation. Returns
    the names that were re-initialised.
    """
    header, state = load_checkpoint(path)
    if (header["architecture"], header["backbone"]) != (arch, backbone):
        raise ValueError(
            f"{path} holds {header['architecture']}-{header['backbone']}, not {arch}-{backbone}"
        )
    own = model.state_dict()
    usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    fresh = sorted(set(own) - set(usable))
    model.load_state_dict(usable, strict=False)
    if fresh:
        logger.info("init-from %s: re-initialised %d tensors: %s", path, len(fresh), fresh[:6])
    return fresh
