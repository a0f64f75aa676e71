"""The benchmark scripts run as the docs show them (`python bench/NAME.py ...`) from any directory.

They are not tests themselves; this only proves that each one starts: imports resolve without
PYTHONPATH (one once failed with ModuleNotFoundError) and its argument parser answers --help.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.mark.parametrize("script", sorted(BENCH.glob("*.py")), ids=lambda path: path.name)
def test_bench_script_starts_from_another_directory(script, tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, str(script), "--help"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage:")
