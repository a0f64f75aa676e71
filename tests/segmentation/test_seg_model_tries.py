"""``bench/model_tries.py`` and ``bench/model_mdc.py`` run on out-of-fold checkpoints (tiny ones
here) and refuse a checkpoint that saw the photos it would score."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from segmentation.core import TrainConfig, make_folds, train

from .conftest import write_dataset

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def out_of_fold(tmp_path_factory):
    """A synthetic set and two seeds of one-epoch checkpoints per fold, named by seed and fold."""
    root = tmp_path_factory.mktemp("tries")
    data = write_dataset(root / "data", count=12, size=64)
    for seed in (0, 1):
        config = TrainConfig(
            arch="lraspp", backbone="mobilenet_v3_large", epochs=1, batch_size=4,
            resize_size=64, crop_size=64, flip_tta=True, seed=seed, progress=False,
        )  # fmt: skip
        for fold in make_folds(data):
            train(config, data_root=data, train_names=fold.train, val_names=fold.val,
                  output=root / f"s{seed}-fold{fold.name}.pth")  # fmt: skip
    return data, str(root / "s{seed}-fold{fold}.pth")


def _run(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(BENCH / script), *args], capture_output=True, text=True, timeout=600
    )


def test_the_tries_score_every_variant_seed_and_the_ensemble(out_of_fold, tmp_path):
    data, pattern = out_of_fold
    common = ["--checkpoints", pattern, "--cache", str(tmp_path / "cache")]
    # Seed 0 first, then both seeds: the second run reads seed 0's probabilities back.
    first = _run("model_tries.py", str(data), *common, "--seeds", "0", "--out", str(tmp_path / "a"))
    assert first.returncode == 0, first.stderr[-2000:]
    done = _run("model_tries.py", str(data), *common, "--out", str(tmp_path / "t.json"))
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads((tmp_path / "t.json").read_text())
    assert set(results) == {"flip TTA, 224 px (today)", "native resolution, 416 px",
                            "multi-scale 192/224/288"}  # fmt: skip
    alone = json.loads((tmp_path / "a").read_text())
    for name, by_model in results.items():
        assert set(by_model) == {"0", "1", "ensemble"}
        assert all(set(by_fold) == {"0", "1", "2"} for by_fold in by_model.values())
        assert by_model["0"] == alone[name]["0"]
    assert len(list((tmp_path / "cache").rglob("*.npy"))) == 3 * 2 * 12
    assert "| multi-scale 192/224/288 | ensemble of the seeds |" in done.stdout


def test_the_mdc_of_the_models_and_the_truth_on_both_kinds_of_copies(out_of_fold, tmp_path):
    data, pattern = out_of_fold
    done = _run("model_mdc.py", str(data), "--checkpoints", pattern, "--copies", "2",
                "--out", str(tmp_path / "m.json"))  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads((tmp_path / "m.json").read_text())
    assert results["photos"] == {"augmented copies": 12, "second photos": 6}
    for kind in ("augmented copies", "second photos"):
        assert set(results[kind]) == {"ground truth", "seed 0", "seed 1", "ensemble"}
    assert results["second photos"]["ground truth"]["lesion_skin_fraction"] >= 0


def test_a_checkpoint_that_saw_the_scored_photos_is_refused(out_of_fold):
    data, pattern = out_of_fold
    leaking = pattern.replace("{fold}", "0")  # fold 0's model for every fold
    done = _run("model_tries.py", str(data), "--checkpoints", leaking, "--seeds", "0")
    assert done.returncode != 0 and "saw photos of fold" in done.stderr
