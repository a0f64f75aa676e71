"""``bench/cv_grid.py``, the script behind the cross-validated tables of docs/results.md: every
run of its grids is a valid training configuration, and one run really trains, scores and
leaves the record that ``bench/cv_table.py`` reads."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from segmentation.core import TrainConfig, preset
from tests.processes import child_pids, is_running

from .conftest import write_dataset

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import cv_grid  # noqa: E402


def test_every_grid_run_is_a_valid_config_with_a_unique_name():
    runs = cv_grid.grid("all")
    assert len({run.name for run in runs}) == len(runs)
    for run in runs:
        fields = preset(run.preset) if run.preset else {}
        TrainConfig(**{**fields, **dict(run.overrides), "arch": run.arch, "backbone": run.backbone})
    by_name = {run.name: run for run in runs}
    # The recommended preset is itself a row; the earlier recipe stays reproducible.
    assert by_name["rec-s0"].overrides == (("seed", 0),)
    assert dict(by_name["rec25-s0"].overrides)["epochs"] == 25


def test_one_run_trains_and_writes_the_fold_record(tmp_path):
    data = write_dataset(tmp_path / "data", count=12, size=64)
    out = tmp_path / "cv"
    result = subprocess.run(
        [sys.executable, str(BENCH / "cv_grid.py"), str(data), "--runs", "rec-s0",
         "--folds", "0", "--epochs", "1", "--jobs", "1", "--device", "cpu", "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "1 jobs, 0 failed" in result.stdout
    record = json.loads((out / "rec-s0" / "unet-efficientnet_lite0-fold0.json").read_text())
    assert record["fold"] == "0" and record["epochs_run"] == 1
    # The record names its checkpoint beside it, not by this machine's absolute path.
    assert record["checkpoint"] == "unet-efficientnet_lite0-fold0.pth"
    assert 0.0 <= record["at_threshold"]["micro"]["f1"] <= 1.0
    assert not list((out / "rec-s0").glob("*.pth"))
    table = subprocess.run(
        [sys.executable, str(BENCH / "cv_table.py"), str(out / "rec-s0")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "unet-efficientnet_lite0 (rec-s0)" in table.stdout


def test_runs_start_in_the_order_named_and_an_unknown_name_is_refused(tmp_path):
    data = write_dataset(tmp_path / "data", count=12, size=64)
    out = tmp_path / "cv"
    command = [sys.executable, str(BENCH / "cv_grid.py"), str(data), "--folds", "none",
               "--device", "cpu", "--out", str(out), "--runs"]  # fmt: skip
    ordered = subprocess.run([*command, "rec-lr1,rec-s0,rec-e200"], capture_output=True,
                             text=True, timeout=120)  # fmt: skip
    assert ordered.returncode == 0, ordered.stderr[-2000:]
    assert list(json.loads((out / "plan.json").read_text())) == ["rec-lr1", "rec-s0", "rec-e200"]
    typo = subprocess.run([*command, "rec-s0,rec-typo"], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert typo.returncode != 0
    assert "not in the recipes grid: rec-typo" in typo.stderr


def test_a_stopped_grid_stops_its_training_processes(tmp_path):
    data = write_dataset(tmp_path / "data", count=12, size=64)
    grid = subprocess.Popen(
        [sys.executable, str(BENCH / "cv_grid.py"), str(data), "--runs", "rec-s0", "--folds",
         "0", "--epochs", "500", "--jobs", "1", "--device", "cpu", "--out", str(tmp_path / "cv")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while len(child_pids(grid.pid)) < 2:  # the resource tracker and the training process
            assert time.monotonic() < deadline and grid.poll() is None
            time.sleep(0.2)
        workers = child_pids(grid.pid)
        time.sleep(3)  # into the training
        grid.send_signal(signal.SIGTERM)
        grid.wait(timeout=60)
        deadline = time.monotonic() + 30
        while any(is_running(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [pid for pid in workers if is_running(pid)]
    finally:
        grid.kill()
