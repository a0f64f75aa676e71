"""The registry knows each model's quality, and `make model` / `register_model` fill it."""

from __future__ import annotations

import os
import re
import subprocess
from io import StringIO
from pathlib import Path

import pytest
import torch
from django.core.management import CommandError, call_command

from segmentation.hashing import file_sha256
from segmentation.models import SegmentationModel
from segmentation.selectors import active_model_get
from segmentation.severity.repeatability import (
    MDC95_FACTOR,
    minimal_detectable_change,
    pooled_within_sd,
)

ROOT = Path(__file__).resolve().parents[2]


def _run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_pooled_within_sd_and_mdc():
    values = [1.0, 3.0, 10.0, 10.0, 5.0, 7.0, 100.0]
    groups = ["a", "a", "b", "b", "c", "c", "d"]  # d has one copy: it says nothing
    sd, n = pooled_within_sd(values, groups)
    assert n == 3 and sd == pytest.approx(((2 + 0 + 2) / 3) ** 0.5)
    rows = [{"m": v} for v in values]
    assert minimal_detectable_change(rows, groups, ["m"]) == {"m": round(MDC95_FACTOR * sd, 4)}
    assert minimal_detectable_change(rows[:4], groups[:4], ["m"]) == {}  # < 3 photos with copies


@pytest.mark.django_db
def test_register_model_checks_header_hash_and_measures_mdc(
    trained_checkpoint, dataset_dir, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"
    digest = file_sha256(trained_checkpoint)
    output = _run(
        "register_model", str(trained_checkpoint), "--name", "from-gpu-host", "--activate",
        "--sha256", digest, "--mdc-data", str(dataset_dir),
    )  # fmt: skip
    assert "registered from-gpu-host (active)" in output
    model = SegmentationModel.objects.get(name="from-gpu-host")
    assert active_model_get() == model and model.checkpoint_sha256 == digest
    assert set(model.minimal_detectable_change) <= {
        "lesion_skin_fraction",
        "delta_e2000",
        "ita_difference",
        "rgb_mean_difference_vs_rest",
        "rgb_mean_difference_vs_skin",
    }
    assert "lesion_skin_fraction" in model.minimal_detectable_change
    assert all(value >= 0 for value in model.minimal_detectable_change.values())
    assert model.quality_notes["minimal_detectable_change"]["images"] == 12

    with pytest.raises(CommandError, match="already registered as 'from-gpu-host'"):
        _run("register_model", str(trained_checkpoint))


@pytest.mark.django_db
def test_register_model_refuses_files_that_are_not_ours(trained_checkpoint, tmp_path):
    with pytest.raises(CommandError, match="not 00"):
        _run("register_model", str(trained_checkpoint), "--sha256", "00" * 32)
    garbage = tmp_path / "notes.pth"
    garbage.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CommandError, match="is not a Vitiligo Diary segmentation checkpoint"):
        _run("register_model", str(garbage))
    foreign = tmp_path / "foreign.pth"
    torch.save({"state_dict": {"w": torch.zeros(2)}}, foreign)
    with pytest.raises(CommandError, match="is not a Vitiligo Diary segmentation checkpoint"):
        _run("register_model", str(foreign))
    with pytest.raises(CommandError, match="no file at"):
        _run("register_model", str(tmp_path / "missing.pth"))
    assert not SegmentationModel.objects.exists()


def _make(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "DJANGO_MEDIA_ROOT": str(tmp_path / "media"),
        "OMP_NUM_THREADS": "1",
    }
    # As on a fresh machine: the embedded default broker (tasks in-process), not CI's Redis.
    env.pop("CELERY_BROKER_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        ["make", "--no-print-directory", "model", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
def test_make_model_trains_registers_and_activates(dataset_dir, tmp_path):
    result = _make(
        f"DATA={dataset_dir}",
        "MODEL_ARGS=--epochs 2 --image-size 32 --resize-size 64 --batch-size 4",
        tmp_path=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # One bar over the epochs, with the time left, and no stray warning (kombu's "No hostname
    # was supplied" used to come with every in-process task).
    assert re.search(r"unet-efficientnet_lite0: 100%.*\| 2/2 \[[\d:]+<[\d:]+", result.stderr)
    output = result.stdout + result.stderr
    assert not re.search(r"\bWARNING\b|Warning:|No hostname", output), output[-3000:]
    assert "registered unet-efficientnet_lite0-" in result.stdout
    assert "(active)" in result.stdout and "minimal detectable change" in result.stdout
    check = subprocess.run(
        [
            str(ROOT / ".venv/bin/python"),
            "manage.py",
            "shell",
            "-c",
            "from segmentation.selectors import active_model_get as a; m = a(); "
            "print(m.architecture, m.backbone, m.checkpoint_sha256[:8], "
            "sorted(m.minimal_detectable_change), m.metrics['kept'])",
        ],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stderr
    assert "unet efficientnet_lite0 " in check.stdout
    assert "rgb_mean_difference_vs_rest" in check.stdout
    assert "lesion_skin_fraction" in check.stdout and check.stdout.strip().endswith("final")


def test_make_model_without_data_says_what_stays_in_use(tmp_path):
    result = _make(f"DATA={tmp_path / 'nowhere'}", tmp_path=tmp_path)
    assert result.returncode != 0
    assert "no training data at" in result.stdout
    assert "colour threshold" in result.stdout
