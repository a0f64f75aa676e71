"""``manage.py register_model FILE``: register a checkpoint trained elsewhere (a GPU host, another
clinic), so that one training serves many deployments."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from segmentation.core import load_checkpoint, model_from_checkpoint
from segmentation.hashing import file_sha256
from segmentation.models import SegmentationModel


class Command(BaseCommand):
    help = "Register one of our checkpoint files in the model registry (header and hash checked)."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("checkpoint", type=Path, help="a .pth file written by train_model")
        parser.add_argument("--name", default=None, help="registry name (default: from header)")
        parser.add_argument("--activate", action="store_true", help="analyse new photos with it")
        parser.add_argument(
            "--sha256", default=None, help="the file's expected SHA-256, as published with it"
        )
        parser.add_argument(
            "--mdc-data",
            type=Path,
            default=None,
            help="measure the model's minimal detectable change on this data folder's copies",
        )
        parser.add_argument(
            "--cv-results",
            type=Path,
            default=None,
            help="compare_models results.json of the recipe, attached as its CV metrics",
        )

    def handle(self, *args, **options) -> None:
        path: Path = options["checkpoint"]
        if not path.is_file():
            raise CommandError(f"no file at {path}")
        digest = file_sha256(path)
        expected = options["sha256"]
        if expected and digest != expected.lower():
            raise CommandError(f"{path} has sha256 {digest}, not {expected}: refusing it")
        try:
            header, _ = load_checkpoint(path)
            model_from_checkpoint(path)  # the weights must fit the architecture it names
        except Exception as exc:  # torch raises many types for a file that is not ours
            raise CommandError(
                f"{path} is not a Vitiligo Diary segmentation checkpoint ({exc})"
            ) from exc
        existing = SegmentationModel.objects.filter(checkpoint_sha256=digest).first()
        if existing is not None:
            raise CommandError(f"{path} is already registered as {existing.name!r}")
        name = options["name"] or f"{header['architecture']}-{header['backbone']}-{digest[:8]}"
        if SegmentationModel.objects.filter(name=name).exists():
            raise CommandError(f"a model named {name!r} exists; pass --name")
        metrics = dict(header.get("metrics") or {})
        notes: dict = {}
        if options["cv_results"]:
            metrics["cross_validation"] = cv_summary(options["cv_results"])
            notes["cross_validation"] = (
                f"the training recipe's cross-validation ({options['cv_results']}), "
                "not this very checkpoint's"
            )
        mdc: dict = {}
        if options["mdc_data"]:
            from segmentation.quality import model_mdc

            mdc, notes["minimal_detectable_change"] = model_mdc(path, options["mdc_data"])
        from segmentation.services import model_register

        model = model_register(
            name=name,
            checkpoint_path=path,
            architecture=header["architecture"],
            backbone=header["backbone"],
            metrics=metrics,
            training_data=json.dumps(header.get("data", {}).get("root", "")),
            activate=options["activate"],
            minimal_detectable_change=mdc,
            quality_notes=notes,
        )
        state = "active" if options["activate"] else "inactive"
        self.stdout.write(self.style.SUCCESS(f"registered {model.name} ({state}), sha256 {digest}"))


def cv_summary(results_json: Path) -> dict:
    """Mean micro and per-image F1/IoU of the first model row of a compare_models results.json."""
    try:
        rows = json.loads(Path(results_json).read_text())
        row = next(r for r in rows if not r["name"].startswith("colour threshold"))
    except (OSError, ValueError, StopIteration, KeyError, TypeError) as exc:
        raise CommandError(f"{results_json} is not a compare_models results.json") from exc
    scored = [fold.get("at_threshold", fold["at_0.5"]) for fold in row["folds"]]

    def mean(kind: str, metric: str) -> float:
        return round(sum(s[kind][metric] for s in scored) / len(scored), 4)

    return {
        "model": row["name"],
        "folds": len(scored),
        "micro_f1": mean("micro", "f1"),
        "per_image_f1": mean("per_image", "f1"),
        "micro_iou": mean("micro", "iou"),
        "per_image_iou": mean("per_image", "iou"),
    }
