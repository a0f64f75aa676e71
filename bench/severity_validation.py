"""Validate the severity measures on the vitiligo set (issue #4); prints Markdown tables.

    nice -n 10 .venv/bin/python bench/severity_validation.py --data ../shared/data/vitiligo \
        --out var/artifacts/severity

1. Agreement: measures from the ground-truth masks vs from predicted masks (the colour-threshold
   baseline; optionally a trained model), as Spearman rho and mean absolute error.
2. Repeatability: spread of each measure across the augmented copies of one photo (same
   ``source_group``): pooled within-photo SD and the one-way intra-class correlation ICC(1,1).
3. Annotators: measures from the 13 second annotations (``masks_alt``) vs the primary masks.
4. Lighting: each photo re-lit (exposure and white-balance gains on linear light); median absolute
   change of each measure without and with colour normalisation.
5. Background (issue 12): every pixel that is neither skin (by the skin rule) nor lesion is
   painted white, dark blue, near black or mid grey; change of each measure, with grey-world
   estimated from the non-lesion skin (the default) and from the whole photo (before issue 12).

A trained model is evaluated with ``--model PATTERN`` where PATTERN contains ``{fold}``: the
checkpoint for fold f must not have seen fold f (group-aware out-of-fold predictions). A pattern
without ``{fold}`` uses one checkpoint for every image (then the model saw its training images:
the table says so). Nothing is written into the repository; per-image CSVs go to ``--out``.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.stats import spearmanr
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from segmentation.severity import (
    DEFAULT_THRESHOLDS,
    PAPER_THRESHOLDS,
    ColourThresholdSegmenter,
    measure_severity,
    skin_mask,
)
from segmentation.severity.catalog import MEASURES
from segmentation.severity.colour import linear_to_srgb, srgb_to_linear

VALIDATED_MEASURES = tuple(m.key for m in MEASURES if m.validated)
LIGHTS = {
    "darker x0.6": (0.6, 0.6, 0.6),
    "brighter x1.4": (1.4, 1.4, 1.4),
    "warm": (1.0, 0.85, 0.65),
    "cool": (0.75, 0.9, 1.0),
}
# (column label, normalisation, normalisation_reference)
NORMALISATIONS = (
    ("none", None, "skin"),
    ("grey_world (skin)", "grey_world", "skin"),
    ("grey_world (photo)", "grey_world", "photo"),
    ("white_patch", "white_patch", "photo"),
)
BACKGROUNDS = {
    "white": (250, 250, 250),
    "dark blue": (30, 40, 120),
    "near black": (10, 10, 12),
    "mid grey": (128, 128, 128),
}


def _load(data: Path):
    rows = list(csv.DictReader((data / "metadata.csv").open()))
    for row in rows:
        image_path = next((data / "images").glob(f"{row['name']}.*"))
        row["image"] = np.asarray(Image.open(image_path).convert("RGB"))
        row["gt"] = np.asarray(Image.open(data / "masks" / f"{row['name']}.png")) > 127
    return rows


def _values(report) -> dict[str, float | None]:
    data = report.as_dict()
    return {key: data[key] for key in VALIDATED_MEASURES}


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return 1.0 if union == 0 else np.count_nonzero(a & b) / union


def _pairs(a: list, b: list) -> tuple[np.ndarray, np.ndarray]:
    keep = [i for i in range(len(a)) if a[i] is not None and b[i] is not None]
    return np.array([a[i] for i in keep], float), np.array([b[i] for i in keep], float)


def _agreement(reference: list[dict], other: list[dict]) -> dict[str, tuple[float, float, int]]:
    out = {}
    for key in VALIDATED_MEASURES:
        x, y = _pairs([r[key] for r in reference], [o[key] for o in other])
        rho = float(spearmanr(x, y).statistic) if len(x) > 2 else float("nan")
        out[key] = (rho, float(np.mean(np.abs(x - y))) if len(x) else float("nan"), len(x))
    return out


def _icc(values: list[float | None], groups: list[str]) -> tuple[float, float, float, int]:
    """One-way random-effects ICC(1,1) with unequal group sizes, pooled within-group SD, overall
    SD and the number of groups with at least two defined copies."""
    by_group: dict[str, list[float]] = defaultdict(list)
    for value, group in zip(values, groups, strict=True):
        if value is not None:
            by_group[group].append(float(value))
    samples = [np.array(v) for v in by_group.values() if len(v) >= 2]
    if len(samples) < 3:
        return float("nan"), float("nan"), float("nan"), len(samples)
    sizes = np.array([len(s) for s in samples], float)
    total, n_groups = sizes.sum(), len(samples)
    grand = np.concatenate(samples).mean()
    msb = sum(n * (s.mean() - grand) ** 2 for n, s in zip(sizes, samples, strict=True))
    msb /= n_groups - 1
    msw = sum(((s - s.mean()) ** 2).sum() for s in samples) / (total - n_groups)
    n0 = (total - (sizes**2).sum() / total) / (n_groups - 1)
    icc = (msb - msw) / (msb + (n0 - 1) * msw) if msb + (n0 - 1) * msw > 0 else float("nan")
    overall = float(np.concatenate(samples).std(ddof=1))
    return float(icc), float(np.sqrt(msw)), overall, n_groups


def _relight(image: np.ndarray, gains) -> np.ndarray:
    linear = srgb_to_linear(image / 255.0) * np.asarray(gains, dtype=np.float32)
    return np.clip(np.rint(linear_to_srgb(linear) * 255.0), 0, 255).astype(np.uint8)


def _fmt(value: float, digits: int = 3) -> str:
    return "n/a" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def _model_masks(rows, pattern: str) -> tuple[list[np.ndarray], str]:
    from segmentation.core import SegmentationPredictor  # torch only when asked for

    out_of_fold = "{fold}" in pattern
    predictors: dict[str, SegmentationPredictor] = {}
    masks = []
    for row in tqdm(rows, desc="model", unit="img"):
        key = row["suggested_fold"] if out_of_fold else "all"
        if key not in predictors:
            predictors[key] = SegmentationPredictor(pattern.format(fold=key), device="cpu")
        predictor = predictors[key]
        held_out = predictor.header.get("data", {}).get("val_names", [])
        if out_of_fold and row["name"] not in held_out:
            raise SystemExit(f"{pattern.format(fold=key)} did not hold out {row['name']}")
        masks.append(predictor.predict(Image.fromarray(row["image"])).mask)
    header = next(iter(predictors.values())).header
    name = f"model:{header['architecture']}-{header['backbone']}"
    if out_of_fold:
        return (
            masks,
            f"{name} (out-of-fold: each image predicted by the model of its held-out fold)",
        )
    return masks, f"{name} (one checkpoint: it saw its training images)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/vitiligo"))
    parser.add_argument("--out", type=Path, default=Path("var/artifacts/severity"))
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        help="checkpoint path, '{fold}' standing for the held-out fold; may be repeated",
    )
    parser.add_argument("--skip-lighting", action="store_true")
    parser.add_argument("--skip-background", action="store_true")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    rows = _load(args.data)
    groups = [row["source_group"] for row in rows]
    baseline = ColourThresholdSegmenter()
    predicted = {
        "baseline": [
            baseline.predict(Image.fromarray(row["image"])).mask
            for row in tqdm(rows, desc="baseline", unit="img")
        ]
    }
    descriptions = {"baseline": f"{baseline.version_label} (training-free)"}
    for pattern in args.model:
        masks, label = _model_masks(rows, pattern)
        short = f"model {Path(pattern).parent.name}"
        predicted[short] = masks
        descriptions[short] = f"{label}, {pattern}"

    gt = [_values(measure_severity(r["image"], r["gt"])) for r in tqdm(rows, desc="gt", unit="img")]
    print(f"# Severity validation on {args.data} ({len(rows)} images, {len(set(groups))} photos)\n")
    print(
        "Default options: normalisation='grey_world' estimated from the non-lesion skin, "
        "ring width 0.03 x sqrt(H*W).\n"
    )

    # What drives the paper's number: the lesion, or the rest of the photo (background included)?
    reports = [measure_severity(r["image"], r["gt"]).as_dict() for r in rows]
    paper = [d["rgb_mean_difference_vs_rest"] for d in reports]
    rest = [float(np.mean(d["rgb_nonlesion_mean"])) for d in reports]
    lesion = [float(np.mean(d["rgb_lesion_mean"])) for d in reports]
    print("The paper's number (GT masks) vs its two terms, Spearman rho: with the non-lesion mean")
    print(f"{spearmanr(paper, rest).statistic:.3f}, with the lesion mean")
    print(f"{spearmanr(paper, lesion).statistic:.3f}.\n")

    measured = {}
    for label, masks in predicted.items():
        measured[label] = [
            _values(measure_severity(r["image"], m, segmenter=label))
            for r, m in tqdm(list(zip(rows, masks, strict=True)), desc="measure", unit="img")
        ]
        ious = np.array([_iou(m, r["gt"]) for r, m in zip(rows, masks, strict=True)])
        folds = sorted({r["suggested_fold"] for r in rows})
        per_fold = ", ".join(
            f"fold {f}: {ious[[r['suggested_fold'] == f for r in rows]].mean():.3f}" for f in folds
        )
        print(f"## Ground truth vs {label}: {descriptions[label]}\n")
        print(f"Mask IoU vs ground truth: mean {ious.mean():.3f}, median {np.median(ious):.3f}")
        print(f"({per_fold}); Dice mean {np.mean(2 * ious / (1 + ious)):.3f}.\n")
        print("| measure | Spearman rho | MAE | n | GT median |")
        print("|---|---|---|---|---|")
        for key, (rho, mae, n) in _agreement(gt, measured[label]).items():
            median = np.median([g[key] for g in gt if g[key] is not None])
            print(f"| {key} | {_fmt(rho)} | {_fmt(mae)} | {n} | {_fmt(median)} |")
        print()

    print("## Repeatability across augmented copies of the same photo\n")
    print("ICC(1,1) (1 = copies agree perfectly relative to the spread between photos) and the")
    print("pooled within-photo SD, over photos with at least two copies.\n")
    sources = {"GT": gt, **measured}
    header = " | ".join(f"{name} ICC | {name} within-SD" for name in sources)
    print(f"| measure | {header} | between-photo SD (GT) | photos |")
    print("|---|" + "---|" * (2 * len(sources) + 2))
    for key in VALIDATED_MEASURES:
        cells, overall, n_groups = [], float("nan"), 0
        for name, values in sources.items():
            icc, within, spread, n = _icc([v[key] for v in values], groups)
            cells += [_fmt(icc), _fmt(within)]
            if name == "GT":
                overall, n_groups = spread, n
        print(f"| {key} | {' | '.join(cells)} | {_fmt(overall)} | {n_groups} |")
    print()

    alt_dir = args.data / "masks_alt"
    alt_rows = [
        (row, np.asarray(Image.open(path)) > 127)
        for row in rows
        for path in sorted(alt_dir.glob(f"{row['name']}__alt*.png"))
    ]
    if alt_rows:
        index = {row["name"]: i for i, row in enumerate(rows)}
        primary = [gt[index[row["name"]]] for row, _ in alt_rows]
        alt = [_values(measure_severity(row["image"], mask)) for row, mask in alt_rows]
        ious = [_iou(mask, row["gt"]) for row, mask in alt_rows]
        print("## Second annotators vs primary masks (label noise on the measures)\n")
        print(f"{len(alt_rows)} second annotations, mask IoU mean {np.mean(ious):.3f}.\n")
        print("| measure | Spearman rho | MAE | n |")
        print("|---|---|---|---|")
        for key, (rho, mae, n) in _agreement(primary, alt).items():
            print(f"| {key} | {_fmt(rho)} | {_fmt(mae)} | {n} |")
        print()

    if not args.skip_lighting:
        print("## Simulated lighting changes (GT masks)\n")
        print("Median over images of |measure(re-lit) - measure(original)|, all four lights")
        print(f"pooled ({', '.join(f'{k} {v}' for k, v in LIGHTS.items())}; gains on linear")
        print("light, re-encoded to 8 bits).\n")
        shifts: dict[tuple[str, str | None], list[float]] = defaultdict(list)
        for row in tqdm(rows, desc="lighting", unit="img"):
            for label, norm, ref in NORMALISATIONS:
                options = {"normalisation": norm, "normalisation_reference": ref}
                base = _values(measure_severity(row["image"], row["gt"], **options))
                for light, gains in LIGHTS.items():
                    relit = _values(
                        measure_severity(_relight(row["image"], gains), row["gt"], **options)
                    )
                    for key in VALIDATED_MEASURES:
                        if base[key] is not None and relit[key] is not None:
                            shifts[(key, label)].append(abs(relit[key] - base[key]))
                            shifts[(f"{key} / {light}", label)].append(abs(relit[key] - base[key]))
        names = [label for label, _, _ in NORMALISATIONS]
        print(f"| measure | {' | '.join(names)} | GT median |")
        print("|---|" + "---|" * (len(names) + 1))
        for key in VALIDATED_MEASURES:
            cells = [_fmt(float(np.median(shifts[(key, n)]))) for n in names]
            median = np.median([g[key] for g in gt if g[key] is not None])
            print(f"| {key} | {' | '.join(cells)} | {_fmt(median)} |")
        print()
        print(
            "Per light, for the contrast measures (clipping is what normalisation cannot undo):\n"
        )
        print(f"| measure / light | {' | '.join(names)} |")
        print("|---|" + "---|" * len(names))
        for key in (DEFAULT_THRESHOLDS.measure, PAPER_THRESHOLDS.measure):
            for light in LIGHTS:
                cells = [_fmt(float(np.median(shifts[(f"{key} / {light}", n)]))) for n in names]
                print(f"| {key} / {light} | {' | '.join(cells)} |")
        print()

    if not args.skip_background:
        _background_section(rows)

    with (args.out / "severity_validation.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "source_group", "mask", *VALIDATED_MEASURES])
        for i, row in enumerate(rows):
            writer.writerow([row["name"], row["source_group"], "gt", *gt[i].values()])
            for label, values in measured.items():
                writer.writerow([row["name"], row["source_group"], label, *values[i].values()])
    print(f"Per-image measures: {args.out / 'severity_validation.csv'}")


def _background_section(rows: list[dict]) -> None:
    """Repaint what is neither skin nor lesion and see how far each measure moves (GT masks)."""
    print("## Background replaced (GT masks)\n")
    print("Every pixel outside the skin rule and the lesion is painted one flat colour")
    print(f"({', '.join(f'{k} {v}' for k, v in BACKGROUNDS.items())}); per image, the largest")
    print("|change| over the four against the photo as taken; median and 90th percentile over")
    print("images, with grey-world estimated from the non-lesion skin and from the whole photo.\n")
    spread: dict[tuple[str, str], list[float]] = defaultdict(list)
    for row in tqdm(rows, desc="background", unit="img"):
        background = ~(skin_mask(row["image"]) | row["gt"])
        for ref in ("skin", "photo"):
            base = _values(measure_severity(row["image"], row["gt"], normalisation_reference=ref))
            worst: dict[str, float] = {}
            for colour in BACKGROUNDS.values():
                image = row["image"].copy()
                image[background] = colour
                moved = _values(measure_severity(image, row["gt"], normalisation_reference=ref))
                for key in VALIDATED_MEASURES:
                    if base[key] is not None and moved[key] is not None:
                        change = abs(moved[key] - base[key])
                        worst[key] = max(worst.get(key, 0.0), change)
            for key, value in worst.items():
                spread[(key, ref)].append(value)
    print("| measure | skin: median | skin: p90 | photo: median | photo: p90 |")
    print("|---|---|---|---|---|")
    for key in VALIDATED_MEASURES:
        cells = []
        for ref in ("skin", "photo"):
            values = spread[(key, ref)] or [float("nan")]
            cells += [_fmt(float(np.median(values))), _fmt(float(np.percentile(values, 90)))]
        print(f"| {key} | {' | '.join(cells)} |")
    print()


if __name__ == "__main__":
    main()
