"""Validation of the photo registration on the vitiligo photos (docs/alignment.md). Not a test.

    .venv/bin/python bench/alignment_validation.py ../shared/data/vitiligo [--copies 2] \\
        [--pairs 300] [--limit N] [--seed 0] [--timing-runs 10]

1. **Known transforms.** Each photo gets ``--copies`` "other days": a random rotation (up to
   25 degrees), scale (0.75-1.3), translation (up to 10 % of the size), mild perspective (corners
   moved by up to about 4 %) and brightness/contrast gain (0.7-1.3). The copy is registered to
   the photo as the pipeline does it (keypoints on the skin rule united with the colour-threshold
   mask); the error is the mean distance of the photo's four corners mapped by the found and the
   true transform, as a share of the diagonal.
2. **Change of a photo against its own copy**, with the ground-truth masks: the copy's mask
   warped back with the found transform against the photo's mask; repigmented and new-lesion
   shares should be 0 (what remains is resampling of the mask's edge and alignment error).
3. **Different photos refused**: random pairs of photos of different ``source_group``.
   Pairs within a group (the data set's own augmented copies: flips, rotations, pasted patches)
   are reported for information; a mirror image cannot be a similarity/projective transform.
4. **Repeatability of lesion extent** (lesion / visible skin), per photo and its copies, without
   alignment (each image whole, as the pipeline measures today) and with it (the copy's masks
   brought into the photo's frame, both measured inside the area both show), as MDC95
   (``segmentation/severity/repeatability.py``), for the colour-threshold masks and for the
   ground-truth masks, over the photos whose copies all aligned; and the ground-truth lesion as
   a share of the picture (no skin rule, so the brightness change plays no part).
5. **Cost**: registration per photo (the baseline's features cached, as in a worker) against
   the forward pass of the recommended network (random weights, the preset's input size and
   flip test-time augmentation), both measured in this run on this CPU.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from segmentation.registration import align_features, image_features  # noqa: E402
from segmentation.registration.change import lesion_change, warp_mask  # noqa: E402
from segmentation.registration.synthetic import corner_error, similarity, transformed  # noqa: E402
from segmentation.severity import ColourThresholdSegmenter, skin_mask  # noqa: E402
from segmentation.severity.repeatability import minimal_detectable_change  # noqa: E402


@dataclass
class Photo:
    name: str
    group: str
    image: np.ndarray
    truth: np.ndarray  # ground-truth lesion mask
    predicted: np.ndarray  # colour-threshold mask
    features: object


def _load(data: Path, limit: int | None, segmenter) -> list[Photo]:
    with (data / "metadata.csv").open(newline="") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda row: row["name"])[:limit]
    photos = []
    for row in tqdm(rows, desc="photos", unit="img"):
        with Image.open(next((data / "images").glob(f"{row['name']}.*"))) as opened:
            image = np.asarray(opened.convert("RGB"))
        with Image.open(data / "masks" / f"{row['name']}.png") as opened:
            truth = np.asarray(opened.convert("L")) > 127
        predicted = segmenter.predict(Image.fromarray(image)).mask
        features = image_features(image, lesion=predicted)
        photos.append(Photo(row["name"], row["source_group"], image, truth, predicted, features))
    return photos


def _random_transform(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    height, width = shape
    return similarity(
        shape,
        degrees=rng.uniform(-25, 25),
        scale=rng.uniform(0.75, 1.3),
        shift=(rng.uniform(-0.1, 0.1) * width, rng.uniform(-0.1, 0.1) * height),
        perspective=tuple(rng.uniform(-0.08, 0.08, 2) / max(shape)),
    )


def _extent(lesion: np.ndarray, skin: np.ndarray, region: np.ndarray | None = None) -> float:
    visible = lesion | skin
    if region is not None:
        lesion, visible = lesion & region, visible & region
    return float(lesion.sum() / visible.sum()) if visible.any() else float("nan")


def _known_transforms(photos: list[Photo], copies: int, rng, segmenter) -> dict:
    errors, refused, repig, new, align_ms = [], [], [], [], []
    extents = {f"{kind} {mode}": ([], []) for kind in ("threshold", "truth", "frame")
               for mode in ("raw", "aligned")}  # fmt: skip
    for photo in tqdm(photos, desc="known transforms", unit="img"):
        shape = photo.image.shape[:2]
        skin = skin_mask(photo.image)
        rows = {key: [] for key in extents}
        complete = True
        for _ in range(copies):
            truth = _random_transform(rng, shape)
            gain = rng.uniform(0.7, 1.3)
            copy = transformed(photo.image, truth)
            copy = np.clip(copy.astype(np.float32) * gain, 0, 255).astype(np.uint8)
            copy_truth = transformed(photo.truth.astype(np.uint8), truth, order=0) > 0
            copy_pred = segmenter.predict(Image.fromarray(copy)).mask
            started = time.perf_counter()
            result = align_features(photo.features, image_features(copy, lesion=copy_pred))
            align_ms.append((time.perf_counter() - started) * 1000)
            if not result.aligned:
                refused.append(f"{photo.name}: {result.reason}")
                complete = False
                continue
            errors.append(corner_error(result.matrix, truth, shape))
            back, valid = warp_mask(copy_truth, result.matrix, shape)
            change = lesion_change(photo.truth, back, valid)
            if change.repigmented_share is not None:
                repig.append(change.repigmented_share)
                new.append(change.new_lesion_share)
            copy_skin = skin_mask(copy)
            pred_back, _ = warp_mask(copy_pred, result.matrix, shape)
            skin_back, _ = warp_mask(copy_skin, result.matrix, shape)
            for kind, ours, theirs, theirs_back in (
                ("threshold", photo.predicted, copy_pred, pred_back),
                ("truth", photo.truth, copy_truth, back),
            ):
                rows[f"{kind} raw"].append((_extent(ours, skin), _extent(theirs, copy_skin)))
                rows[f"{kind} aligned"].append(
                    (_extent(ours, skin, valid), _extent(theirs_back, skin_back, valid))
                )
            # Lesion as a share of the picture, no skin rule: framing alone, brightness aside.
            whole = np.ones(shape, dtype=bool)
            rows["frame raw"].append((photo.truth.mean(), copy_truth.mean()))
            rows["frame aligned"].append((_extent(photo.truth, whole, valid),
                                          _extent(back, whole, valid)))  # fmt: skip
        if complete:  # the same photos with and without alignment
            # Each (photo, copy) pair is one group: with alignment both are measured inside
            # that copy's overlap, which differs from one copy to the next.
            for key, pairs in rows.items():
                for k, values in enumerate(pairs):
                    extents[key][0].extend(values)
                    extents[key][1].extend([f"{photo.name}#{k}"] * 2)
    return {"errors": errors, "refused": refused, "repigmented": repig, "new": new,
            "extents": extents, "align_ms": align_ms}  # fmt: skip


def _pairs(photos: list[Photo], n_pairs: int, rng) -> tuple[list[bool], list[bool]]:
    """Aligned or not, for random pairs of different groups, and for every same-group pair."""
    different, same = [], []
    candidates = [(a, b) for a in range(len(photos)) for b in range(a + 1, len(photos))
                  if photos[a].group != photos[b].group]  # fmt: skip
    chosen = rng.choice(len(candidates), min(n_pairs, len(candidates)), replace=False)
    for index in tqdm(chosen, desc="different photos", unit="pair"):
        a, b = candidates[index]
        different.append(align_features(photos[a].features, photos[b].features).aligned)
    groups: dict[str, list[Photo]] = {}
    for photo in photos:
        groups.setdefault(photo.group, []).append(photo)
    members = [(a, b) for g in groups.values() for i, a in enumerate(g) for b in g[i + 1 :]]
    for a, b in tqdm(members, desc="same-group copies", unit="pair"):
        same.append(align_features(a.features, b.features).aligned)
    return different, same


def _forward_ms(runs: int) -> float:
    import torch

    from bench.pipeline import bench_checkpoint
    from segmentation.core import SegmentationPredictor

    with tempfile.TemporaryDirectory() as folder:
        predictor = SegmentationPredictor(
            bench_checkpoint("recommended", None, Path(folder) / "bench.pth"), device="cpu"
        )
        batch = torch.zeros(1, 3, predictor.size, predictor.size)
        predictor._run(batch)  # warm-up
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            predictor._run(batch)
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _share(values: list[bool]) -> str:
    return f"{sum(values)}/{len(values)} ({100 * sum(values) / max(1, len(values)):.1f} %)"


def _quantiles(values: list[float]) -> str:
    if not values:
        return "n/a"
    q = np.percentile(values, [50, 90, 100]) * 100
    return f"{q[0]:.2f} % / {q[1]:.2f} % / {q[2]:.2f} %"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--copies", type=int, default=2)
    parser.add_argument("--pairs", type=int, default=300)
    parser.add_argument("--limit", type=int, default=None, help="only the first N photos")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timing-runs", type=int, default=10)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    segmenter = ColourThresholdSegmenter()

    photos = _load(args.data, args.limit, segmenter)
    known = _known_transforms(photos, args.copies, rng, segmenter)
    different, same = _pairs(photos, args.pairs, rng)
    forward = _forward_ms(args.timing_runs)

    n_copies = len(photos) * args.copies
    print(f"\n{len(photos)} photos, {args.copies} transformed copies each, seed {args.seed}\n")
    print("| measure | result | target |\n|---|---|---|")
    print(f"| copies aligned | {n_copies - len(known['refused'])}/{n_copies} | |")
    print(f"| corner error, share of the diagonal (median / 90th pct / max) | "
          f"{_quantiles(known['errors'])} | median <= 1 % |")  # fmt: skip
    print(f"| different photos (different source_group) refused | "
          f"{_share([not a for a in different])} | >= 95 % |")  # fmt: skip
    print(f"| same-group copies (data set's own augmentations) aligned | {_share(same)} | |")
    print(f"| repigmented share vs own copy, truth masks (median / 90th pct / max) | "
          f"{_quantiles(known['repigmented'])} | < 5 % |")  # fmt: skip
    print(f"| new-lesion share vs own copy, truth masks (median / 90th pct / max) | "
          f"{_quantiles(known['new'])} | < 5 % |")  # fmt: skip
    print("\n| lesion extent (percentage points) | MDC95 without | MDC95 with alignment | pairs |")
    print("|---|---|---|---|")
    labels = {"threshold": "% of visible skin, colour-threshold masks",
              "truth": "% of visible skin, ground-truth masks",
              "frame": "% of the picture, ground-truth masks (no skin rule)"}  # fmt: skip
    for kind, label in labels.items():
        raw, aligned = (known["extents"][f"{kind} {mode}"] for mode in ("raw", "aligned"))
        mdc_raw = minimal_detectable_change([{"e": v} for v in raw[0]], raw[1], ["e"])
        mdc_al = minimal_detectable_change([{"e": v} for v in aligned[0]], aligned[1], ["e"])
        print(f"| {label} | {100 * mdc_raw.get('e', float('nan')):.2f} | "
              f"{100 * mdc_al.get('e', float('nan')):.2f} | {len(set(raw[1]))} |")  # fmt: skip
    align = statistics.median(known["align_ms"])
    print(f"\nregistration per photo (baseline features cached): median {align:.0f} ms; "
          f"forward pass of the recommended network (CPU, flip TTA): median {forward:.0f} ms; "
          f"ratio {align / forward:.2f}")  # fmt: skip
    if known["refused"]:
        print("\nRefused copies:\n" + "\n".join(f"- {line}" for line in known["refused"]))


if __name__ == "__main__":
    main()
