"""Tiny synthetic lesion data: light patches on skin-coloured backgrounds, written to tmp_path."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

# Keep the suite polite on shared 2-core CI runners.
torch.set_num_threads(min(2, torch.get_num_threads()))


def make_pair(rng: np.random.Generator, size: int = 64) -> tuple[Image.Image, Image.Image]:
    """A skin-toned image with one or two lighter elliptical patches, and its 0/255 mask."""
    skin = np.array([rng.uniform(150, 210), rng.uniform(100, 150), rng.uniform(80, 120)])
    image = np.clip(skin + rng.normal(0, 6, (size, size, 3)), 0, 255)
    yy, xx = np.mgrid[0:size, 0:size]
    mask = np.zeros((size, size), dtype=bool)
    for _ in range(rng.integers(1, 3)):
        cy, cx = rng.uniform(0.2, 0.8, 2) * size
        ry, rx = rng.uniform(0.08, 0.25, 2) * size
        mask |= ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
    image[mask] = np.clip(image[mask] + np.array([50, 80, 90]), 0, 255)
    return (
        Image.fromarray(image.astype(np.uint8)),
        Image.fromarray((mask * 255).astype(np.uint8)),
    )


def write_dataset(root: Path, count: int = 12, size: int = 64, seed: int = 0) -> Path:
    """``count`` pairs in ``root``; pairs of images share a ``source_group``; 3 folds of groups."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    rows = []
    for i in range(count):
        image, mask = make_pair(rng, size)
        name = f"img_{i:03d}"
        image.save(root / "images" / f"{name}.png")
        mask.save(root / "masks" / f"{name}.png")
        group = i // 2
        rows.append({"name": name, "source_group": f"g{group}", "suggested_fold": str(group % 3)})
    with (root / "metadata.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["name", "source_group", "suggested_fold"])
        writer.writeheader()
        writer.writerows(rows)
    return root


@pytest.fixture
def dataset_dir(tmp_path: Path) -> Path:
    return write_dataset(tmp_path / "data")


@pytest.fixture(scope="session")
def trained_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny lraspp checkpoint trained for one epoch, shared by the read-only tests."""
    from segmentation.core import TrainConfig, train

    root = write_dataset(tmp_path_factory.mktemp("ckpt") / "data", count=6)
    names = [f"img_{i:03d}" for i in range(6)]
    config = TrainConfig(
        arch="lraspp",
        backbone="mobilenet_v3_large",
        epochs=1,
        batch_size=2,
        resize_size=72,
        crop_size=64,
        progress=False,
    )
    output = root.parent / "model.pth"
    train(config, data_root=root, train_names=names[:4], val_names=names[4:], output=output)
    return output
