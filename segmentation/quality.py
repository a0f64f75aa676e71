"""What the registry knows of a model's quality: its minimal detectable change per measure.

Bridges the torch predictor and the severity library for the registry's commands; imports no
diary code.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from segmentation.core import SegmentationPredictor
from segmentation.severity.repeatability import segmenter_mdc

__all__ = ["model_mdc"]


def model_mdc(
    checkpoint: Path | str,
    data_root: Path | str,
    *,
    device: str | None = None,
    progress: bool = True,
    among: Sequence[str] | None = None,
) -> tuple[dict[str, float], dict]:
    """The checkpoint's MDC95 per measure on ``data_root``'s augmented copies, and a note that
    says how it was measured (photos the model trained on give an optimistic, smaller MDC).
    ``among``: only these images (of a union, the folder whose groups are copies of a photo)."""
    predictor = SegmentationPredictor(checkpoint, device=device)
    data_root = Path(data_root)
    with (data_root / "metadata.csv").open(newline="") as handle:
        names = sorted(row["name"] for row in csv.DictReader(handle))
    if among is not None:
        names = sorted(set(names) & set(among))
    data = predictor.header.get("data", {})
    same_folder = bool(data.get("root")) and Path(data["root"]).resolve() == data_root.resolve()
    # On the training folder, prefer the photos the model held out, when it held any out.
    held_out = set(data.get("val_names") or ()) if same_folder else set()
    chosen = [name for name in names if name in held_out] if held_out else names
    mdc = segmenter_mdc(predictor, data_root, names=chosen, progress=progress)
    seen = same_folder and not held_out
    note = {
        "method": "MDC95 = 1.96 * sqrt(2) * pooled within-photo SD of each measure over the "
        "augmented copies of each source photo, with this model's masks",
        "data": str(data_root),
        "images": len(chosen),
        "photos_seen_in_training": seen,
        "caveat": (
            "measured on photos the model trained on: a lower bound of the MDC on new photos"
            if seen
            else "measured on photos the model did not train on"
            if same_folder
            else "measured on a folder other than the one the model trained on"
        ),
    }
    return mdc, note
