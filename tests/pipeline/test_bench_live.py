"""The live benchmarks run end to end on a tiny archive (their figures are not checked: speed
claims live in the scripts' output, docs/performance.md). They use the test database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.images import photo_bytes
from tests.pipeline.conftest import redis_url

pytestmark = [pytest.mark.services, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    from django.db import connection

    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def _run(script: str, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": _database_url(), "CELERY_BROKER_URL": redis_url()}
    done = subprocess.run(
        [sys.executable, f"bench/{script}", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


@pytest.fixture
def jpeg_folder(tmp_path) -> Path:
    import io

    from PIL import Image

    folder = tmp_path / "images"
    folder.mkdir()
    for n in range(2):
        with Image.open(io.BytesIO(photo_bytes((160, 120), colour_shift=n))) as image:
            image.convert("RGB").save(folder / f"photo-{n}.jpg", quality=95)
    return folder


def test_reanalysis_bench_reanalyses_the_archive_in_each_layout(live_services, jpeg_folder):
    out = _run("reanalysis.py", "--photos", "3", "--model", "lraspp", "--resize", "64",
               "--batch-size", "2", "--size", "160", "--images", str(jpeg_folder))  # fmt: skip
    from config.worker_threads import host_cores

    cores = host_cores()
    table = [line for line in out.splitlines() if line.startswith("| ")]
    layouts = [line.split(" | ")[0].strip("| ") for line in table[1:4]]
    assert layouts == ["current", f"{cores} procs x all cores", f"{cores} procs x rule"]
    assert "| forward pass |" in out and "**outside the forward pass**" in out


def test_latency_bench_measures_both_modes(live_services, jpeg_folder):
    out = _run("latency.py", "--singles", "1", "--burst", "2", "--model", "baseline",
               "--size", "160", "--images", str(jpeg_folder))  # fmt: skip
    rows = [line for line in out.splitlines() if line.startswith(("| embedded", "| postgres"))]
    assert [row.split(" | ")[0] for row in rows] == ["| embedded", "| postgres+redis"]
