"""Image/mask folders and group-aware splits.

A data folder holds ``images/NAME.(jpg|png|...)`` and ``masks/NAME.png`` (0 background, 255 lesion),
plus an optional ``metadata.csv`` with one row per image keyed by ``name``. Augmented copies of one
photo share a group (``source_group``); splits never put one group on both sides.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image, ImageOps

from segmentation.hashing import file_sha256

__all__ = [
    "IMAGE_SUFFIXES",
    "Fold",
    "SegmentationFolder",
    "data_fingerprint",
    "folds_from_column",
    "group_kfold",
    "list_pairs",
    "make_folds",
    "nested_group_subsets",
    "read_metadata",
]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def list_pairs(root: Path | str) -> list[tuple[str, Path, Path]]:
    """``(name, image_path, mask_path)`` for every image of ``root``, sorted by name.

    Raises ValueError when an image has no mask, so a half-copied folder is not silently used.
    """
    root = Path(root)
    image_dir, mask_dir = root / "images", root / "masks"
    if not image_dir.is_dir() or not mask_dir.is_dir():
        raise ValueError(f"{root} must contain images/ and masks/ folders")
    pairs = []
    for image_path in sorted(image_dir.iterdir()):
        if image_path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        mask_path = mask_dir / f"{image_path.stem}.png"
        if not mask_path.is_file():
            raise ValueError(f"no mask {mask_path} for image {image_path}")
        pairs.append((image_path.stem, image_path, mask_path))
    if not pairs:
        raise ValueError(f"no images in {image_dir}")
    return pairs


def read_metadata(root: Path | str) -> dict[str, dict[str, str]]:
    """Rows of ``root/metadata.csv`` keyed by their ``name`` column ({} when there is no file)."""
    path = Path(root) / "metadata.csv"
    if not path.is_file():
        return {}
    with path.open(newline="", encoding="utf-8") as handle:
        return {row["name"]: row for row in csv.DictReader(handle)}


def load_pair(image_path: Path, mask_path: Path) -> tuple[Image.Image, Image.Image]:
    """RGB image (EXIF orientation applied) and single-channel mask of the same size."""
    with Image.open(image_path) as raw:
        image = ImageOps.exif_transpose(raw).convert("RGB")
    with Image.open(mask_path) as raw:
        mask = raw.convert("L")
    if image.size != mask.size:
        raise ValueError(f"{image_path} is {image.size} but its mask is {mask.size}")
    return image, mask


class SegmentationFolder(torch.utils.data.Dataset):
    """The pairs of a data folder, optionally restricted to ``names``.

    Decoded images are cached in memory (the sets here are a few hundred images) because PNG
    decoding would otherwise dominate a CPU epoch.
    """

    def __init__(
        self,
        root: Path | str,
        *,
        names: Iterable[str] | None = None,
        transforms: Callable[[Any, Any], tuple[Any, Any]] | None = None,
        cache: bool = True,
    ) -> None:
        self.root = Path(root)
        pairs = list_pairs(self.root)
        if names is not None:
            wanted = set(names)
            unknown = wanted - {name for name, _, _ in pairs}
            if unknown:
                raise ValueError(f"unknown names in {self.root}: {sorted(unknown)[:5]}")
            pairs = [pair for pair in pairs if pair[0] in wanted]
        self.pairs = pairs
        self.transforms = transforms
        self.cache = cache
        self._cache: dict[int, tuple[Image.Image, Image.Image]] = {}

    @property
    def names(self) -> list[str]:
        return [name for name, _, _ in self.pairs]

    def __len__(self) -> int:
        return len(self.pairs)

    def load(self, index: int) -> tuple[Image.Image, Image.Image]:
        """The untransformed PIL pair."""
        if index in self._cache:
            return self._cache[index]
        _, image_path, mask_path = self.pairs[index]
        pair = load_pair(image_path, mask_path)
        if self.cache:
            self._cache[index] = pair
        return pair

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        image, mask = self.load(index)
        if self.transforms is not None:
            return self.transforms(image, mask)
        return image, mask


@dataclass(frozen=True)
class Fold:
    """One train/validation split, by image names."""

    name: str
    train: tuple[str, ...]
    val: tuple[str, ...]


def _groups_for(names: Sequence[str], metadata: dict[str, dict[str, str]], column: str | None):
    if column is None:
        # Without a group column every image is its own group (e.g. PH2: one photo per image).
        return {name: name for name in names}
    missing = [name for name in names if name not in metadata or column not in metadata[name]]
    if missing:
        raise ValueError(f"metadata has no {column!r} for {missing[:5]}")
    return {name: metadata[name][column] for name in names}


def group_kfold(
    names: Sequence[str],
    metadata: dict[str, dict[str, str]],
    *,
    k: int,
    group_column: str | None = "source_group",
    seed: int = 0,
) -> list[Fold]:
    """k folds over shuffled groups, balanced by image count (largest groups placed first)."""
    if k < 2:
        raise ValueError(f"k must be >= 2, got {k}")
    groups = _groups_for(names, metadata, group_column)
    members: dict[str, list[str]] = {}
    for name in names:
        members.setdefault(groups[name], []).append(name)
    if len(members) < k:
        raise ValueError(f"{len(members)} groups cannot fill {k} folds")
    order = torch.randperm(len(members), generator=torch.Generator().manual_seed(seed)).tolist()
    keys = [sorted(members)[i] for i in order]
    keys.sort(key=lambda key: -len(members[key]))  # stable: shuffled order breaks ties
    buckets: list[list[str]] = [[] for _ in range(k)]
    for key in keys:
        smallest = min(range(k), key=lambda i: len(buckets[i]))
        buckets[smallest].extend(members[key])
    return [
        Fold(
            name=f"{i}",
            train=tuple(sorted(n for j, b in enumerate(buckets) if j != i for n in b)),
            val=tuple(sorted(buckets[i])),
        )
        for i in range(k)
    ]


def folds_from_column(
    names: Sequence[str],
    metadata: dict[str, dict[str, str]],
    *,
    column: str = "suggested_fold",
    group_column: str | None = "source_group",
    values: Sequence[str] | None = None,
) -> list[Fold]:
    """One fold per value of ``column`` (or per value in ``values``): that value is validation.

    Raises ValueError when a group appears under two fold values, since the folds would leak.
    """
    fold_of = _groups_for(names, metadata, column)
    if group_column is not None:
        groups = _groups_for(names, metadata, group_column)
        seen: dict[str, str] = {}
        for name in names:
            previous = seen.setdefault(groups[name], fold_of[name])
            if previous != fold_of[name]:
                raise ValueError(
                    f"group {groups[name]!r} is in folds {previous} and {fold_of[name]}"
                )
    available = sorted(set(fold_of.values()))
    chosen = list(values) if values is not None else available
    unknown = set(chosen) - set(available)
    if unknown:
        raise ValueError(f"unknown {column} values {sorted(unknown)}; available: {available}")
    return [
        Fold(
            name=str(value),
            train=tuple(n for n in names if fold_of[n] != value),
            val=tuple(n for n in names if fold_of[n] == value),
        )
        for value in chosen
    ]


def nested_group_subsets(
    names: Sequence[str],
    groups: dict[str, str],
    fractions: Sequence[float],
    *,
    seed: int,
) -> dict[float, tuple[str, ...]]:
    """For each fraction, the images of that share of the groups of ``names`` (a training fold).

    The groups are shuffled once by ``seed`` and every fraction takes a prefix of that order, so
    a smaller subset always lies inside a larger one (a learning curve then adds photos, it does
    not swap them) and augmented copies of one photo go in or out together. At least one group.
    """
    if any(not 0.0 < f <= 1.0 for f in fractions):
        raise ValueError(f"fractions must lie in (0, 1], got {list(fractions)}")
    members: dict[str, list[str]] = {}
    for name in names:
        members.setdefault(groups[name], []).append(name)
    keys = sorted(members)
    order = torch.randperm(len(keys), generator=torch.Generator().manual_seed(seed)).tolist()
    shuffled = [keys[i] for i in order]
    subsets = {}
    for fraction in fractions:
        # Half rounds up, so 25 % of 34 groups is 9, not banker's 8.
        count = max(1, int(fraction * len(shuffled) + 0.5))
        subsets[fraction] = tuple(sorted(n for key in shuffled[:count] for n in members[key]))
    return subsets


def data_fingerprint(root: Path | str, names: Iterable[str]) -> str:
    """sha256 over the names and bytes of the given images and masks: which data, exactly."""
    by_name = {name: (image, mask) for name, image, mask in list_pairs(root)}
    digest = hashlib.sha256()
    for name in sorted(set(names)):
        image, mask = by_name[name]
        digest.update(f"{name}:{file_sha256(image)}:{file_sha256(mask)}\n".encode())
    return digest.hexdigest()


def make_folds(
    root: Path | str,
    *,
    fold_column: str | None = "suggested_fold",
    group_column: str | None = "source_group",
    k_folds: int | None = None,
    seed: int = 0,
) -> list[Fold]:
    """The folds of a data folder: ``k_folds`` group-aware folds when given, else one fold per
    value of ``fold_column`` in ``metadata.csv``.

    ``group_column`` None (or absent from the metadata) makes each image its own group.
    """
    names = [name for name, _, _ in list_pairs(root)]
    metadata = read_metadata(root)

    def has(column: str) -> bool:
        return bool(metadata) and all(column in row for row in metadata.values())

    if group_column is not None and not has(group_column):
        group_column = None
    if k_folds is not None:
        return group_kfold(names, metadata, k=k_folds, group_column=group_column, seed=seed)
    if fold_column is None or not has(fold_column):
        raise ValueError(f"{root}/metadata.csv has no {fold_column!r} column: pass k_folds")
    return folds_from_column(names, metadata, column=fold_column, group_column=group_column)
