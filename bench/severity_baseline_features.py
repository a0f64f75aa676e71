"""Why the baseline thresholds L* - 2 b*: mask IoU per fold for L* - w b*, w = 0..3.

    nice -n 10 .venv/bin/python bench/severity_baseline_features.py --data ../shared/data/vitiligo

Prints a Markdown table of the mean IoU against the ground-truth masks, per ``suggested_fold``.
The baseline has no training, so every image is "held out"; choosing w on this table still tunes
the baseline mildly to this data set (docs/severity.md says so).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from segmentation.severity import ColourThresholdSegmenter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/vitiligo"))
    parser.add_argument("--weights", type=float, nargs="+", default=[0.0, 1.0, 2.0, 3.0])
    args = parser.parse_args()
    rows = list(csv.DictReader((args.data / "metadata.csv").open()))
    folds = sorted({row["suggested_fold"] for row in rows})
    print("| feature | " + " | ".join(f"fold {f}" for f in folds) + " | all |")
    print("|---|" + "---|" * (len(folds) + 1))
    for weight in args.weights:
        segmenter = ColourThresholdSegmenter(yellowness_weight=weight)
        ious = []
        for row in tqdm(rows, desc=f"w={weight:g}", unit="img"):
            image = Image.open(next((args.data / "images").glob(f"{row['name']}.*")))
            truth = np.asarray(Image.open(args.data / "masks" / f"{row['name']}.png")) > 127
            mask = segmenter.predict(image).mask
            union = np.count_nonzero(mask | truth)
            ious.append(1.0 if union == 0 else np.count_nonzero(mask & truth) / union)
        ious_arr = np.array(ious)
        cells = [f"{ious_arr[[r['suggested_fold'] == f for r in rows]].mean():.3f}" for f in folds]
        print(f"| L* - {weight:g} b* | " + " | ".join(cells) + f" | {ious_arr.mean():.3f} |")


if __name__ == "__main__":
    main()
