"""Bounded load on loopback (issue #7): N clients uploading photos and reading series for M seconds.

    .venv/bin/python bench/load.py --clients 4 --seconds 30
    .venv/bin/python bench/load.py --database-url postgres://postgres@127.0.0.1:5432/security_load

Starts gunicorn with ONE sync worker on 127.0.0.1 against a fresh database and media folder (a
temporary SQLite file unless ``--database-url``; that database is dropped and recreated, so never
point it at one that matters). Celery runs eagerly inside the web process, so every accepted
upload is analysed (colour baseline) before its response: the upload latency includes analysis.
Each client alternates: upload a new photo, then read its patient's series. Throttling is raised
out of the way; it is not what is measured. Prints requests, errors (must be 0), throughput, p50
and p95 per kind, and checks that every accepted photo ended ``done``. Exits 1 on any error.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BASE_DIR))


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"upload": [], "series": []})
    errors: list[str] = field(default_factory=list)
    photo_ids: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _photo(seed: int) -> bytes:
    from tests.images import photo_bytes

    rng = random.Random(seed)
    return photo_bytes(
        (rng.randint(300, 400), rng.randint(220, 300)), fmt="JPEG", colour_shift=seed
    )


def _prepare(env: dict[str, str], clients: int) -> list[tuple[int, int, str]]:
    """Migrate, then one patient per client with a body site and a token."""
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    from diary.models import BodySite
    from diary.services.people import patient_create

    call_command("migrate", verbosity=0)
    accounts = []
    for index in range(clients):
        patient = patient_create(username=f"load{index}", password="x", validate=False)
        site = BodySite.objects.create(patient=patient, region="hands", label="left hand")
        accounts.append((patient.pk, site.pk, Token.objects.create(user=patient.user).key))
    return accounts


def _client(base: str, account: tuple[int, int, str], deadline: float, seed: int, tally: Tally):
    import requests

    patient_id, site_id, token = account
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    n = 0
    while time.monotonic() < deadline:
        n += 1
        image = _photo(seed * 100_000 + n)
        for kind in ("upload", "series"):
            started = time.perf_counter()
            try:
                if kind == "upload":
                    response = session.post(
                        f"{base}/api/v1/photos/",
                        data={"body_site": site_id},
                        files={"image": ("p.jpg", image, "image/jpeg")},
                        timeout=60,
                    )
                    ok = response.status_code == 201
                else:
                    response = session.get(
                        f"{base}/api/v1/patients/{patient_id}/series/", timeout=60
                    )
                    ok = response.status_code == 200
            except requests.RequestException as error:
                with tally.lock:
                    tally.errors.append(f"{kind}: {error!r}")
                continue
            elapsed = time.perf_counter() - started
            with tally.lock:
                tally.latencies[kind].append(elapsed)
                if not ok:
                    tally.errors.append(f"{kind}: {response.status_code} {response.text[:200]}")
                elif kind == "upload":
                    tally.photo_ids.append(response.json()["id"])


def _wait_ready(base: str, process: subprocess.Popen, timeout: float = 60.0) -> None:
    import requests

    limit = time.monotonic() + timeout
    while time.monotonic() < limit:
        if process.poll() is not None:
            raise SystemExit("gunicorn exited during start-up")
        try:
            if requests.get(f"{base}/api/v1/schema/", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.3)
    raise SystemExit("gunicorn did not become ready")


def _p(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="diary-load-"))
    database_url = args.database_url or f"sqlite:///{workdir / 'load.sqlite3'}"
    if database_url.startswith("postgres"):
        _recreate_postgres(database_url)
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DJANGO_DEBUG": "false",
        "DATABASE_URL": database_url,
        "DJANGO_MEDIA_ROOT": str(workdir / "media"),
        "CELERY_BROKER_URL": "memory://localhost/",
        "CELERY_TASK_ALWAYS_EAGER": "true",
        "API_UPLOAD_RATE": "100000/min",
        "DJANGO_LOG_LEVEL": "ERROR",
    }
    accounts = _prepare(env, args.clients)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    gunicorn = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--workers", "1",
         "--bind", f"127.0.0.1:{port}", "--timeout", "120", "--log-level", "warning"],
        cwd=BASE_DIR, env={**os.environ, **env},
    )  # fmt: skip
    tally = Tally()
    try:
        _wait_ready(base, gunicorn)
        started = time.monotonic()
        deadline = started + args.seconds
        threads = [
            threading.Thread(target=_client, args=(base, account, deadline, i + 1, tally))
            for i, account in enumerate(accounts)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.monotonic() - started
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=30)

    from diary.models import Photo

    statuses: dict[str, int] = {}
    for status in Photo.objects.filter(pk__in=tally.photo_ids).values_list("status", flat=True):
        statuses[status] = statuses.get(status, 0) + 1
    requests_total = sum(len(v) for v in tally.latencies.values())
    print(f"database: {database_url.split('://')[0]}; clients: {args.clients}; wall: {wall:.1f} s")
    print(f"requests: {requests_total}; errors: {len(tally.errors)}; "
          f"throughput: {requests_total / wall:.1f} req/s")  # fmt: skip
    for kind, values in tally.latencies.items():
        print(f"  {kind:6s} n={len(values):4d}  p50={_p(values, 50) * 1000:7.1f} ms  "
              f"p95={_p(values, 95) * 1000:7.1f} ms")  # fmt: skip
    print(f"accepted uploads: {len(tally.photo_ids)}; photo statuses: {statuses}")
    for error in tally.errors[:10]:
        print("  error:", error)
    shutil.rmtree(workdir, ignore_errors=True)
    analysed = statuses.get("done", 0) == len(tally.photo_ids)
    if tally.errors or not analysed:
        print("FAILED: errors, or accepted uploads not analysed")
        return 1
    return 0


def _recreate_postgres(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


if __name__ == "__main__":
    raise SystemExit(main())
