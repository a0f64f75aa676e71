"""Learning curve: the recommended recipe's cross-validated F1 against the number of distinct
training photos, to judge how many corrected photos the targets need.

Not a test. Every job is one (fraction, seed, fold): the fold's training *groups* (a photo and
its augmented copies) are shuffled by the seed and the first ``fraction`` of them kept
(``segmentation.core.data.nested_group_subsets``: 25 % inside 50 % inside 75 % inside 100 %), the
model is trained on their images with the recommended preset (optionally fewer ``--epochs``)
through the library's ``run_comparison`` and scored at the final epoch on the *whole* held-out
fold, as every table of docs/results.md is. The seed draws the subset and seeds the training.
Records go to ``OUT/f<percent>-s<seed>/<model>-fold<k>.json`` (the ``compare_models`` record
plus a ``learning_curve`` block), so an interrupted curve resumes where it stopped and
``--report`` prints the table of what is there.

    nice -n 15 .venv/bin/python bench/learning_curve.py ../shared/data/vitiligo --epochs 12 \\
        --jobs 2 --out var/learning-curve --keep-checkpoints
    .venv/bin/python bench/learning_curve.py ../shared/data/vitiligo --out docs/cv/learning-curve \\
        --report
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from cv_grid import run_jobs  # noqa: E402

MODEL = ("unet", "efficientnet_lite0")
TARGETS = {"micro": 0.78, "per_image": 0.70}


def run_name(fraction: float, seed: int) -> str:
    return f"f{round(fraction * 100):03d}-s{seed}"


def record_path(out: Path, fraction: float, seed: int, fold: str) -> Path:
    return out / run_name(fraction, seed) / f"{MODEL[0]}-{MODEL[1]}-fold{fold}.json"


def fold_subsets(data: str, fold_name: str, fractions: list[float], seed: int):
    """``(fold, {fraction: training names})``: nested subsets of the fold's training groups."""
    from segmentation.core import make_folds
    from segmentation.core.data import nested_group_subsets, read_metadata

    (fold,) = [f for f in make_folds(data, fold_column="suggested_fold") if f.name == fold_name]
    metadata = read_metadata(data)
    groups = {name: metadata[name]["source_group"] for name in fold.train}
    return fold, nested_group_subsets(fold.train, groups, fractions, seed=seed), groups


def train_point(
    fraction: float,
    seed: int,
    fold_name: str,
    data: str,
    out: str,
    epochs: int | None,
    keep_checkpoint: bool,
    device: str | None = "cpu",
) -> str:
    """Train and score one (fraction, seed, fold) in a worker process; the record's path."""
    from segmentation import core
    from segmentation.core.compare import run_comparison
    from segmentation.core.data import Fold

    fold, subsets, groups = fold_subsets(data, fold_name, [fraction], seed)
    train_names = subsets[fraction]
    fields = core.preset("recommended")
    fields.update(seed=seed, device=device, progress=False)
    if epochs is not None:
        fields["epochs"] = epochs
    output_dir = Path(out) / run_name(fraction, seed)
    run_comparison(
        data_root=data,
        models=[MODEL],
        folds=[Fold(name=fold.name, train=train_names, val=fold.val)],
        base=core.TrainConfig(**fields),
        output_dir=output_dir,
        timing_images=1,  # the record's ms per photo is not what this measures: spare the CPU
    )
    path = record_path(Path(out), fraction, seed, fold_name)
    record = json.loads(path.read_text())
    record["learning_curve"] = {
        "fraction": fraction,
        "seed": seed,
        "epochs": fields["epochs"],
        "train_groups": len({groups[name] for name in train_names}),
        "fold_train_groups": len(set(groups.values())),
        "train_images": len(train_names),
    }
    path.write_text(json.dumps(record, indent=2))
    checkpoint = path.with_suffix(".pth")
    if not (keep_checkpoint and fraction == 1.0):  # tens of MB; var/ only, never docs/
        checkpoint.unlink(missing_ok=True)
    return str(path)


def _scores(record: dict) -> tuple[float, float]:
    scored = record["at_threshold"]
    return scored["micro"]["f1"], scored["per_image"]["f1"]


