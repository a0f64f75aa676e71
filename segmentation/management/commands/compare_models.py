"""``manage.py compare_models``: the paper's results table on group-aware cross-validation.

Every selected model is trained with the same options on every selected fold and scored on the
held-out fold at the masks' resolution; prints (and writes) a Markdown table. Needs no database.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from segmentation.core import WeightsUnavailableError, model_names
from segmentation.core.compare import evaluate_baseline, limit_fold, markdown_table, run_comparison
from segmentation.training_data import (
    TrainingData,
    add_data_argument,
    folds_from_options,
    training_data,
)

from .train_model import add_training_arguments, config_from_options

logger = logging.getLogger(__name__)


def _parse_models(value: str) -> list[tuple[str, str]]:
    valid = model_names()
    chosen = valid if value == "all" else [v.strip() for v in value.split(",") if v.strip()]
    unknown = [name for name in chosen if name not in valid]
    if unknown:
        raise CommandError(f"unknown models {unknown}; valid: {', '.join(valid)} or 'all'")
    return [tuple(name.split("-", 1)) for name in chosen]


class Command(BaseCommand):
    help = "Cross-validate several architectures with one budget and print a Markdown table."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_data_argument(parser)
        parser.add_argument(
            "--archs", default="all", help="comma-separated arch-backbone names, or 'all'"
        )
        parser.add_argument("--folds", default=None, help="comma-separated fold names (all)")
        parser.add_argument("--limit", type=int, default=None, help="at most N images per side")
        parser.add_argument("--output-dir", type=Path, required=True, help="checkpoints, JSON")
        parser.add_argument(
            "--init-from", default=None, help="checkpoint path; may use {arch} and {backbone}"
        )
        parser.add_argument("--baseline", action="store_true", help="add the colour baseline")
        parser.add_argument("--no-resume", action="store_true", help="retrain finished folds")
        add_training_arguments(parser)

    def handle(self, *args, **options) -> None:
        with training_data(options) as data:
            self._compare(data, options)

    def _compare(self, data: TrainingData, options: dict) -> None:
        models = _parse_models(options["archs"])
        folds = folds_from_options(options, data)
        if options["folds"]:
            wanted = options["folds"].split(",")
            unknown = set(wanted) - {fold.name for fold in folds}
            if unknown:
                raise CommandError(
                    f"unknown folds {sorted(unknown)}; have {[f.name for f in folds]}"
                )
            folds = [fold for fold in folds if fold.name in wanted]
        folds = [limit_fold(fold, options["limit"], options["seed"]) for fold in folds]
        base = config_from_options(options, arch=models[0][0], backbone=models[0][1])
        rows = []
        if options["baseline"]:
            from segmentation.severity.baseline import ColourThresholdSegmenter

            rows.append(
                evaluate_baseline(
                    ColourThresholdSegmenter(),
                    data_root=data.root,
                    folds=folds,
                    name="colour threshold (no training)",
                )
            )
        try:
            rows += run_comparison(
                data_root=data.root,
                models=models,
                folds=folds,
                base=base,
                output_dir=options["output_dir"],
                init_from=options["init_from"],
                resume=not options["no_resume"],
            )
        except (ValueError, WeightsUnavailableError, FileNotFoundError) as exc:
            raise CommandError(str(exc)) from exc
        table = markdown_table(rows)
        out = options["output_dir"]
        (out / "table.md").write_text(table + "\n")
        (out / "results.json").write_text(
            json.dumps(
                [
                    {
                        "name": r.name,
                        "parameters": r.parameters,
                        "ms_per_image": r.ms_per_image,
                        "folds": r.folds,
                    }
                    for r in rows
                ],
                indent=2,
            )
        )
        self.stdout.write(table)
