"""Fixtures of the pipeline tests: a tiny checkpoint, the broker, and a live Celery worker.

Live-worker tests need PostgreSQL (the worker subprocess must see the rows the test committed,
so they use ``transactional_db`` and point the worker at the test database) and Redis (the
``CELERY_BROKER_URL`` of the environment). Without them they are skipped, under ``CI=true`` they
fail. The worker reads ``PIPELINE_TEST_DELAY_SECONDS`` to make every prediction slow on purpose,
and ``PIPELINE_TEST_CRASH_ON_SIZE`` (``crash_on_size="WxH"``) to die on photos of that size.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import celery_conf, require_service
from tests.processes import child_pids

ROOT = Path(__file__).resolve().parents[2]
QUEUE_KEYS = ("gpu", "gpu_low", "default", "unacked", "unacked_index", "unacked_mutex")


@pytest.fixture(autouse=True)
def _fresh_segmenter():
    """Each test starts and ends without this process's cached segmenter."""
    from diary import segmenter_cache

    segmenter_cache.segmenter_cache_clear()
    yield
    segmenter_cache.segmenter_cache_clear()


def redis_url() -> str:
    return os.environ.get("CELERY_BROKER_URL", "")


def redis_client():
    import redis

    return redis.Redis.from_url(redis_url(), socket_connect_timeout=2)


def _redis_reachable() -> tuple[bool, str]:
    if not redis_url().startswith("redis://"):
        return False, "CELERY_BROKER_URL is not a redis:// URL"
    try:
        redis_client().ping()
    except Exception as error:
        return False, str(error)
    return True, ""


def reset_producers() -> None:
    """Celery caches its broker connection pool; a changed broker_url needs a fresh one."""
    from kombu import pools

    from config.celery import app

    pools.reset()  # kombu's global producer pools, keyed by connection
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def broker(url: str):
    """Publish to ``url`` (not eagerly) inside the block."""
    reset_producers()
    with celery_conf(broker_url=url, task_always_eager=False):
        try:
            yield
        finally:
            reset_producers()
    reset_producers()


def purge_broker() -> None:
    client = redis_client()
    for key in QUEUE_KEYS:
        client.delete(key)
    for key in client.scan_iter("gpu*"):
        client.delete(key)


def broker_backlog() -> dict[str, int]:
    """Messages waiting in our queues, and those reserved by a worker but not acknowledged."""
    client = redis_client()
    return {
        "gpu": client.llen("gpu"),
        "gpu_low": client.llen("gpu_low"),
        "unacked": client.hlen("unacked"),
    }


class LiveWorker:
    def __init__(self, process: subprocess.Popen, log: Path) -> None:
        self.process = process
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def children(self) -> list[int]:
        return child_pids(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def live_services(transactional_db):
    from django.db import connection

    require_service(
        "PostgreSQL",
        connection.vendor == "postgresql",
        f"the test database is {connection.vendor}; set DATABASE_URL",
    )
    reachable, detail = _redis_reachable()
    require_service("Redis", reachable, detail)
    purge_broker()
    with broker(redis_url()):
        yield
    purge_broker()


@pytest.fixture
def start_worker(live_services, tmp_path):
    """Start ``celery -A config worker`` on the test database; stopped after the test."""
    from django.db import connection

    workers: list[LiveWorker] = []

    def start(
        *,
        pool: str = "solo",
        batch_size: int = 4,
        delay: float = 0.0,
        concurrency: int = 1,
        crash_on_size: str = "",
        media_root: Path | None = None,
    ) -> LiveWorker:
        db = connection.settings_dict
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "CELERY_BROKER_URL": redis_url(),
            "CELERY_TASK_ALWAYS_EAGER": "false",
            # Another host's worker (shared storage) has a media folder of its own.
            "DJANGO_MEDIA_ROOT": str(media_root or settings.MEDIA_ROOT),
            "PIPELINE_BATCH_SIZE": str(batch_size),
            "PIPELINE_BATCH_INTERVAL_SECONDS": "0.3",
            "PIPELINE_TEST_DELAY_SECONDS": str(delay),
            "PIPELINE_TEST_CRASH_ON_SIZE": crash_on_size,
            "PIPELINE_MAX_RETRIES": "1",
        }
        if db.get("PASSWORD"):
            env["DATABASE_URL"] = env["DATABASE_URL"].replace(
                f"//{db['USER']}@", f"//{db['USER']}:{db['PASSWORD']}@"
            )
        log = tmp_path / f"worker-{len(workers)}.log"
        command = [
            sys.executable, "-m", "celery", "-A", "config", "worker",
            "-Q", "gpu,gpu_low,default", "--pool", pool, "--concurrency", str(concurrency),
            "--prefetch-multiplier", str(batch_size), "--without-gossip", "--without-mingle",
            "--without-heartbeat", "-n", f"test-{uuid.uuid4().hex[:8]}@%h", "--loglevel", "INFO",
        ]  # fmt: skip
        with log.open("wb") as out:
            process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        worker = LiveWorker(process, log)
        workers.append(worker)
        deadline = time.monotonic() + 60
        while "ready." not in worker.output():
            if process.poll() is not None or time.monotonic() > deadline:
                worker.stop()
                pytest.fail(f"The worker did not start:\n{worker.output()[-3000:]}")
            time.sleep(0.2)
        return worker

    yield start
    for worker in workers:
        worker.stop()


def wait_for(predicate, *, timeout: float, what: str, worker: LiveWorker | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    log = worker.output()[-4000:] if worker else ""
    pytest.fail(f"Timed out after {timeout} s waiting for {what}\n{log}")


@pytest.fixture
def tiny_checkpoint(tmp_path) -> Path:
    """A randomly initialised LR-ASPP MobileNetV3 checkpoint at a 64 px input (no download)."""
    from segmentation.core import build_model, save_checkpoint
    from segmentation.core.checkpoint import make_header

    model = build_model("lraspp", "mobilenet_v3_large", num_classes=2)
    header = make_header(
        arch="lraspp",
        backbone="mobilenet_v3_large",
        num_classes=2,
        resize_size=64,
        crop_size=64,
        mean=[0.485, 0.456, 0.406],
        std=[0.229, 0.224, 0.225],
    )
    return save_checkpoint(tmp_path / "tiny.pth", model=model, header=header)
