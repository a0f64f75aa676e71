"""Upload-to-result latency: from ``POST /api/v1/photos/`` to the photo's ``done``, over HTTP.

Not a test. For each mode it starts the real processes on free ports, logs in through the API,
uploads distinct JPEG photos (multipart, as the app does) and reads when each photo became
``done`` (``status_changed_at``, on the same clock as the upload's start). First ``--singles``
photos one after another (each waits for its result), then a burst of ``--burst`` photos posted
at once from as many client threads. Prints p50 and p95 in seconds per mode and case.

* ``embedded``: the embedded default (``make run``): SQLite, no broker, ``manage.py
  runserver``; the analysis runs in-process before the upload answers;
* ``postgres+redis`` (needs ``DATABASE_URL`` and ``CELERY_BROKER_URL``; use a database of its
  own: it is migrated and its photos replaced): gunicorn with 2 workers, and the GPU worker of
  docker-compose.yml (prefork, concurrency 1, prefetch 8, batches of ``PIPELINE_BATCH_SIZE``).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/latency_bench \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/3 \\
    .venv/bin/python bench/latency.py --images ../shared/data/vitiligo/images

``--model recommended`` (default) registers the recommended network with random weights (the
work per photo is the trained model's); ``--model baseline`` keeps the colour-threshold baseline
a fresh install analyses with.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

PASSWORD = "latency-bench-password"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_ready(process: subprocess.Popen, log: Path, ready: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while ready not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{process.args[:4]} did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


def _request(url: str, *, body: bytes | None = None, headers: dict | None = None) -> dict:
    request = urllib.request.Request(url, data=body, headers=headers or {})
    with urllib.request.urlopen(request, timeout=300) as response:
        return json.loads(response.read())


def _multipart(fields: dict[str, str], image: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="photo.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n".encode()
        + image
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


#: Uploads the server refused during a run (0: connection reset, 503: busy); the client retries
#: them, as the app would.
REFUSED: list[int] = []


#: Photos that ended ``failed`` (reported, not timed).
FAILED: list[int] = []


def _upload(base: str, token: str, site: int, image: bytes) -> tuple[int, datetime]:
    """POST one photo; its id and the wall-clock time of the first attempt. A connection the
    server resets (runserver's listen backlog is 10) or a 503 is tried again after 0.2 s."""
    body, content_type = _multipart({"body_site": str(site)}, image)
    started = datetime.now(UTC)
    for _attempt in range(50):
        try:
            answer = _request(f"{base}/api/v1/photos/", body=body,
                              headers={"Authorization": f"Token {token}",
                                       "Content-Type": content_type})  # fmt: skip
            return answer["id"], started
        except (ConnectionError, urllib.error.URLError) as error:
            # 503: "briefly unavailable; nothing was stored. Try again." (SQLite locked).
            if isinstance(error, urllib.error.HTTPError) and error.code != 503:
                raise
            REFUSED.append(getattr(error, "code", 0))
            time.sleep(0.2)
    raise SystemExit("the server refused 50 attempts of one upload")


def _latencies(uploads: list[tuple[int, datetime]], timeout: float = 900) -> list[float]:
    """Seconds from each upload's start to its ``done`` (read from the database)."""
    from diary.models import Photo

    ids = [photo_id for photo_id, _ in uploads]
    deadline = time.monotonic() + timeout
    while Photo.objects.filter(pk__in=ids).exclude(status__in=["done", "failed"]).exists():
        if time.monotonic() > deadline:
            raise SystemExit("photos not analysed in time")
        time.sleep(0.05)
    FAILED.extend(Photo.objects.filter(pk__in=ids, status="failed").values_list("pk", flat=True))
    done = dict(
        Photo.objects.filter(pk__in=ids, status="done").values_list("pk", "status_changed_at")
    )
    return [(done[pk] - started).total_seconds() for pk, started in uploads if pk in done]


def _prepare(args, folder: Path) -> int:
    """Migrate, register the model, create the patient; returns the body site's id."""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from diary.models import BodySite, Patient, Photo, User
    from segmentation.models import SegmentationModel

    Photo.objects.all().delete()
    SegmentationModel.objects.update(is_active=False)
    if args.model == "recommended":
        from bench.pipeline import _MODELS, bench_checkpoint
        from segmentation.services import model_register

        arch, backbone, _ = _MODELS["recommended"]
        path = bench_checkpoint("recommended", None, folder / "model.pth")
        SegmentationModel.objects.filter(name="latency-bench").delete()
        model_register(name="latency-bench", checkpoint_path=path, architecture=arch,
                       backbone=backbone, metrics={}, training_data="random init (benchmark)",
                       activate=True)  # fmt: skip
    user, _ = User.objects.get_or_create(username="latency-patient", defaults={"role": "patient"})
    user.set_password(PASSWORD)
    user.save()
    patient, _ = Patient.objects.get_or_create(user=user, defaults={"birth_year": 1980})
    site, _ = BodySite.objects.get_or_create(patient=patient, region="hands", label="latency")
    return site.pk


def _processes(mode: str, env: dict, port: int, folder: Path) -> list[subprocess.Popen]:
    started = []
    web_log = folder / f"web-{mode}.log"
    if mode == "embedded":
        command = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
        ready = "Quit the server"
    else:
        command = [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind",
                   f"127.0.0.1:{port}", "--workers", "2", "--timeout", "300"]  # fmt: skip
        ready = "Booting worker"
    web = subprocess.Popen(command, cwd=ROOT, env=env, stdout=web_log.open("wb"),
                           stderr=subprocess.STDOUT)  # fmt: skip
    started.append(web)
    _wait_ready(web, web_log, ready)
    if mode != "embedded":
        worker_log = folder / "worker.log"
        # docker-compose.yml's worker-gpu, listening to the light queue as well.
        command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--queues",
                   "gpu,gpu_low,default", "--pool", "prefork", "--concurrency", "1",
                   "--prefetch-multiplier", "8", "--without-gossip", "--without-mingle",
                   "--hostname", f"latency-{port}@%h", "--loglevel", "INFO"]  # fmt: skip
        worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=worker_log.open("wb"),
                                  stderr=subprocess.STDOUT)  # fmt: skip
        started.append(worker)
        _wait_ready(worker, worker_log, "ready.")
    return started


