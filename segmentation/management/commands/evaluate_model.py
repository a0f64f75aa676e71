"""``manage.py evaluate_model``: score a registered model (or a checkpoint file) on any folder,
or (``--corrections``) a model version's masks against the clinic's corrected masks."""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from django.core.management.base import BaseCommand, CommandError

from segmentation.core import (
    SegmentationFolder,
    SegmentationPredictor,
    evaluate_segmenter,
    make_folds,
)
from segmentation.training_data import add_data_argument, training_data

if TYPE_CHECKING:
    from segmentation.severity.baseline import ColourThresholdSegmenter


class Command(BaseCommand):
    help = "Evaluate a registered model or a checkpoint on a folder of images and masks."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        source = parser.add_mutually_exclusive_group()
        source.add_argument("--model", default=None, help="registry name (default: active model)")
        source.add_argument("--checkpoint", type=Path, default=None)
        source.add_argument(
            "--baseline", action="store_true", help="the training-free colour threshold instead"
        )
        # Not --version: Django's commands print their own version with it.
        source.add_argument(
            "--model-version", default=None, help="with --corrections: an analyses' version label"
        )
        parser.add_argument(
            "--corrections",
            action="store_true",
            help="score the masks stored in the diary against clinicians' corrections, no --data",
        )
        add_data_argument(parser, required=False)  # required unless --corrections
        parser.add_argument(
            "--folds", default=None, help="only the images of these comma-separated folds"
        )
        parser.add_argument("--fold-column", default="suggested_fold")
        parser.add_argument("--threshold", type=float, default=None, help="default: checkpoint's")
        parser.add_argument("--sweep", action="store_true", help="also print a threshold sweep")
        parser.add_argument(
            "--per-image", action="store_true", help="also list every image, worst F1 first"
        )
        parser.add_argument("--device", default=None)
        parser.add_argument("--json", action="store_true", help="print JSON instead of text")

    def handle(self, *args, **options) -> None:
        if options["corrections"]:
            from ._corrections import corrections_report

            folder_only = ["checkpoint", "data", "folds", "threshold", "sweep", "per_image"]
            given = [
                f"--{name.replace('_', '-')}"
                for name in folder_only
                if options[name] not in (None, False)
            ]
            if given:
                raise CommandError(f"--corrections scores the stored masks: {given} do not apply")
            corrections_report(self.stdout, options)
            return
        if not options["data"]:
            raise CommandError("--data is required (or --corrections)")
        if options["model_version"] is not None:
            raise CommandError("--model-version applies to --corrections")
        with training_data(options) as data:
            self._evaluate(data.root, options)

    def _evaluate(self, root: Path, options: dict) -> None:
        names = self._names(root, options)
        predictor = self._segmenter(options)
        dataset = SegmentationFolder(root, names=names)
        meter = evaluate_segmenter(predictor, dataset)
        try:
            metrics = meter.summary(predictor.threshold)
        except ValueError as exc:  # thresholds resolve to the meter's 1/100 steps
            raise CommandError(str(exc)) from exc
        report = {
            "model": predictor.version_label,
            "data": ", ".join(str(folder) for folder in options["data"]),
            "images": len(dataset),
            "metrics": metrics,
        }
        if options["sweep"]:
            report["sweep"] = meter.sweep()
        if options["per_image"]:
            scores = meter.per_image(predictor.threshold)
            rows = [{"name": n, **row} for n, row in zip(dataset.names, scores, strict=True)]
            report["per_image"] = sorted(rows, key=lambda row: (row["f1"], row["name"]))
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2))
            return
        self.stdout.write(f"{report['model']} on {report['data']} ({report['images']} images)")
        self.stdout.write("| threshold | reduction | precision | recall | F1 | IoU | accuracy |")
        self.stdout.write("|---|---|---|---|---|---|---|")
        for summary in report.get("sweep", [report["metrics"]]):
            for reduction in ("micro", "per_image"):
                m = summary[reduction]
                self.stdout.write(
                    f"| {summary['threshold']:.2f} | {reduction} | {m['precision']:.4f} "
                    f"| {m['recall']:.4f} | {m['f1']:.4f} | {m['iou']:.4f} | {m['accuracy']:.4f} |"
                )
        if "per_image" in report:
            self.stdout.write("")
            self.stdout.write(
                "| image | lesion share | predicted share | precision | recall | F1 |\n"
                "|---|---|---|---|---|---|"
            )
            for row in report["per_image"]:
                self.stdout.write(
                    f"| {row['name']} | {row['lesion_share']:.3f} | {row['predicted_share']:.3f} "
                    f"| {row['precision']:.3f} | {row['recall']:.3f} | {row['f1']:.3f} |"
                )

    def _segmenter(self, options: dict) -> SegmentationPredictor | ColourThresholdSegmenter:
        if options["baseline"]:
            from segmentation.severity.baseline import ColourThresholdSegmenter

            if options["threshold"] is not None:
                raise CommandError("--threshold applies to trained models, not to --baseline")
            return ColourThresholdSegmenter()
        with tempfile.TemporaryDirectory() as tmp:
            checkpoint, label = self._checkpoint(options, Path(tmp))
            try:
                predictor = SegmentationPredictor(
                    checkpoint,
                    device=options["device"],
                    threshold=options["threshold"],
                    version_label=label,
                )
            except (ValueError, FileNotFoundError) as exc:
                raise CommandError(str(exc)) from exc
        return predictor

    def _names(self, root: Path, options: dict) -> list[str] | None:
        if not options["folds"]:
            return None
        try:
            folds = make_folds(root, fold_column=options["fold_column"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        wanted = options["folds"].split(",")
        unknown = set(wanted) - {fold.name for fold in folds}
        if unknown:
            raise CommandError(f"unknown folds {sorted(unknown)}; have {[f.name for f in folds]}")
        return sorted({n for fold in folds if fold.name in wanted for n in fold.val})

    def _checkpoint(self, options: dict, tmp: Path) -> tuple[Path, str | None]:
        if options["checkpoint"] is not None:
            if not options["checkpoint"].is_file():
                raise CommandError(f"no checkpoint at {options['checkpoint']}")
            return options["checkpoint"], None
        from segmentation.models import SegmentationModel
        from segmentation.selectors import active_model_get

        if options["model"] is not None:
            model = SegmentationModel.objects.filter(name=options["model"]).first()
            if model is None:
                raise CommandError(f"no registered model named {options['model']!r}")
        else:
            model = active_model_get()
            if model is None:
                raise CommandError("no active model: pass --model or --checkpoint")
        # Copy out of storage (which may be S3) to a local file the predictor can read.
        local = tmp / "checkpoint.pth"
        with model.checkpoint.open("rb") as source, local.open("wb") as target:
            shutil.copyfileobj(source, target)
        return local, model.version_label
