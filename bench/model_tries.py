"""Inference-only tries on out-of-fold checkpoints: test-time augmentation at other sizes and an
ensemble of seeds, against today's predictor (flip TTA at the checkpoint's 224 px).

Not a test. Each fold's checkpoint (``--checkpoints`` with ``{seed}`` and ``{fold}``) predicts the
photos of the fold it never saw, through ``SegmentationPredictor`` (``sizes=`` for the size
tries) and the library's scoring (``evaluate_segmenter``: the masks' own 416 px), at the
threshold each checkpoint chose on its training photos; nothing is picked on the scored photos.
Prints micro and per-image F1 per variant and seed (mean ± SD over folds, per fold), and the
per-image F1 of the photos whose lesion covers under 10 % of the frame (the known failure).

    nice -n 15 .venv/bin/python bench/model_tries.py ../shared/data/vitiligo \\
        --checkpoints 'var/learning-curve/f100-s{seed}/unet-efficientnet_lite0-fold{fold}.pth' \\
        --out docs/cv/learning-curve/tries.json
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from segmentation import core  # noqa: E402
from segmentation.segmenter import Prediction  # noqa: E402

#: name -> predictor sizes (None: the checkpoint's own, i.e. today's predictor).
VARIANTS: dict[str, tuple[int, ...] | None] = {
    "flip TTA, 224 px (today)": None,
    "native resolution, 416 px": (416,),
    "multi-scale 192/224/288": (192, 224, 288),
}
SMALL = 0.10  # lesion share under which a photo counts as a small lesion


class Stored:
    """Predictions made once, handed back to the library's scoring by image identity (the data
    folder caches its decoded photos); ``ensemble`` averages several seeds' probabilities at the
    mean of their thresholds, without running any network again."""

    def __init__(self, by_image: dict[int, Prediction], threshold: float) -> None:
        self.by_image, self.threshold = by_image, threshold
        self.version_label = "stored"

    @classmethod
    def ensemble(cls, members: list[Stored]) -> Stored:
        threshold = round(statistics.mean(m.threshold for m in members), 2)
        by_image = {}
        for key in members[0].by_image:
            mean = np.mean([m.by_image[key].probabilities for m in members], axis=0)
            mean = mean.astype(np.float32)
            by_image[key] = Prediction(mean, mean >= threshold, threshold)
        return cls(by_image, threshold)

    def predict_batch(self, images: list) -> list[Prediction]:
        return [self.by_image[id(image)] for image in images]


def cached_predictions(
    predictor: core.SegmentationPredictor, images: list, keys: list[str], cache: Path | None
) -> list[Prediction]:
    """The predictor's predictions of ``images``; with ``cache``, each image's probabilities are
    read from (or written to) ``cache/KEY.npy``, so that a later run with more seeds (for the
    ensemble) does not run the first seeds' networks again on a busy CPU."""
    paths = [cache / f"{key}.npy" for key in keys] if cache else [None] * len(keys)
    missing = [i for i, path in enumerate(paths) if path is None or not path.is_file()]
    fresh = dict(zip(missing, predictor.predict_batch([images[i] for i in missing]), strict=True))
    results = []
    for i, path in enumerate(paths):
        if i in fresh:
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                np.save(path, fresh[i].probabilities)
            results.append(fresh[i])
        else:
            probabilities = np.load(path)
            mask = probabilities >= predictor.threshold
            results.append(Prediction(probabilities, mask, predictor.threshold))
    return results


def score(segmenter, val_set: core.SegmentationFolder) -> dict:
    meter = core.evaluate_segmenter(segmenter, val_set)
    summary = meter.summary(segmenter.threshold)
    rows = meter.per_image(segmenter.threshold)
    small = [row["f1"] for row in rows if 0 < row["lesion_share"] < SMALL]
    over = [row["predicted_share"] / row["lesion_share"] for row in rows if row["lesion_share"]]
    return {
        "threshold": segmenter.threshold,
        "micro_f1": summary["micro"]["f1"],
        "per_image_f1": summary["per_image"]["f1"],
        "small_lesion_f1": statistics.mean(small) if small else None,
        "small_lesion_photos": len(small),
        "median_predicted_over_true_area": statistics.median(over) if over else None,
        "at_0.5": {k: meter.summary(0.5)[k]["f1"] for k in ("micro", "per_image")},
    }


