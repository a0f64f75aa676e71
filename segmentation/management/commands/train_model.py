"""``manage.py train_model``: train one model, validate it on group-aware folds, register it.

A thin adapter: options -> :class:`segmentation.core.TrainConfig` -> :func:`segmentation.core.train`
-> :func:`segmentation.services.model_register`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from segmentation.core import (
    KEEP_CHOICES,
    MODELS,
    OPTIMIZERS,
    PRESETS,
    PRETRAINED_SOURCES,
    SCHEDULES,
    TrainConfig,
    WeightsUnavailableError,
    preset,
    train,
)
from segmentation.core.losses import LOSSES
from segmentation.training_data import (
    TrainingData,
    add_data_argument,
    folds_from_options,
    training_data,
)

logger = logging.getLogger(__name__)

ARCHS = sorted({arch for arch, _ in MODELS})
DEFAULT_ARCH, DEFAULT_BACKBONE = "deeplabv3", "resnet101"
BACKBONES = sorted({backbone for _, backbone in MODELS})


def _none_or_str(value: str) -> str | None:
    return None if value.lower() in {"", "none"} else value


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """The options shared by ``train_model`` and ``compare_models`` (one per TrainConfig field)."""
    d = TrainConfig()
    add = parser.add_argument
    add("--epochs", type=int, default=d.epochs)
    add("--batch-size", type=int, default=d.batch_size)
    add("--optimizer", choices=OPTIMIZERS, default=d.optimizer)
    add("--lr", type=float, default=d.lr)
    add("--weight-decay", type=float, default=d.weight_decay)
    add("--schedule", choices=SCHEDULES, default=d.schedule)
    add("--warmup-epochs", type=float, default=d.warmup_epochs)
    add("--loss", choices=LOSSES, default=d.loss)
    add("--aux-loss", action="store_true", help="train with the auxiliary head (deeplabv3, fcn)")
    add(
        "--pretrained",
        choices=(*PRETRAINED_SOURCES, "none"),
        default=None,
        help="'none' trains from scratch (also over a preset that names weights)",
    )
    add("--weights-file", type=Path, default=None, help="local copy of the torchvision weights")
    add("--freeze-backbone-epochs", type=int, default=d.freeze_backbone_epochs)
    add("--backbone-lr-mult", type=float, default=d.backbone_lr_mult)
    add("--image-size", type=int, default=d.crop_size, help="training crop side (paper: 256)")
    add("--resize-size", type=int, default=None, help="resize side (default image-size * 312/256)")
    add("--rotation", type=float, default=0.0, help="random rotation in degrees (0: off)")
    add("--colour-jitter", type=float, default=0.0, help="colour jitter strength (0: off)")
    add("--scale", type=float, nargs=2, default=None, metavar=("MIN", "MAX"))
    add("--patience", type=int, default=None, help="early stop after N epochs without progress")
    add("--threshold", type=float, default=d.threshold)
    add(
        "--keep",
        choices=KEEP_CHOICES,
        default=d.keep,
        help="which epoch's weights to keep: the best on the validation photos, or the final one",
    )
    add("--flip-tta", action="store_true", help="average predictions over flips (test time)")
    add(
        "--threshold-from-train",
        action="store_true",
        help="choose the threshold on the training photos after training",
    )
    add("--eval-every", type=int, default=d.eval_every, help="validate every N epochs")
    add(
        "--preset",
        choices=sorted(PRESETS),
        default=None,
        help="a named configuration (e.g. 'recommended'); options given explicitly win",
    )
    add("--seed", type=int, default=d.seed)
    add("--workers", type=int, default=d.workers)
    add("--device", default=None, help="cpu, cuda, cuda:1 (default: cuda when available)")
    add("--no-progress", action="store_true")
    add("--fold-column", type=_none_or_str, default="suggested_fold")
    add("--group-column", type=_none_or_str, default="source_group")
    add("--k-folds", type=int, default=None, help="group k-fold instead of --fold-column")


def _option_fields(options: dict, *, arch: str, backbone: str, init_from=None) -> dict:
    size = options["image_size"]
    return dict(
        arch=arch,
        backbone=backbone,
        epochs=options["epochs"],
        batch_size=options["batch_size"],
        optimizer=options["optimizer"],
        lr=options["lr"],
        weight_decay=options["weight_decay"],
        schedule=options["schedule"],
        warmup_epochs=options["warmup_epochs"],
        loss=options["loss"],
        aux_loss=options["aux_loss"],
        pretrained=options["pretrained"],
        weights_file=str(options["weights_file"]) if options["weights_file"] else None,
        init_from=str(init_from) if init_from else None,
        freeze_backbone_epochs=options["freeze_backbone_epochs"],
        backbone_lr_mult=options["backbone_lr_mult"],
        crop_size=size,
        resize_size=options["resize_size"] or round(size * 312 / 256),
        rotation_degrees=options["rotation"],
        colour_jitter=options["colour_jitter"],
        scale_range=tuple(options["scale"]) if options["scale"] else None,
        patience=options["patience"],
        threshold=options["threshold"],
        keep=options["keep"],
        flip_tta=options["flip_tta"],
        threshold_from_train=options["threshold_from_train"],
        eval_every=options["eval_every"],
        seed=options["seed"],
        workers=options["workers"],
        device=options["device"],
        progress=not options["no_progress"],
    )


def _defaults() -> dict:
    parser = argparse.ArgumentParser()
    add_training_arguments(parser)
    parser.add_argument("--arch", default=DEFAULT_ARCH)
    parser.add_argument("--backbone", default=DEFAULT_BACKBONE)
    return vars(parser.parse_args([]))


def config_from_options(
    options: dict, *, arch: str, backbone: str, init_from=None, preset_picks_model: bool = False
) -> TrainConfig:
    """A TrainConfig from command options; with ``--preset``, the preset's values replace every
    option left at its default (so options given explicitly win). The preset's architecture and
    backbone apply only with ``preset_picks_model`` (``train_model``, not ``compare_models``)."""
    fields = _option_fields(options, arch=arch, backbone=backbone, init_from=init_from)
    try:
        if options.get("preset"):
            defaults = _defaults()
            plain = _option_fields(
                defaults, arch=defaults["arch"], backbone=defaults["backbone"], init_from=None
            )
            for key, value in preset(options["preset"]).items():
                if key in ("arch", "backbone") and not preset_picks_model:
                    continue
                if fields[key] == plain[key]:
                    fields[key] = value
        if fields["pretrained"] == "none":
            fields["pretrained"] = None
        return TrainConfig(**fields)
    except ValueError as exc:
        raise CommandError(str(exc)) from exc


class Command(BaseCommand):
    help = "Train a segmentation model, validate it on group-aware folds and register it."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_data_argument(parser)
        parser.add_argument("--arch", choices=ARCHS, default=DEFAULT_ARCH)
        parser.add_argument("--backbone", choices=BACKBONES, default=DEFAULT_BACKBONE)
        add_training_arguments(parser)
        parser.add_argument("--init-from", type=Path, default=None, help="one of our checkpoints")
        parser.add_argument(
            "--val-folds",
            default=None,
            help="comma-separated folds held out for validation (default: the first fold; "
            "'none' trains on everything without validation)",
        )
        parser.add_argument("--name", default=None, help="registry name (default: arch-backbone-…)")
        parser.add_argument("--output", type=Path, default=None, help="also keep checkpoint here")
        parser.add_argument("--activate", action="store_true", help="analyse new photos with it")
        parser.add_argument("--no-register", action="store_true", help="only write --output")
        parser.add_argument(
            "--no-mdc",
            action="store_true",
            help="do not measure the model's minimal detectable change on the data's copies",
        )

    def handle(self, *args, **options) -> None:
        if options["no_register"] and options["output"] is None:
            raise CommandError("--no-register needs --output")
        with training_data(options) as data:
            self._train(data, options)

    def _train(self, data: TrainingData, options: dict) -> None:
        train_names, val_names, described = self._split(data, options)
        config = config_from_options(
            options,
            arch=options["arch"],
            backbone=options["backbone"],
            init_from=options["init_from"],
            preset_picks_model=True,
        )
        with tempfile.TemporaryDirectory() as tmp:
            output = options["output"] or Path(tmp, "checkpoint.pth")
            try:
                result = train(
                    config,
                    data_root=data.root,
                    train_names=train_names,
                    val_names=val_names,
                    output=output,
                    data_sources=data.sources(train_names, val_names),
                )
            except (ValueError, WeightsUnavailableError, FileNotFoundError) as exc:
                raise CommandError(str(exc)) from exc
            val = result.metrics.get("val_at_chosen_threshold") or result.metrics.get("val")
            if val:
                micro, per_image = val["micro"], val["per_image"]
                label = "final" if config.keep == "final" else "best"
                self.stdout.write(
                    f"{label} epoch {result.best_epoch}: validation F1 micro {micro['f1']:.4f}, "
                    f"per image {per_image['f1']:.4f}, IoU micro {micro['iou']:.4f} "
                    f"(threshold {val['threshold']})"
                )
            self.stdout.write(f"checkpoint: {output}")
            if options["no_register"]:
                return
            from segmentation.services import model_register

            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
            name = options["name"] or f"{config.arch}-{config.backbone}-{stamp}"
            mdc, notes = {}, {}
            if not options["no_mdc"] and options["group_column"]:
                from segmentation.quality import model_mdc

                mdc, notes["minimal_detectable_change"] = model_mdc(
                    output, data.root, device=options["device"], among=data.mdc_names()
                )
                self.stdout.write(f"minimal detectable change: {mdc}")
            model = model_register(
                name=name,
                checkpoint_path=output,
                architecture=config.arch,
                backbone=config.backbone,
                metrics=result.metrics,
                training_data=described,
                activate=options["activate"],
                minimal_detectable_change=mdc,
                quality_notes=notes,
            )
        state = "active" if options["activate"] else "inactive"
        self.stdout.write(self.style.SUCCESS(f"registered {model.name} ({state})"))

    def _split(self, data: TrainingData, options: dict) -> tuple[list[str], list[str], str]:
        folds = folds_from_options(options, data)
        all_names = sorted({n for fold in folds for n in fold.train + fold.val})
        wanted = options["val_folds"]
        if wanted is not None and wanted.lower() == "none":
            return all_names, [], f"{data.describe(all_names, [])}, no validation"
        chosen = wanted.split(",") if wanted else [folds[0].name]
        unknown = set(chosen) - {fold.name for fold in folds}
        if unknown:
            raise CommandError(f"unknown folds {sorted(unknown)}; have {[f.name for f in folds]}")
        val = sorted({n for fold in folds if fold.name in chosen for n in fold.val})
        train = [n for n in all_names if n not in set(val)]
        by_k = options["k_folds"] is not None or (data.union and not data.union.has_folds)
        scheme = f"{len(folds)} group k-folds" if by_k else f"column {options['fold_column']}"
        held_out = f"held-out folds {','.join(chosen)}; {scheme}"
        return train, val, f"{data.describe(train, val)} ({held_out})"
