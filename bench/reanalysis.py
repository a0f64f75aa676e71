"""Archive re-analysis throughput: every stored photo analysed again after a model activation.

Not a test. Needs PostgreSQL and Redis; it migrates the database named in DATABASE_URL (use a
database of its own), replaces its photos and empties the broker's pipeline queues. It stores
``--photos`` photos once, then for each worker layout activates a new model (a freshly drawn
checkpoint, so every photo needs a new analysis), exactly as the admin action does, and times the
live workers re-analysing the archive end to end: the activation's ``diary.reanalyse_photos``,
the ``gpu_low`` queue, storage reads, batched forward passes, severity, mask and overlay files
written, Analysis rows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/reanalysis_bench \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/3 \\
    .venv/bin/python bench/reanalysis.py --photos 48 --images ../shared/data/vitiligo/images

Layouts, all measured in the same run (the first is the baseline for the ratios):

* ``current``: what docker-compose.yml ran before issue 24, one worker process (prefork,
  concurrency 1) whose thread pools take every core;
* ``P procs x all cores``: P processes (``--processes``, default the host's cores), each still
  taking every core (``PIPELINE_THREADS_PER_PROCESS`` = cores): the oversubscription;
* ``P procs x rule``: P processes with the thread rule of ``config/worker_threads.py``.

Prints photos per second (from the activation to the last analysis, and per core of this host)
and, per layout, what one photo costs stage by stage with the ratio of everything outside the
network to the forward pass (the workers' per-photo timing lines, as ``bench/pipeline.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

from bench.pipeline import (  # noqa: E402
    _MODELS,
    STAGES,
    _photos,
    _purge,
    _setup,
    _start_worker,
    bench_checkpoint,
)


def _checkpoint(kind: str, resize: int | None, path: Path, seed: int) -> Path:
    """A freshly drawn checkpoint of ``kind``: new weights, so a new version label."""
    import torch

    torch.manual_seed(seed)
    return bench_checkpoint(kind, resize, path)


def _reanalyse(layout: dict, args, seed: int, media: Path, folder: Path) -> dict:
    """Activate a new model with ``layout``'s workers running; time until every photo has it."""
    from tqdm import tqdm

    from diary.models import Analysis, Photo
    from segmentation.services import model_register

    arch, backbone, name = _MODELS[args.model]
    checkpoint = _checkpoint(args.model, args.resize, folder / f"model-{seed}.pth", seed)
    log = folder / f"worker-{seed}.log"
    _purge()
    workers = _start_worker(args.batch_size, media, log, processes=layout["processes"],
                            threads=layout["threads"])  # fmt: skip
    total = Photo.objects.count()
    try:
        started = time.perf_counter()
        model = model_register(name=f"{name}-{seed}", checkpoint_path=checkpoint,
                               architecture=arch, backbone=backbone, metrics={},
                               training_data="random init (benchmark)", activate=True)  # fmt: skip
        label = model.version_label
        with tqdm(total=total, desc=layout["name"], unit="photo") as bar:
            done = 0
            while done < total:
                time.sleep(0.25)
                now_done = Analysis.objects.filter(model_version=label).count()
                bar.update(now_done - done)
                done = now_done
                if Photo.objects.filter(status="failed").exists():
                    raise SystemExit(f"a photo failed; see {log}:\n{log.read_text()[-3000:]}")
        elapsed = time.perf_counter() - started
        created = sorted(
            Analysis.objects.filter(model_version=label).values_list("created_at", flat=True)
        )
    finally:
        workers.terminate()
        workers.wait(timeout=120)
    steady = (created[-1] - created[0]).total_seconds()
    return {
        **layout,
        "photos_per_s": total / elapsed,
        # From the first analysis to the last: without the model loads at the start.
        "steady_photos_per_s": (total - 1) / steady if steady > 0 else float("nan"),
        "stages": _steady_stages(log),
    }


def _steady_stages(log: Path) -> dict[str, float]:
    """Mean ms per photo and stage, leaving out each process's first batch (its first forward
    passes pay for one-off initialisation: oneDNN kernels, CUDA context, caches)."""
    rows: dict[str, list[dict]] = {}
    pattern = r"/([\w-]+)\][^\n]*analysed; milliseconds (\{.*\})"
    for process, timings in re.findall(pattern, log.read_text(errors="replace")):
        rows.setdefault(process, []).append(json.loads(timings))
    steady = [row for found in rows.values() for row in found[int(found[0]["batch_size"]) :]]
    for row in steady:
        row["prepost"] = row["segment"] - row.get("forward", 0.0)
    if not steady:
        return {}
    return {key: statistics.mean(row.get(key, 0.0) for row in steady) for _, key in STAGES}


def _print(results: list[dict], cores: int, args) -> None:
    base = results[0]["photos_per_s"]
    print(f"\n{args.photos} photos {args.size}x{args.size * 3 // 4}, model {args.model}, "
          f"batch {args.batch_size}, {cores} cores on this host")  # fmt: skip
    print("| workers | photos/s | photos/s per core | steady photos/s | vs current |")
    print("|---|---|---|---|---|")
    for r in results:
        print(f"| {r['name']} | {r['photos_per_s']:.2f} | {r['photos_per_s'] / cores:.2f} | "
              f"{r['steady_photos_per_s']:.2f} | {r['photos_per_s'] / base:.2f}x |")  # fmt: skip
    print("\nWhat one photo costs (mean ms per photo, one process's own time; / forward pass):\n")
    print("| stage | " + " | ".join(r["name"] for r in results) + " |")
    print("|---|" + "---|" * len(results))
    for label, key in STAGES:
        cells = []
        for r in results:
            value, forward = r["stages"].get(key, 0.0), r["stages"].get("forward", 0.0)
            cells.append(f"{value:.1f} ({value / forward:.2f})" if forward else f"{value:.1f}")
        print(f"| {label} | " + " | ".join(cells) + " |")
    outside = []
    for r in results:
        forward = r["stages"].get("forward", 0.0)
        rest = sum(r["stages"].values()) - forward
        outside.append(f"{rest:.1f} ({rest / forward:.2f})" if forward else f"{rest:.1f}")
    print("| **outside the forward pass** | " + " | ".join(outside) + " |")


def main() -> None:
    from config.worker_threads import host_cores

    cores = host_cores()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=48)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--size", type=int, default=640, help="photo width in pixels (4:3)")
    parser.add_argument("--model", choices=list(_MODELS), default="recommended")
    parser.add_argument("--resize", type=int, default=None, help="model input size")
    parser.add_argument("--processes", type=int, default=cores, help="worker processes (P)")
    parser.add_argument("--images", type=Path, help="a folder of JPEG photos to store")
    args = parser.parse_args()

    layouts = [
        {"name": "current", "processes": 1, "threads": cores},
        {"name": f"{args.processes} procs x all cores", "processes": args.processes,
         "threads": cores},
        {"name": f"{args.processes} procs x rule", "processes": args.processes, "threads": None},
    ]  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-reanalysis-") as tmp:
        folder = Path(tmp)
        media = folder / "media"
        _setup(media)
        from diary.models import Analysis
        from segmentation.models import SegmentationModel

        Analysis.objects.all().delete()
        SegmentationModel.objects.all().delete()
        _photos(args.photos, args.size, args.images)
        results = [_reanalyse(layout, args, n, media, folder) for n, layout in enumerate(layouts)]
    _print(results, cores, args)


if __name__ == "__main__":
    main()
