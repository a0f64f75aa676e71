"""The minimal detectable change (MDC95) of the severity measures with a model's own masks, out of
fold, on the data set's augmented copies and on realistic second photos, beside the ground truth.

Not a test. Each photo is predicted by the checkpoint of the fold that held it out
(``--checkpoints`` with ``{seed}`` and ``{fold}``; the ensemble of the seeds too when several are
given). Two kinds of "the same skin photographed twice":

- the data set's augmented copies (its ``source_group``s: exact quarter turns, flips, pasted
  patches), as ``docs/progression.md`` measures the MDC today; flip test-time augmentation
  makes flipped copies agree by construction, so these flatter a model;
- ``--copies`` realistic second photos of the first image of each group
  (``segmentation.registration.synthetic.second_photo``: arbitrary rotation, scale, shift, mild
  perspective, lighting, JPEG re-compression; the ground-truth mask moved with the image).

The MDC is the library's (``segmentation.severity.repeatability.minimal_detectable_change``:
1.96 x sqrt(2) x the pooled within-photo SD).

    nice -n 15 .venv/bin/python bench/model_mdc.py ../shared/data/vitiligo \\
        --checkpoints 'var/learning-curve/f100-s{seed}/unet-efficientnet_lite0-fold{fold}.pth' \\
        --out docs/cv/learning-curve/mdc.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from segmentation import core  # noqa: E402
from segmentation.core.data import list_pairs, load_pair, read_metadata  # noqa: E402
from segmentation.registration.synthetic import second_photo  # noqa: E402
from segmentation.severity.measures import measure_severity  # noqa: E402
from segmentation.severity.repeatability import (  # noqa: E402
    MDC_MEASURES,
    minimal_detectable_change,
)

sys.path.insert(0, str(ROOT / "bench"))
from model_tries import cached_predictions  # noqa: E402


def _measures(image: np.ndarray, mask: np.ndarray) -> dict:
    report = measure_severity(image, mask).as_dict()
    return {key: report.get(key) for key in MDC_MEASURES}


class OutOfFold:
    """Each photo's masks from the checkpoints of the fold that held it out (one per seed), and
    the seeds' ensemble (mean probability at the mean threshold)."""

    def __init__(self, pattern: str, seeds: list[int], metadata: dict, cache: Path | None) -> None:
        self.pattern, self.seeds, self.metadata, self.cache = pattern, seeds, metadata, cache
        self._predictors: dict[tuple[int, str], core.SegmentationPredictor] = {}

    def _predictor(self, seed: int, fold: str) -> core.SegmentationPredictor:
        if (seed, fold) not in self._predictors:
            path = self.pattern.format(seed=seed, fold=fold)
            predictor = core.SegmentationPredictor(path, device="cpu")
            held_out = {n for n, row in self.metadata.items() if row["suggested_fold"] == fold}
            if not held_out <= set(predictor.header["data"]["val_names"]):
                raise SystemExit(f"{path} saw photos of fold {fold}")
            self._predictors[seed, fold] = predictor
        return self._predictors[seed, fold]

    def masks(self, image: np.ndarray, name: str, key: str) -> dict[str, np.ndarray]:
        """``key`` names this picture (a photo or one of its second photos) in the cache."""
        fold = self.metadata[name]["suggested_fold"]
        photo = Image.fromarray(image)
        predictions = {}
        for seed in self.seeds:
            predictor = self._predictor(seed, fold)
            stem = Path(self.pattern.format(seed=seed, fold=fold)).stem
            (predictions[seed],) = cached_predictions(
                predictor, [photo], [f"mdc/{stem}-s{seed}/{key}"], self.cache
            )
        masks = {f"seed {seed}": p.mask for seed, p in predictions.items()}
        if len(self.seeds) > 1:
            mean = np.mean([p.probabilities for p in predictions.values()], axis=0)
            masks["ensemble"] = mean >= statistics.mean(p.threshold for p in predictions.values())
        return masks


def _collect(rows: dict, groups: list, group: str, image, truth, models: OutOfFold, name, key):
    groups.append(group)
    rows.setdefault("ground truth", []).append(_measures(image, truth))
    for label, mask in models.masks(image, name, key).items():
        rows.setdefault(label, []).append(_measures(image, mask))


def measure(
    data: Path, pattern: str, seeds: list[int], copies: int, seed: int, cache: Path | None, only
) -> dict:
    """MDCs per kind of copy and per masks; the photos of the folds in ``only`` (or all)."""
    metadata = read_metadata(data)
    models = OutOfFold(pattern, seeds, metadata, cache)
    pairs = [
        p for p in list_pairs(data) if only is None or metadata[p[0]]["suggested_fold"] in only
    ]
    results = {}
    rows: dict[str, list] = {}
    groups: list[str] = []
    for name, image_path, mask_path in tqdm(pairs, desc="augmented copies", unit="img"):
        image, mask = load_pair(image_path, mask_path)
        truth = np.asarray(mask) > 127
        group = metadata[name]["source_group"]
        _collect(rows, groups, group, np.asarray(image), truth, models, name, name)
    results["augmented copies"] = {
        label: minimal_detectable_change(values, groups, MDC_MEASURES)
        for label, values in rows.items()
    }
    firsts: dict[str, tuple] = {}
    for name, image_path, mask_path in pairs:
        firsts.setdefault(metadata[name]["source_group"], (name, image_path, mask_path))
    rows, groups = {}, []
    for group, (name, image_path, mask_path) in tqdm(
        sorted(firsts.items()), desc="second photos", unit="photo"
    ):
        image, mask = load_pair(image_path, mask_path)
        image, truth = np.asarray(image), np.asarray(mask) > 127
        _collect(rows, groups, group, image, truth, models, name, name)
        # Drawn from the photo's name: the same second photos whichever folds a run covers, so
        # the cached probabilities of a partial run are those of the same pictures.
        rng = np.random.default_rng([seed, int(hashlib.sha256(name.encode()).hexdigest()[:8], 16)])
        for copy_index in range(copies):
            copy, moved = second_photo(image, truth, rng)
            key = f"{name}-second{copy_index}-seed{seed}"
            _collect(rows, groups, group, copy, moved, models, name, key)
    results["second photos"] = {
        label: minimal_detectable_change(values, groups, MDC_MEASURES)
        for label, values in rows.items()
    }
    results["photos"] = {"augmented copies": len(pairs), "second photos": len(firsts)}
    results["copies per photo"] = copies
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--checkpoints", required=True, help="path with {seed} and {fold}")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--copies", type=int, default=3, help="second photos per photo")
    parser.add_argument("--seed", type=int, default=0, help="draws the second photos")
    parser.add_argument("--out", type=Path, default=None, help="JSON of the MDCs")
    parser.add_argument("--cache", type=Path, default=None, help="folder of probabilities")
    parser.add_argument("--folds", default=None, help="comma-separated fold names (all)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    seeds = [int(s) for s in args.seeds.split(",")]
    only = args.folds.split(",") if args.folds else None
    results = measure(args.data, args.checkpoints, seeds, args.copies, args.seed, args.cache, only)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1))
    print("| copies | masks | " + " | ".join(MDC_MEASURES) + " |")
    print("|---|---|" + "---|" * len(MDC_MEASURES))
    for kind in ("augmented copies", "second photos"):
        for label, mdc in results[kind].items():
            cells = " | ".join(f"{mdc.get(m, float('nan')):.3f}" for m in MDC_MEASURES)
            print(f"| {kind} | {label} | {cells} |")


if __name__ == "__main__":
    main()
