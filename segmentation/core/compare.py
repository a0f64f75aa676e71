"""The paper's comparison: every model trained with the same budget on the same group-aware folds,
scored at the masks' resolution, summarised as a Markdown table.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from segmentation.segmenter import Segmenter

from .config import TrainConfig
from .data import Fold, SegmentationFolder
from .evaluation import evaluate_segmenter, time_inference
from .models import count_parameters
from .predictor import SegmentationPredictor
from .training import train

__all__ = ["ModelResult", "evaluate_baseline", "limit_fold", "markdown_table", "run_comparison"]

logger = logging.getLogger(__name__)


@dataclass
class ModelResult:
    """One row of the table: per-fold validation metrics of one model (or the baseline)."""

    name: str
    folds: list[dict] = field(default_factory=list)
    parameters: int | None = None
    ms_per_image: float | None = None


def limit_fold(fold: Fold, limit: int | None, seed: int = 0) -> Fold:
    """At most ``limit`` training and ``limit`` validation images, drawn with a fixed seed."""
    if limit is None:
        return fold
    generator = torch.Generator().manual_seed(seed)

    def pick(names: tuple[str, ...]) -> tuple[str, ...]:
        order = torch.randperm(len(names), generator=generator).tolist()[:limit]
        return tuple(sorted(names[i] for i in order))

    return Fold(name=fold.name, train=pick(fold.train), val=pick(fold.val))


def _last_epoch_val(history: list[dict]) -> dict | None:
    """Training-time validation scores of the final epoch (at the training input size).

    The table's main columns score the best epoch's checkpoint, picked on the same validation
    photos, which flatters every model; the final epoch needs no such choice.
    """
    last = history[-1] if history else {}
    if "val" not in last:
        return None
    return {
        "epoch": last["epoch"],
        "micro_f1": last["val"]["micro"]["f1"],
        "per_image_f1": last["val"]["per_image"]["f1"],
    }


def _fold_record(fold: Fold, meter, extra: dict, threshold: float = 0.5) -> dict:
    """Scores at 0.5, at the model's own threshold (chosen without the validation photos), and
    the best threshold of a sweep on the validation photos (optimistic: labelled as such)."""
    sweep = meter.sweep()
    best = max(sweep, key=lambda s: s["micro"]["f1"])
    return {
        "fold": fold.name,
        "train_images": len(fold.train),
        "val_images": len(fold.val),
        "at_0.5": meter.summary(0.5),
        "at_threshold": meter.summary(threshold),
        "best_threshold": best["threshold"],
        "best_threshold_micro_f1": best["micro"]["f1"],
        **extra,
    }


def run_comparison(
    *,
    data_root: Path | str,
    models: Sequence[tuple[str, str]],
    folds: Sequence[Fold],
    base: TrainConfig,
    output_dir: Path | str,
    init_from: str | None = None,
    resume: bool = True,
    timing_images: int = 8,
) -> list[ModelResult]:
    """Train and score every model on every fold; results also go to ``output_dir/*.json``.

    ``init_from`` may hold ``{arch}`` and ``{backbone}`` placeholders (one pretrained checkpoint
    per model). With ``resume``, folds whose result file exists are read back, not retrained.
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for arch, backbone in models:
        name = f"{arch}-{backbone}"
        row = ModelResult(name=name)
        for fold in folds:
            record_path = output_dir / f"{name}-fold{fold.name}.json"
            if resume and record_path.is_file():
                row.folds.append(json.loads(record_path.read_text()))
                continue
            config = dataclasses.replace(
                base,
                arch=arch,
                backbone=backbone,
                init_from=init_from.format(arch=arch, backbone=backbone) if init_from else None,
            )
            checkpoint = output_dir / f"{name}-fold{fold.name}.pth"
            logger.info(
                "training %s on fold %s (%d train / %d val)",
                name,
                fold.name,
                len(fold.train),
                len(fold.val),
            )
            result = train(
                config,
                data_root=data_root,
                train_names=fold.train,
                val_names=fold.val,
                output=checkpoint,
            )
            predictor = SegmentationPredictor(checkpoint, device=base.device)
            val_set = SegmentationFolder(data_root, names=fold.val)
            meter = evaluate_segmenter(predictor, val_set)
            images = [val_set.load(i)[0] for i in range(min(timing_images, len(val_set)))]
            record = _fold_record(
                fold,
                meter,
                {
                    "best_epoch": result.best_epoch,
                    "epochs_run": len(result.history),
                    "last_epoch_val": _last_epoch_val(result.history),
                    "parameters": count_parameters(predictor.model),
                    "ms_per_image": time_inference(predictor, images),
                    "device": str(predictor.device),
                    # Named beside the record, never by a machine's absolute path.
                    "checkpoint": checkpoint.name,
                },
                threshold=predictor.threshold,
            )
            record_path.write_text(json.dumps(record, indent=2))
            row.folds.append(record)
            logger.info(
                "%s fold %s: micro F1 %.4f", name, fold.name, record["at_0.5"]["micro"]["f1"]
            )
        row.parameters = row.folds[0]["parameters"] if row.folds else None
        row.ms_per_image = (
            statistics.median(f["ms_per_image"] for f in row.folds) if row.folds else None
        )
        results.append(row)
    return results


def evaluate_baseline(
    segmenter: Segmenter, *, data_root: Path | str, folds: Sequence[Fold], name: str
) -> ModelResult:
    """The same scoring for a training-free segmenter (e.g. the colour threshold)."""
    row = ModelResult(name=name)
    for fold in folds:
        val_set = SegmentationFolder(data_root, names=fold.val)
        meter = evaluate_segmenter(segmenter, val_set)
        images = [val_set.load(i)[0] for i in range(min(8, len(val_set)))]
        row.folds.append(
            _fold_record(fold, meter, {"ms_per_image": time_inference(segmenter, images)})
        )
    row.ms_per_image = statistics.median(f["ms_per_image"] for f in row.folds)
    return row


def _mean_sd(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"


def markdown_table(rows: Sequence[ModelResult]) -> str:
    """F1 (micro and per image; mean ± sample sd over folds), IoU, size and speed per model, and
    the micro F1 of the final epoch (``-`` for the baseline and for records without it)."""
    lines = [
        "| model | folds | F1 micro | F1 per image | IoU micro | IoU per image | precision "
        "| recall | params (M) | ms / image | F1 micro, last epoch |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        # Each model's own threshold (0.5 unless chosen on its training photos).
        scored = [f.get("at_threshold", f["at_0.5"]) for f in row.folds]
        micro = [s["micro"] for s in scored]
        per_image = [s["per_image"] for s in scored]
        params = f"{row.parameters / 1e6:.2f}" if row.parameters else "-"
        speed = f"{row.ms_per_image:.1f}" if row.ms_per_image is not None else "-"
        last = [f.get("last_epoch_val") for f in row.folds]
        last_f1 = _mean_sd([v["micro_f1"] for v in last]) if all(last) else "-"
        lines.append(
            f"| {row.name} | {len(row.folds)} | {_mean_sd([m['f1'] for m in micro])} "
            f"| {_mean_sd([m['f1'] for m in per_image])} | {_mean_sd([m['iou'] for m in micro])} "
            f"| {_mean_sd([m['iou'] for m in per_image])} "
            f"| {statistics.mean(m['precision'] for m in micro):.4f} "
            f"| {statistics.mean(m['recall'] for m in micro):.4f} | {params} | {speed} "
            f"| {last_f1} |"
        )
    return "\n".join(lines)
