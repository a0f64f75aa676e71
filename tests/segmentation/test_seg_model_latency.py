"""``bench/model_latency.py``, the script behind the CPU speed column of docs/results.md: it times
the recommended model and the models asked for through the worker's predictor, and states each as
a ratio to the recommended model measured in the same run."""

import subprocess
import sys
from pathlib import Path

from .conftest import write_dataset

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "model_latency.py"


def test_times_the_recommended_model_and_the_one_asked_for(tmp_path):
    data = write_dataset(tmp_path / "data", count=8, size=64)
    result = subprocess.run(
        [sys.executable, str(SCRIPT), str(data), "--photos", "1", "--repeats", "1",
         "--only", "lraspp-mobilenet_v3_large"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    table = [line.strip("| ").split(" | ") for line in result.stdout.splitlines() if "px" in line]
    assert [row[0] for row in table] == ["unet / efficientnet_lite0", "lraspp / mobilenet_v3_large"]
    (_, _, ours_input, ours_ms, ours_ratio), (_, _, paper_input, paper_ms, paper_ratio) = table
    assert (ours_input, ours_ratio) == ("224 px x3", "1.00x")
    assert paper_input == "312 px x1" and float(paper_ms) > 0
    assert abs(float(paper_ratio.rstrip("x")) - float(paper_ms) / float(ours_ms)) < 0.01


def test_size_sets_the_input_of_the_other_models_not_of_the_recommended_one(tmp_path):
    data = write_dataset(tmp_path / "data", count=8, size=64)
    result = subprocess.run(
        [sys.executable, str(SCRIPT), str(data), "--photos", "1", "--repeats", "1",
         "--only", "unet-efficientnet_lite0", "--size", "256"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    table = [line.strip("| ").split(" | ") for line in result.stdout.splitlines() if "px" in line]
    assert [(row[0], row[2]) for row in table] == [
        ("unet / efficientnet_lite0", "224 px x3"),
        ("unet / efficientnet_lite0", "256 px x3"),
    ]