def _run_mode(args) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"bench-latency-{args.mode}-") as tmp:
        return _measure(args, Path(tmp))


def _measure(args, folder: Path) -> dict:
    from bench.pipeline import _jpeg

    env = {**os.environ, "DJANGO_MEDIA_ROOT": str(folder / "media"),
           "API_UPLOAD_RATE": "100000/min", "DJANGO_SECRET_KEY": "latency-bench-" + "k" * 40,
           "DJANGO_LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}  # fmt: skip
    if args.mode == "embedded":
        env["DATABASE_URL"] = f"sqlite:///{folder / 'db.sqlite3'}"
        env.pop("CELERY_BROKER_URL", None)
        env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    else:
        env["CELERY_TASK_ALWAYS_EAGER"] = "false"
    os.environ.clear()
    os.environ.update(env)  # this process reads the same database as the server
    site = _prepare(args, folder)
    from tqdm import tqdm

    sources = sorted(args.images.glob("*.jp*g")) if args.images else []
    if not sources:
        raise SystemExit("--images: no JPEG photos found")
    photos = iter(
        _jpeg(sources[n % len(sources)], (args.size, args.size * 3 // 4), n) for n in range(10**6)
    )
    port = _free_port()
    processes = _processes(args.mode, env, port, folder)
    base = f"http://127.0.0.1:{port}"
    try:
        login = json.dumps({"username": "latency-patient", "password": PASSWORD}).encode()
        token = _request(f"{base}/api/v1/auth/token/", body=login,
                         headers={"Content-Type": "application/json"})["token"]  # fmt: skip
        # Warm-up: the first analysis loads the model, which is not what is measured.
        _latencies([_upload(base, token, site, next(photos))])
        singles = []
        for _ in tqdm(range(args.singles), desc=f"{args.mode}: one at a time", unit="photo"):
            singles += _latencies([_upload(base, token, site, next(photos))])
        burst_photos = [next(photos) for _ in range(args.burst)]
        with ThreadPoolExecutor(max_workers=args.burst) as pool:
            uploads = list(pool.map(lambda image: _upload(base, token, site, image), burst_photos))
        burst = _latencies(uploads)
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(timeout=60)
    return {
        "mode": args.mode,
        "singles": singles,
        "burst": burst,
        "reset": REFUSED.count(0),
        "busy": REFUSED.count(503),
        "failed": len(FAILED),
    }


def _quantiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return values[0], values[0]
    cuts = statistics.quantiles(values, n=20, method="inclusive")
    return statistics.median(values), cuts[18]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=Path, help="a folder of JPEG photos to upload")
    parser.add_argument("--singles", type=int, default=10, help="photos uploaded one at a time")
    parser.add_argument("--burst", type=int, default=50, help="photos uploaded at once")
    parser.add_argument("--size", type=int, default=640, help="photo width in pixels (4:3)")
    parser.add_argument("--model", choices=["recommended", "baseline"], default="recommended")
    parser.add_argument("--modes", default="embedded,postgres+redis")
    parser.add_argument("--mode", help=argparse.SUPPRESS)  # one mode, in a child process
    args = parser.parse_args()
    if args.mode:
        print("RESULT " + json.dumps(_run_mode(args)))
        return
    results = []
    for mode in args.modes.split(","):
        # One process per mode: Django is configured once per process (SQLite, or PostgreSQL).
        command = [sys.executable, __file__, *sys.argv[1:], "--mode", mode]
        done = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
        if done.returncode or not lines:
            raise SystemExit(f"mode {mode} failed:\n{done.stdout[-3000:]}")
        results.append(json.loads(lines[-1][len("RESULT ") :]))
    print(f"\nPOST /photos/ to done, {args.size}x{args.size * 3 // 4} JPEG photos, "
          f"model {args.model} (seconds)")  # fmt: skip
    print(f"| mode | one at a time: p50 | p95 | burst of {args.burst}: p50 | p95 | "
          "refused and retried: resets / 503 | photos failed |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for r in results:
        (s50, s95), (b50, b95) = _quantiles(r["singles"]), _quantiles(r["burst"])
        tail = f"{r['reset']} / {r['busy']} | {r['failed']}"
        print(f"| {r['mode']} | {s50:.2f} | {s95:.2f} | {b50:.2f} | {b95:.2f} | {tail} |")


if __name__ == "__main__":
    main()
