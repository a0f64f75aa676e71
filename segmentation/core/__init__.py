"""The PyTorch segmentation library: build a model, train it, evaluate it, predict with it.

Imports nothing from Django (the management commands are thin adapters over it), so it can run
in a notebook, a worker or a GPU host without the web application. The top level holds what a
user calls; the parts have namespaces of their own, as in segmentation_models_pytorch:
``segmentation.core.metrics``, ``.transforms``, ``.losses``, ``.encoders`` (ImageNet weights),
``.data`` (folds), ``.compare`` (the cross-validated table).

    >>> from segmentation import core
    >>> model = core.build_model("unet", "efficientnet_lite0", pretrained="imagenet")
    >>> result = core.train(core.TrainConfig(**core.preset("recommended")), data_root=...,
    ...                     train_names=..., val_names=..., output="model.pth")
    >>> predictor = core.SegmentationPredictor("model.pth")
"""

from . import compare, data, encoders, losses, metrics, transforms
from .checkpoint import load_checkpoint, model_from_checkpoint, save_checkpoint
from .config import TrainConfig, TrainResult
from .data import SegmentationFolder, make_folds
from .evaluation import evaluate_segmenter
from .models import MODELS, build_model, model_names
from .predictor import SegmentationPredictor
from .presets import preset
from .training import train
from .weights import WeightsUnavailableError

__all__ = [
    "MODELS",
    "SegmentationFolder",
    "SegmentationPredictor",
    "TrainConfig",
    "TrainResult",
    "WeightsUnavailableError",
    "build_model",
    "compare",
    "data",
    "encoders",
    "evaluate_segmenter",
    "load_checkpoint",
    "losses",
    "make_folds",
    "metrics",
    "model_from_checkpoint",
    "model_names",
    "preset",
    "save_checkpoint",
    "train",
    "transforms",
]
