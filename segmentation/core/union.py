"""Several data folders trained on as one, with group-aware folds across all of them.

:func:`union_folder` writes a folder in the usual layout (``images/``, ``masks/``,
``metadata.csv``) whose files are links to the sources' files, so every reader of one folder
(``list_pairs``, ``make_folds``, ``SegmentationFolder``, ``train``) reads the union unchanged.
Names and groups are prefixed by their folder (``vitiligo__vit_000``, ``vitiligo:3bb0b829``) so
that two folders cannot share a name or a group by accident: a group is one photo's copies in
the shared data and one patient in a clinic's export, and is never split across folds.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .data import list_pairs, read_metadata

__all__ = ["FolderUnion", "UnionSource", "union_folder"]

SEPARATOR = "__"


@dataclass(frozen=True)
class UnionSource:
    folder: str
    prefix: str
    images: int
    has_groups: bool
    has_folds: bool


@dataclass(frozen=True)
class FolderUnion:
    root: Path
    sources: tuple[UnionSource, ...]

    @property
    def has_folds(self) -> bool:
        """Every source names its folds: the union keeps them (else: group k-fold over it)."""
        return all(source.has_folds for source in self.sources)

    def names_of(self, source: UnionSource, names: Sequence[str]) -> list[str]:
        """Those of ``names`` that come from ``source``."""
        return [name for name in names if name.startswith(source.prefix + SEPARATOR)]


def _prefixes(roots: Sequence[Path]) -> list[str]:
    taken: list[str] = []
    for root in roots:
        base = re.sub(r"[^A-Za-z0-9]+", "-", Path(root).resolve().name).strip("-") or "data"
        prefix, n = base, 2
        while prefix in taken:
            prefix, n = f"{base}-{n}", n + 1
        taken.append(prefix)
    return taken


def _link(source: Path, target: Path) -> None:
    try:
        os.symlink(source.resolve(), target)
    except OSError:  # a file system without links: a copy reads the same
        shutil.copyfile(source, target)


def _has(metadata: dict[str, dict[str, str]], names: Sequence[str], column: str | None) -> bool:
    return column is not None and all(column in metadata.get(name, {}) for name in names)


def union_folder(
    roots: Sequence[Path | str],
    dest: Path | str,
    *,
    group_column: str | None = "source_group",
    fold_column: str | None = "suggested_fold",
) -> FolderUnion:
    """Write the union of ``roots`` to ``dest`` (which must not exist).

    Its ``metadata.csv`` has ``name``, ``source_group`` (each source's ``group_column``, or the
    image itself where a source has none), ``source`` and ``source_name``, and ``suggested_fold``
    only when every source has ``fold_column``.
    """
    if len(roots) < 2:
        raise ValueError("a union needs two data folders or more")
    dest = Path(dest)
    (dest / "images").mkdir(parents=True)
    (dest / "masks").mkdir()
    prepared = []
    for root, prefix in zip(roots, _prefixes([Path(r) for r in roots]), strict=True):
        pairs = list_pairs(root)
        metadata = read_metadata(root)
        prepared.append((root, prefix, pairs, metadata))
    sources = tuple(
        UnionSource(
            folder=str(root),
            prefix=prefix,
            images=len(pairs),
            has_groups=_has(metadata, [n for n, _, _ in pairs], group_column),
            has_folds=_has(metadata, [n for n, _, _ in pairs], fold_column),
        )
        for root, prefix, pairs, metadata in prepared
    )
    keep_folds = all(source.has_folds for source in sources)
    rows = []
    for (_, prefix, pairs, metadata), source in zip(prepared, sources, strict=True):
        for name, image, mask in pairs:
            union_name = f"{prefix}{SEPARATOR}{name}"
            _link(image, dest / "images" / f"{union_name}{image.suffix}")
            _link(mask, dest / "masks" / f"{union_name}.png")
            group = metadata[name][group_column] if source.has_groups else name
            row = {
                "name": union_name,
                "source_group": f"{prefix}:{group}",
                "source": prefix,
                "source_name": name,
            }
            if keep_folds:
                row["suggested_fold"] = metadata[name][fold_column]
            rows.append(row)
    columns = ["name", "source_group", "source", "source_name"]
    if keep_folds:
        columns.append("suggested_fold")
    with (dest / "metadata.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return FolderUnion(root=dest, sources=sources)
