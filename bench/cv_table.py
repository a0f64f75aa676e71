"""Gather the fold records of several ``compare_models`` output folders into one table.

    .venv/bin/python bench/cv_table.py var/cv/rec-s0 var/cv/scratch-s0 ... [--label DIR=NAME]

Each folder holds ``<model>-fold<k>.json`` records (one per fold, written by ``compare_models``,
possibly by one process per fold). Prints the Markdown table of ``compare_models`` (mean ± sd over
folds, at each model's own threshold) and the per-fold micro / per-image F1.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from segmentation.core.compare import ModelResult, markdown_table


def load(folder: Path, label: str | None) -> ModelResult:
    records = sorted(folder.glob("*-fold*.json"), key=lambda p: p.stem.rsplit("fold", 1)[1])
    if not records:
        raise SystemExit(f"{folder}: no fold records")
    folds = [json.loads(path.read_text()) for path in records]
    name = label or f"{records[0].stem.rsplit('-fold', 1)[0]} ({folder.name})"
    row = ModelResult(name=name, folds=folds)
    row.parameters = folds[0].get("parameters")
    times = [f["ms_per_image"] for f in folds if f.get("ms_per_image") is not None]
    row.ms_per_image = statistics.median(times) if times else None
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--label", action="append", default=[], help="DIR=NAME")
    args = parser.parse_args()
    labels = dict(item.split("=", 1) for item in args.label)
    rows = [load(folder, labels.get(str(folder))) for folder in args.folders]
    print(markdown_table(rows))
    print("\nper fold (micro F1 / per-image F1 at the model's threshold):\n")
    for row in rows:
        cells = []
        for fold in row.folds:
            scored = fold.get("at_threshold", fold["at_0.5"])
            cells.append(
                f"fold {fold['fold']}: {scored['micro']['f1']:.3f} / "
                f"{scored['per_image']['f1']:.3f} (t={scored['threshold']})"
            )
        print(f"- {row.name}: " + "; ".join(cells))


if __name__ == "__main__":
    main()
