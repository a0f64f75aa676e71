"""The correction loop's bench (bench/correction_loop.py) on small synthetic photos: the path a
clinic takes, end to end, in one process: train on a "shared" half, upload the "clinic" half
through the API, correct it through the editor's endpoint, check the accuracy figures against an
independent computation, export with consent, cross-validate on shared + clinic. The real-data
run and its figures are in docs/results.md."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from tests.images import SKIN

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _synthetic_data(root: Path, groups: int = 8, copies: int = 2) -> Path:
    """``groups`` photos of pale patches on skin, each with ``copies`` flipped copies (one group),
    and group-aware folds 0 and 1, in the training-data layout."""
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    rng = np.random.default_rng(0)
    rows = []
    for group in range(groups):
        noise = rng.integers(-12, 12, (72, 96, 3))
        base = np.clip(np.array(SKIN) + noise, 0, 255).astype(np.uint8)
        image = Image.fromarray(base)
        mask = Image.new("L", (96, 72), 0)
        box = [10 + 5 * group, 10 + 2 * group, 50 + 4 * group, 45 + 2 * group]
        ImageDraw.Draw(image).ellipse(box, fill=(236, 214, 200))
        ImageDraw.Draw(mask).ellipse(box, fill=255)
        for copy in range(copies):
            name = f"syn_{group:02d}_{copy}"
            flip = Image.Transpose.FLIP_LEFT_RIGHT
            out_image, out_mask = (
                (image, mask)
                if copy == 0
                else (
                    image.transpose(flip),
                    mask.transpose(flip),
                )
            )
            out_image.save(root / "images" / f"{name}.png")
            out_mask.save(root / "masks" / f"{name}.png")
            rows.append({"name": name, "source_group": f"g{group}", "suggested_fold": group % 2})
    with open(root / "metadata.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["name", "source_group", "suggested_fold"])
        writer.writeheader()
        writer.writerows(rows)
    return root


def test_the_correction_loop_runs_end_to_end_on_synthetic_photos(tmp_path):
    data = _synthetic_data(tmp_path / "data")
    out = tmp_path / "loop"
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "correction_loop.py"), str(data), "--out", str(out),
         "--epochs", "1", "--seed", "0", "--folds", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "CI": "true"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads((out / "report.json").read_text())
    clinic = report["clinic_run"]
    # Every clinic photo was uploaded, analysed and corrected through the API ...
    assert clinic["uploaded"] == report["clinic"]["images"] > 0
    # ... and the accuracy page's figures equal the independent ones (the script stops otherwise).
    assert clinic["accuracy_page"]["overall"]["photos"] == clinic["uploaded"]
    assert clinic["evaluate_model"]["overall"] == clinic["accuracy_page"]["overall"]
    # The patient without research consent is not exported.
    exported = report["exported"]
    assert exported["left_out_without_consent"] > 0
    assert exported["images"] == report["clinic"]["images"] - exported["left_out_without_consent"]
    # Both cross-validations ran on the same held-out photos, whole groups held out.
    shared_only, both = report["cv"]["shared only"], report["cv"]["shared + clinic"]
    assert [f["val_images"] for f in shared_only] == [f["val_images"] for f in both]
    assert all(
        s["train_images"] < b["train_images"] for s, b in zip(shared_only, both, strict=True)
    )
