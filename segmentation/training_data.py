"""The ``--data`` folders of the training commands: one folder, or several trained on as one.

``--data A --data B`` makes a union (:func:`segmentation.core.union_folder`) in a temporary
folder: names and groups prefixed by their folder, group-aware folds across all of them
(docs/corrections.md). Every source naming ``suggested_fold`` keeps those folds; otherwise the
union is split by group k-fold (``--k-folds``, default :data:`UNION_K_FOLDS`).
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from django.core.management.base import CommandError

from segmentation.core import FolderUnion, make_folds, union_folder
from segmentation.core.data import list_pairs

#: Group k-fold over a union whose sources do not all name their folds.
UNION_K_FOLDS = 5


def add_data_argument(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    parser.add_argument(
        "--data",
        type=Path,
        action="append",
        required=required,
        help="folder with images/, masks/ (metadata.csv); repeat it to train on several at once",
    )


@dataclass(frozen=True)
class TrainingData:
    """The folder the core reads, and the union behind it when there are several."""

    root: Path
    union: FolderUnion | None = None

    def describe(self, train: Sequence[str], val: Sequence[str]) -> str:
        """Every folder with its counts, for the registry's ``training_data``."""
        if self.union is None:
            return f"{self.root}: trained on {len(train)} images, validated on {len(val)}"
        parts = []
        for source in self.union.sources:
            n_train = len(self.union.names_of(source, train))
            n_val = len(self.union.names_of(source, val))
            parts.append(
                f"{source.folder} (as {source.prefix}): {source.images} images, "
                f"{n_train} trained on, {n_val} validated on"
            )
        return (
            f"{len(self.union.sources)} folders, trained on {len(train)} images, validated on "
            f"{len(val)}: " + "; ".join(parts)
        )

    def sources(self, train: Sequence[str], val: Sequence[str]) -> list[dict]:
        """The same, for the checkpoint's header."""
        if self.union is None:
            return []
        return [
            {
                "folder": source.folder,
                "prefix": source.prefix,
                "images": source.images,
                "train_images": len(self.union.names_of(source, train)),
                "val_images": len(self.union.names_of(source, val)),
            }
            for source in self.union.sources
        ]

    def mdc_names(self) -> list[str] | None:
        """Where a model's minimal detectable change is measured: the first folder (the shared
        data, whose groups are copies of one photo; an export's groups are patients, whose
        photos differ in time and would count real change as noise)."""
        if self.union is None:
            return None
        names = [name for name, _, _ in list_pairs(self.root)]
        return self.union.names_of(self.union.sources[0], names)


@contextlib.contextmanager
def training_data(options: dict) -> Iterator[TrainingData]:
    """The ``--data`` folders as one folder, for the duration of the command."""
    folders: list[Path] = options["data"]
    if len(folders) == 1:
        yield TrainingData(root=folders[0])
        return
    with tempfile.TemporaryDirectory(prefix="data-union-") as tmp:
        try:
            union = union_folder(
                folders,
                Path(tmp, "union"),
                group_column=options.get("group_column", "source_group"),
                fold_column=options.get("fold_column", "suggested_fold"),
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        yield TrainingData(root=union.root, union=union)


def folds_from_options(options: dict, data: TrainingData):
    """The folds of ``data``: group-aware in every case (see the module's docstring)."""
    k_folds, fold_column, group_column = (
        options["k_folds"],
        options["fold_column"],
        options["group_column"],
    )
    if data.union is not None:
        # The union always names its groups (and its folds when every source does).
        group_column, fold_column = "source_group", "suggested_fold"
        if k_folds is None and not data.union.has_folds:
            k_folds = UNION_K_FOLDS
    try:
        return make_folds(
            data.root,
            fold_column=fold_column,
            group_column=group_column,
            k_folds=k_folds,
            seed=options["seed"],
        )
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
