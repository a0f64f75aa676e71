"""End-to-end throughput of the analysis pipeline: one live worker, batched against unbatched.

Not a test. Needs PostgreSQL and Redis; it migrates the database named in DATABASE_URL (use a
database of its own) and empties the broker's pipeline queues. For each mode it starts one
``celery -A config worker --pool solo`` (batch size 1 with prefetch 1, then batch size N with
prefetch N), publishes the analysis of every photo at once and waits until all are done.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pipeline_bench \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/3 \\
    .venv/bin/python bench/pipeline.py --photos 32 --batch-size 8 \\
        --images ../shared/data/vitiligo/images

Prints photos per minute, the median per-photo latency (publish to ``done``), the worker's peak
resident memory (VmHWM) and the batched/unbatched ratio, all measured in the same run; then, per
mode, what one photo costs stage by stage (the worker logs each photo's milliseconds: storage
read, decode, the prediction's pre/post-processing, the forward pass, severity measures, the
alignment to the body site's baseline, mask and overlay rendering, PNG encoding, storage writes,
database writes) with each stage's share, and the alignment's cost as a ratio to the forward pass.
All photos are of one body site: the first is its baseline, the others are registered to it.

``--model recommended`` (default) is the network ``make model`` trains, configured as its preset
says: a segmentation_models_pytorch U-Net over timm's ``tf_efficientnet_lite0`` at the preset's
224 px input with flip test-time augmentation (three forward passes per photo), randomly
initialised (the weights do not change the work), built by the model factory. ``--images DIR``
stores real photos (JPEG, quality 95, as uploads are stored) resized to ``--size``; without it,
synthetic PNGs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")


def _setup(media: Path) -> None:
    os.environ["DJANGO_MEDIA_ROOT"] = str(media)
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _photos(count: int, size: int, images: Path | None = None) -> list[int]:
    from django.core.files.base import ContentFile

    from diary.models import BodySite, Patient, Photo, User
    from tests.images import photo_bytes

    sources = sorted(images.glob("*.jp*g")) if images else []

    Photo.objects.all().delete()
    user, _ = User.objects.get_or_create(username="bench-patient", defaults={"role": "patient"})
    patient, _ = Patient.objects.get_or_create(user=user, defaults={"birth_year": 1980})
    site, _ = BodySite.objects.get_or_create(patient=patient, region="hands", label="bench")
    ids = []
    for n in range(count):
        photo = Photo(patient=patient, body_site=site, taken_at=_now(), taken_at_source="upload",
                      sha256=f"{n:064x}", width=size, height=size * 3 // 4)  # fmt: skip
        if sources:
            content = _jpeg(sources[n % len(sources)], (size, size * 3 // 4), n)
            photo.image.save("bench.jpg", ContentFile(content), save=True)
        else:
            content = photo_bytes((size, size * 3 // 4), colour_shift=n + 1)
            photo.image.save("bench.png", ContentFile(content), save=True)
        ids.append(photo.pk)
    return ids


def _jpeg(path: Path, size: tuple[int, int], n: int) -> bytes:
    import io

    from PIL import Image

    with Image.open(path) as image:
        resized = image.convert("RGB").resize(size, Image.Resampling.BILINEAR)
    resized.putpixel((0, 0), (n % 256, n // 256 % 256, 0))  # distinct bytes per photo
    buffer = io.BytesIO()
    resized.save(buffer, format="JPEG", quality=95, optimize=True)
    return buffer.getvalue()


#: --model choices: (architecture, backbone, registry name); "recommended" reads the preset.
_MODELS = {
    "recommended": ("unet", "efficientnet_lite0", "bench-recommended"),
    "lraspp": ("lraspp", "mobilenet_v3_large", "bench-lraspp"),
}


def _inference_settings(kind: str, resize: int | None) -> tuple[int, bool]:
    """Input size and flip TTA: the recommended preset's own, unless --resize overrides."""
    from segmentation.core import preset

    if kind == "recommended":
        config = preset("recommended")
        return resize or config["resize_size"], config["flip_tta"]
    return resize or 256, False


def _now():
    from django.utils import timezone

    return timezone.now()


def bench_checkpoint(kind: str, resize: int | None, path: Path) -> Path:
    """A randomly initialised checkpoint of ``kind`` (torch's current seed draws the weights)."""
    from segmentation.core import (
        build_model,
        make_header,
        model_normalization,
        output_convention,
        save_checkpoint,
    )

    arch, backbone, _ = _MODELS[kind]
    size, flip_tta = _inference_settings(kind, resize)
    mean, std = model_normalization(arch, backbone)
    header = make_header(arch=arch, backbone=backbone, num_classes=2,
                         resize_size=size, crop_size=size, mean=mean, std=std,
                         output_convention=output_convention(arch, backbone),
                         flip_tta=flip_tta)  # fmt: skip
    return save_checkpoint(path, model=build_model(arch, backbone, num_classes=2), header=header)


