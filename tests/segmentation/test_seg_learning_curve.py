"""The learning curve's training subsets (``nested_group_subsets``) and ``bench/learning_curve.py``:
nested, whole groups, never a held-out group, the same for the same seed; one point trains and
leaves its record."""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segmentation.core.data import make_folds, nested_group_subsets, read_metadata
from tests.conftest import require_service

from .conftest import write_dataset

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))
VITILIGO = Path(__file__).resolve().parents[3] / "shared" / "data" / "vitiligo"
FRACTIONS = [0.25, 0.5, 0.75, 1.0]

import learning_curve  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(groups=st.lists(st.integers(0, 30), min_size=1, max_size=80), seed=st.integers(0, 999))
def test_subsets_are_nested_whole_groups_and_fixed_by_the_seed(groups, seed):
    names = [f"n{i}" for i in range(len(groups))]
    group_of = {n: str(g) for n, g in zip(names, groups, strict=True)}
    subsets = nested_group_subsets(names, group_of, FRACTIONS, seed=seed)
    assert subsets == nested_group_subsets(names, group_of, FRACTIONS, seed=seed)
    assert set(subsets[1.0]) == set(names)
    for smaller, larger in itertools.pairwise(FRACTIONS):
        assert set(subsets[smaller]) <= set(subsets[larger])
    n_groups = len(set(groups))
    for fraction, subset in subsets.items():
        chosen = {group_of[n] for n in subset}
        # Every copy of a chosen photo is in, and the share of photos is the fraction's.
        assert set(subset) == {n for n in names if group_of[n] in chosen}
        assert len(chosen) == max(1, math.floor(fraction * n_groups + 0.5))


def test_the_seed_draws_the_groups_and_a_bad_fraction_is_refused():
    names = [f"n{i}" for i in range(40)]
    group_of = {n: f"g{i // 2}" for i, n in enumerate(names)}
    draws = {nested_group_subsets(names, group_of, [0.25], seed=s)[0.25] for s in range(5)}
    assert len(draws) > 1
    with pytest.raises(ValueError):
        nested_group_subsets(names, group_of, [0.0], seed=0)


def test_the_real_folds_subsets_never_hold_a_held_out_photo():
    require_service("The shared vitiligo data set", VITILIGO.is_dir(), f"no folder {VITILIGO}")
    metadata = read_metadata(VITILIGO)
    for fold in make_folds(VITILIGO):
        held_out = {metadata[n]["source_group"] for n in fold.val}
        for seed in (0, 1):
            _, subsets, groups = learning_curve.fold_subsets(
                str(VITILIGO), fold.name, FRACTIONS, seed
            )
            assert set(subsets[1.0]) == set(fold.train)
            assert not {groups[n] for n in subsets[1.0]} & held_out
            counts = [len({groups[n] for n in subsets[f]}) for f in FRACTIONS]
            assert counts == sorted(counts) and counts[0] < counts[-1]


def test_one_seed_of_two_fractions_trains_and_reports(tmp_path):
    data = write_dataset(tmp_path / "data", count=12, size=64)
    out = tmp_path / "curve"
    result = subprocess.run(
        [sys.executable, str(BENCH / "learning_curve.py"), str(data), "--fractions", "0.5,1.0",
         "--seeds", "3", "--folds", "0", "--epochs", "1", "--jobs", "1", "--out", str(out),
         "--keep-checkpoints"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "2 jobs, 0 failed" in result.stdout
    half = json.loads((out / "f050-s3" / "unet-efficientnet_lite0-fold0.json").read_text())
    whole = json.loads((out / "f100-s3" / "unet-efficientnet_lite0-fold0.json").read_text())
    # 4 training groups in fold 0 of the synthetic set: half of them, every held-out photo scored.
    assert (
        half["learning_curve"]["train_groups"] == 2 and whole["learning_curve"]["train_groups"] == 4
    )
    assert half["val_images"] == whole["val_images"] == 4
    assert half["epochs_run"] == 1
    # Only the 100 % checkpoints are kept (for the inference tries).
    assert (out / "f100-s3" / "unet-efficientnet_lite0-fold0.pth").is_file()
    assert not list((out / "f050-s3").glob("*.pth"))
    assert "| 50% | 3 | 1 | 2.0 | 4.0 |" in result.stdout


def test_photos_needed_follows_the_log_linear_fit():
    points = [(10.0, 0.5), (100.0, 0.6)]
    assert learning_curve.photos_needed(points, 0.7) == pytest.approx(1000.0)
    assert learning_curve.photos_needed([(10.0, 0.6), (100.0, 0.5)], 0.7) is None
