"""The PyTorch segmentation library: data, transforms, models, training, metrics and inference.

Imports nothing from Django (the management commands are thin adapters over it), so it can run
in a notebook, a worker or a GPU host without the web application.
"""

from .checkpoint import (
    init_from_checkpoint,
    load_checkpoint,
    model_from_checkpoint,
    save_checkpoint,
)
from .compare import ModelResult, evaluate_baseline, markdown_table, run_comparison
from .data import (
    Fold,
    SegmentationFolder,
    data_fingerprint,
    folds_from_column,
    group_kfold,
    make_folds,
)
from .evaluation import evaluate_segmenter, time_inference
from .losses import SegmentationLoss
from .metrics import (
    Counts,
    SegmentationMeter,
    confusion_counts,
    metric_values,
    reduce_micro,
    reduce_per_image,
)
from .models import MODELS, build_model, count_parameters, model_names
from .predictor import SegmentationPredictor
from .training import TrainConfig, TrainResult, get_transform, train
from .transforms import SegmentationPresetEval, SegmentationPresetTrain
from .weights import WeightsUnavailableError

__all__ = [
    "MODELS",
    "Counts",
    "Fold",
    "ModelResult",
    "SegmentationFolder",
    "SegmentationLoss",
    "SegmentationMeter",
    "SegmentationPredictor",
    "SegmentationPresetEval",
    "SegmentationPresetTrain",
    "TrainConfig",
    "TrainResult",
    "WeightsUnavailableError",
    "build_model",
    "confusion_counts",
    "count_parameters",
    "data_fingerprint",
    "evaluate_baseline",
    "evaluate_segmenter",
    "folds_from_column",
    "get_transform",
    "group_kfold",
    "init_from_checkpoint",
    "load_checkpoint",
    "make_folds",
    "markdown_table",
    "metric_values",
    "model_from_checkpoint",
    "model_names",
    "reduce_micro",
    "reduce_per_image",
    "run_comparison",
    "save_checkpoint",
    "time_inference",
    "train",
]