def _activate(kind: str, resize: int | None, folder: Path) -> str:
    from segmentation.models import SegmentationModel

    SegmentationModel.objects.update(is_active=False)
    if kind == "baseline":
        return "baseline"
    from segmentation.services import model_register

    arch, backbone, name = _MODELS[kind]
    path = bench_checkpoint(kind, resize, folder / "bench.pth")
    from diary.models import Photo

    Photo.objects.all().delete()  # their analyses protect the previous run's model
    SegmentationModel.objects.filter(name=name).delete()
    registered = model_register(name=name, checkpoint_path=path, architecture=arch,
                                backbone=backbone, metrics={},
                                training_data="random init (benchmark)", activate=True)  # fmt: skip
    return registered.version_label


def _purge() -> None:
    from config.celery import app

    with app.connection_for_write() as connection:
        for queue in ("gpu", "gpu_low", "default"):
            connection.default_channel.queue_purge(queue)


def _start_worker(
    batch_size: int,
    media: Path,
    log: Path,
    *,
    processes: int | None = None,
    threads: int | None = None,
) -> subprocess.Popen:
    """One ``--pool solo`` worker on ``gpu``; with ``processes``, a prefork pool of that many on
    ``gpu,gpu_low,default`` (bench/reanalysis.py), ``threads`` per process when given."""
    env = {**os.environ, "PIPELINE_BATCH_SIZE": str(batch_size), "DJANGO_MEDIA_ROOT": str(media),
           "PIPELINE_BATCH_INTERVAL_SECONDS": "0.5", "DJANGO_LOG_LEVEL": "INFO"}  # fmt: skip
    env.pop("PIPELINE_THREADS_PER_PROCESS", None)
    if threads:
        env["PIPELINE_THREADS_PER_PROCESS"] = str(threads)
    pool = ["--pool", "solo"] if processes is None else ["--pool", "prefork", "--concurrency",
                                                         str(processes)]  # fmt: skip
    queues = "gpu" if processes is None else "gpu,gpu_low,default"
    # Through this script, which registers the bench's model builder before Celery starts.
    command = [sys.executable, __file__, "--as-worker", "-A", "config", "worker", "-Q", queues,
               *pool, "--prefetch-multiplier", str(batch_size), "--without-gossip",
               "--without-mingle", "-n", f"bench{batch_size}-{time.monotonic_ns()}@%h",
               "--loglevel", "INFO"]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("wb"),
                               stderr=subprocess.STDOUT)  # fmt: skip
    deadline = time.monotonic() + 120
    while "ready." not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"worker did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    return process


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _run(mode: str, batch_size: int, ids: list[int], media: Path, folder: Path) -> dict:
    from tqdm import tqdm

    from diary.models import Analysis, Photo
    from diary.tasks import analyse_photo

    Analysis.objects.all().delete()
    Photo.objects.update(status="pending", status_changed_at=_now())
    _purge()
    worker = _start_worker(batch_size, media, folder / f"worker-{mode}.log")
    try:
        # Warm-up: the model is loaded on the first task, which is not what is measured.
        analyse_photo.delay(ids[0])
        while not Photo.objects.filter(pk=ids[0], status="done").exists():
            time.sleep(0.1)
        Analysis.objects.all().delete()
        Photo.objects.update(status="pending", status_changed_at=_now())
        log = folder / f"worker-{mode}.log"
        log_offset = log.stat().st_size  # the warm-up photo's timings are not counted
        started_at = _now()
        started = time.perf_counter()
        for photo_id in ids:
            analyse_photo.delay(photo_id)
        with tqdm(total=len(ids), desc=mode, unit="photo") as bar:
            done = 0
            while done < len(ids):
                time.sleep(0.25)
                now_done = Photo.objects.filter(status__in=["done", "failed"]).count()
                bar.update(now_done - done)
                done = now_done
        elapsed = time.perf_counter() - started
        finished = Photo.objects.values_list("status_changed_at", flat=True)
        latencies = [(t - started_at).total_seconds() for t in finished]
        peak = _peak_rss_mib(worker.pid)
        sizes = Analysis.objects.values_list("timings_ms", flat=True)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    stages = _stage_timings(log, log_offset)
    return {
        "stages": stages,
        "wall_ms_per_photo": elapsed * 1000 / len(ids),
        "mode": mode,
        "photos_per_minute": len(ids) / elapsed * 60,
        "median_latency_s": statistics.median(latencies),
        "peak_rss_mib": peak,
        "mean_batch": statistics.mean(t["batch_size"] for t in sizes),
        "failed": Photo.objects.filter(status="failed").count(),
    }


