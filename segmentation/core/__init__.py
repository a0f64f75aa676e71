"""The PyTorch segmentation library: build a model, train it, evaluate it, predict with it.

Imports nothing from Django (the management commands are thin adapters over it), so it can run
in a notebook, a worker or a GPU host without the web application. The top level holds what a
user calls; the parts have namespaces of their own, as in segmentation_models_pytorch:
``segmentation.core.metrics``, ``.transforms``, ``.losses``, ``.encoders`` (ImageNet weights),
``.data`` (folds), ``.compare`` (the cross-validated table). Every other module is internal: code
outside the package uses these names (``tests/test_layering.py`` checks it).

    >>> from segmentation import core
    >>> model = core.build_model("unet", "efficientnet_lite0", pretrained="imagenet")
    >>> result = core.train(core.TrainConfig(**core.preset("recommended")), data_root=...,
    ...                     train_names=..., val_names=..., output="model.pth")
    >>> predictor = core.SegmentationPredictor("model.pth")

Training (``train``, ``compare``) is imported on first use: a worker that only predicts loads
no optimiser, training loop or loss.
"""

from __future__ import annotations

import importlib
from typing import Any

from . import data, encoders, metrics, transforms
from .checkpoint import load_checkpoint, make_header, model_from_checkpoint, save_checkpoint
from .config import KEEP_CHOICES, OPTIMIZERS, SCHEDULES, TrainConfig, TrainResult
from .data import SegmentationFolder, make_folds
from .evaluation import evaluate_segmenter
from .inference import predict_probabilities
from .models import (
    MODELS,
    PRETRAINED_SOURCES,
    build_model,
    count_parameters,
    model_names,
    model_normalization,
    output_convention,
)
from .predictor import SegmentationPredictor
from .presets import PRESETS, preset
from .union import FolderUnion, union_folder
from .weights import WeightsUnavailableError

#: Names imported on first access (module, attribute or None for the module itself).
_LAZY = {
    "train": ("training", "train"),
    "compare": ("compare", None),
    "losses": ("losses", None),
}

__all__ = [
    "KEEP_CHOICES",
    "MODELS",
    "OPTIMIZERS",
    "PRESETS",
    "PRETRAINED_SOURCES",
    "SCHEDULES",
    "FolderUnion",
    "SegmentationFolder",
    "SegmentationPredictor",
    "TrainConfig",
    "TrainResult",
    "WeightsUnavailableError",
    "build_model",
    "compare",
    "count_parameters",
    "data",
    "encoders",
    "evaluate_segmenter",
    "load_checkpoint",
    "losses",
    "make_folds",
    "make_header",
    "metrics",
    "model_from_checkpoint",
    "model_names",
    "model_normalization",
    "output_convention",
    "predict_probabilities",
    "preset",
    "save_checkpoint",
    "train",
    "transforms",
    "union_folder",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module_name, attribute = _LAZY[name]
    module = importlib.import_module(f"{__name__}.{module_name}")
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value