def _mean_sd(values: list[float]) -> str:
    if len(values) < 2:
        return f"{values[0]:.3f}" if values else "-"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def photos_needed(points: list[tuple[float, float]], target: float) -> float | None:
    """Distinct photos at which the least-squares line F1 = a + b ln(photos) reaches ``target``
    (None when the line does not rise). An extrapolation: see docs/results.md for its limits."""
    xs = [math.log(photos) for photos, _ in points]
    ys = [f1 for _, f1 in points]
    if len(set(xs)) < 2:
        return None
    mx, my = statistics.mean(xs), statistics.mean(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    slope /= sum((x - mx) ** 2 for x in xs)
    if slope <= 0:
        return None
    return math.exp(mx + (target - my) / slope)


def report(out: Path) -> str:
    """The curve's Markdown table (mean ± SD over folds per seed) and per-fold values."""
    records = [json.loads(p.read_text()) for p in sorted(out.glob("f*-s*/*-fold*.json"))]
    by_point: dict[tuple[float, int], list[dict]] = {}
    for record in records:
        meta = record["learning_curve"]
        by_point.setdefault((meta["fraction"], meta["seed"]), []).append(record)
    lines = [
        "| fraction | seed | folds | distinct photos (mean) | images (mean) | F1 micro "
        "| F1 per image | per fold (micro / per image: folds in order) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    curve: dict[int, dict[str, list[tuple[float, float]]]] = {}
    for (fraction, seed), fold_records in sorted(by_point.items()):
        fold_records.sort(key=lambda r: r["fold"])
        micro = [_scores(r)[0] for r in fold_records]
        per_image = [_scores(r)[1] for r in fold_records]
        photos = statistics.mean(r["learning_curve"]["train_groups"] for r in fold_records)
        images = statistics.mean(r["learning_curve"]["train_images"] for r in fold_records)
        cells = ", ".join(
            f"{r['fold']}: {m:.3f} / {p:.3f}"
            for r, m, p in zip(fold_records, micro, per_image, strict=True)
        )
        lines.append(
            f"| {fraction:.0%} | {seed} | {len(fold_records)} | {photos:.1f} | {images:.1f} "
            f"| {_mean_sd(micro)} | {_mean_sd(per_image)} | {cells} |"
        )
        if len(fold_records) == 4:  # only complete points on the fitted curve
            seed_curve = curve.setdefault(seed, {"micro": [], "per_image": []})
            seed_curve["micro"].append((photos, statistics.mean(micro)))
            seed_curve["per_image"].append((photos, statistics.mean(per_image)))
    lines.append("")
    for seed, seed_curve in sorted(curve.items()):
        if len(seed_curve["micro"]) < 2:
            lines.append(f"seed {seed}: one complete fraction, no fit")
            continue
        needed = []
        for key, target in TARGETS.items():
            photos = photos_needed(seed_curve[key], target)
            needed.append(f"{key} F1 {target}: " + (f"{photos:.0f}" if photos else "never"))
        lines.append(f"seed {seed}, log-linear fit, distinct photos to reach " + "; ".join(needed))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "learning-curve")
    parser.add_argument("--fractions", default="1.0,0.25,0.5,0.75", help="started in this order")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--folds", default=None, help="comma-separated fold names (all)")
    parser.add_argument("--epochs", type=int, default=None, help="instead of the preset's 100")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes, one thread each")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--deadline", type=float, default=None, help="seconds; no new job after")
    parser.add_argument("--grace", type=float, default=60.0, help="seconds for running jobs")
    parser.add_argument(
        "--keep-checkpoints", action="store_true", help="keep the 100 %% runs' checkpoints"
    )
    parser.add_argument("--report", action="store_true", help="print the table; train nothing")
    args = parser.parse_args()
    if not args.report:
        from segmentation.core import make_folds

        folds = [f.name for f in make_folds(args.data, fold_column="suggested_fold")]
        if args.folds:
            folds = [name for name in folds if name in args.folds.split(",")]
        fractions = [float(f) for f in args.fractions.split(",")]
        seeds = [int(s) for s in args.seeds.split(",")]
        # In the order given, both seeds of each fraction before the next: by default 100 % (the
        # inference tries need those checkpoints), then from the smallest (the cheapest) up, so
        # that on a busy machine a deadline leaves the curve's two ends and cuts its middle.
        common = (str(args.data), str(args.out), args.epochs, args.keep_checkpoints, args.device)
        calls = [
            (
                f"{run_name(fraction, seed)} fold {fold}",
                (train_point, fraction, seed, fold, *common),
            )
            for fraction in fractions
            for seed in seeds
            for fold in folds
            if not record_path(args.out, fraction, seed, fold).is_file()
        ]
        args.out.mkdir(parents=True, exist_ok=True)
        start = time.monotonic()
        failures = run_jobs(
            calls, jobs=args.jobs, desc="learning curve", deadline=args.deadline, grace=args.grace
        )
        (args.out / "failures.txt").write_text("\n".join(failures) + "\n")
        print(f"{len(calls)} jobs, {len(failures)} failed, {time.monotonic() - start:.0f} s")
    print(report(args.out))


if __name__ == "__main__":
    main()