#: Stages of one photo, in pipeline order: (label, key in the worker's timings).
STAGES = [
    ("storage read", "read"),
    ("image decode", "decode"),
    ("resize + normalise, probabilities back to full size", "prepost"),
    ("forward pass", "forward"),
    ("severity measures", "measure"),
    ("alignment to the site's baseline", "align"),
    ("mask + overlay rendering", "render"),
    ("PNG encoding", "encode"),
    ("storage writes", "write"),
    ("database writes (claim, analysis row, status)", "db"),
]


def _stage_timings(log: Path, offset: int) -> dict[str, float]:
    """Mean milliseconds per photo and stage, from the worker's "Photo N analysed" lines."""
    import json
    import re

    text = log.read_bytes()[offset:].decode(errors="replace")
    rows = [json.loads(m) for m in re.findall(r"analysed; milliseconds (\{.*\})", text)]
    if not rows:
        return {}
    for row in rows:
        row["prepost"] = row["segment"] - row.get("forward", 0.0)
    return {key: statistics.mean(row.get(key, 0.0) for row in rows) for _, key in STAGES}


def _print_stages(results: list[dict]) -> None:
    print("\nWhat one photo costs (mean ms per photo; share of the stages' sum):\n")
    print("| stage | " + " | ".join(r["mode"] for r in results) + " |")
    print("|---|" + "---|" * len(results))
    totals = [sum(r["stages"].values()) or float("nan") for r in results]
    for label, key in STAGES:
        cells = [
            f"{r['stages'].get(key, 0):.1f} ({100 * r['stages'].get(key, 0) / t:.0f}%)"
            for r, t in zip(results, totals, strict=True)
        ]
        print(f"| {label} | " + " | ".join(cells) + " |")
    print("| sum of the stages | " + " | ".join(f"{t:.1f}" for t in totals) + " |")
    walls = [f"{r['wall_ms_per_photo']:.1f}" for r in results]
    print("| wall time per photo (1 / throughput) | " + " | ".join(walls) + " |")
    for r in results:
        forward = r["stages"].get("forward", 0.0)
        outside = sum(r["stages"].values()) - forward
        if forward:
            print(f"\n{r['mode']}: outside the forward pass / forward pass = "
                  f"{outside:.1f} / {forward:.1f} ms = {outside / forward:.2f}")  # fmt: skip
            align = r["stages"].get("align", 0.0)
            print(f"{r['mode']}: alignment / forward pass = "
                  f"{align:.1f} / {forward:.1f} ms = {align / forward:.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=48)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--size", type=int, default=640, help="photo width in pixels (4:3)")
    parser.add_argument("--model", choices=[*_MODELS, "baseline"], default="recommended")
    parser.add_argument(
        "--resize", type=int, default=None, help="model input size (default: the preset's, 224)"
    )
    parser.add_argument("--images", type=Path, help="a folder of JPEG photos to store")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        folder = Path(tmp)
        media = folder / "media"
        _setup(media)
        label = _activate(args.model, args.resize, folder)
        ids = _photos(args.photos, args.size, args.images)
        results = [
            _run("unbatched", 1, ids, media, folder),
            _run(f"batched-{args.batch_size}", args.batch_size, ids, media, folder),
        ]
    device = os.environ.get("PIPELINE_DEVICE") or "auto"
    print(f"\n{args.photos} photos {args.size}x{args.size * 3 // 4}, segmenter {label}, "
          f"one worker (--pool solo), device {device}")  # fmt: skip
    print("| mode | photos/min | median latency (s) | worker peak RSS (MiB) | mean batch |")
    print("|---|---|---|---|---|")
    for r in results:
        print(f"| {r['mode']} | {r['photos_per_minute']:.1f} | {r['median_latency_s']:.2f} | "
              f"{r['peak_rss_mib']:.0f} | {r['mean_batch']:.1f} |")  # fmt: skip
    ratio = results[1]["photos_per_minute"] / results[0]["photos_per_minute"]
    print(f"\nbatched / unbatched throughput: {ratio:.2f}x")
    _print_stages(results)
    if any(r["failed"] for r in results):
        print("WARNING: some photos failed; see the worker logs")


def _as_worker(argv: list[str]) -> None:
    """``celery <argv>`` in this interpreter, with Django set up."""
    import django

    django.setup()
    from celery.bin.celery import main as celery_main

    sys.argv = ["celery", *argv]
    celery_main()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--as-worker"]:
        _as_worker(sys.argv[2:])
    else:
        main()