def run(data: Path, pattern: str, seeds: list[int], cache: Path | None = None, only=None) -> dict:
    """``{variant: {seed or "ensemble": {fold: scores}}}`` (the folds named in ``only``, or all)."""
    results: dict[str, dict[str, dict[str, dict]]] = {}
    folds = core.make_folds(data, fold_column="suggested_fold")
    folds = [fold for fold in folds if only is None or fold.name in only]
    jobs = [(fold, name) for fold in folds for name in VARIANTS]
    for fold, name in tqdm(jobs, desc="tries", unit="variant"):
        val_set = core.SegmentationFolder(data, names=fold.val)
        images = [val_set.load(i)[0] for i in range(len(val_set))]
        members = []
        for seed in seeds:
            checkpoint = pattern.format(seed=seed, fold=fold.name)
            predictor = core.SegmentationPredictor(checkpoint, device="cpu", sizes=VARIANTS[name])
            held_out = set(predictor.header["data"]["val_names"])
            if not set(fold.val) <= held_out:
                raise SystemExit(f"{checkpoint} saw photos of fold {fold.name}")
            variant = re.sub(r"[^a-z0-9]+", "-", name.lower())
            tag = f"tries/{Path(checkpoint).stem}-s{seed}/{variant}"
            keys = [f"{tag}/{image_name}" for image_name in val_set.names]
            predictions = cached_predictions(predictor, images, keys, cache)
            stored = Stored({id(i): p for i, p in zip(images, predictions, strict=True)},
                            predictor.threshold)  # fmt: skip
            members.append(stored)
            results.setdefault(name, {}).setdefault(str(seed), {})[fold.name] = score(
                stored, val_set
            )
        if len(members) > 1:
            scores = score(Stored.ensemble(members), val_set)
            results[name].setdefault("ensemble", {})[fold.name] = scores
    return results


def table(results: dict) -> str:
    lines = [
        "| variant | model | F1 micro | F1 per image | F1 per image, lesion < 10 % "
        "| predicted / true area (median) | per fold (micro / per image) |",
        "|---|---|---|---|---|---|---|",
    ]

    def mean_sd(values: list[float]) -> str:
        if len(values) < 2:
            return f"{values[0]:.3f}"
        return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"

    for name, by_model in results.items():
        for model, by_fold in by_model.items():
            folds = [by_fold[k] for k in sorted(by_fold)]
            small = [f["small_lesion_f1"] for f in folds if f["small_lesion_f1"] is not None]
            cells = ", ".join(
                f"{k}: {by_fold[k]['micro_f1']:.3f} / {by_fold[k]['per_image_f1']:.3f}"
                for k in sorted(by_fold)
            )
            ratio = statistics.median(f["median_predicted_over_true_area"] for f in folds)
            label = f"seed {model}" if model != "ensemble" else "ensemble of the seeds"
            lines.append(
                f"| {name} | {label} | {mean_sd([f['micro_f1'] for f in folds])} "
                f"| {mean_sd([f['per_image_f1'] for f in folds])} | {statistics.mean(small):.3f} "
                f"| {ratio:.2f} | {cells} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--checkpoints", required=True, help="path with {seed} and {fold}")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--out", type=Path, default=None, help="JSON of every fold's scores")
    parser.add_argument("--cache", type=Path, default=None, help="folder of probabilities")
    parser.add_argument("--folds", default=None, help="comma-separated fold names (all)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    seeds = [int(s) for s in args.seeds.split(",")]
    only = args.folds.split(",") if args.folds else None
    results = run(args.data, args.checkpoints, seeds, args.cache, only)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1))
    print(table(results))


if __name__ == "__main__":
    main()
