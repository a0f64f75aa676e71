"""An S3-compatible server for the tests: moto's standalone server, over HTTP on 127.0.0.1.

Nothing is patched in-process: the web process (this test process) and the live worker talk to
the server through boto3 and django-storages exactly as a deployment talks to its bucket, with the
settings a deployment sets (``DJANGO_STORAGE_BACKEND=s3``, ``AWS_S3_ENDPOINT_URL`` and friends,
read by ``config.storage.default_storage_settings``). Without moto the tests are skipped, and
under ``CI=true`` they fail (``moto[server]`` is pinned in requirements-dev.txt).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import require_service


@dataclass
class S3Bucket:
    """One test's bucket, and the environment that points a Django process at it."""

    endpoint: str
    name: str
    environment: dict[str, str]
    client: object  # a boto3 S3 client, authenticated

    def object_keys(self) -> set[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.name)
        return {item["Key"] for page in pages for item in page.get("Contents", [])}

    def read(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.name, Key=key)["Body"].read()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@contextmanager
def moto_server(log_dir: Path):
    """Run ``python -m moto.server`` on a free port for the block; yields ``(url, process)``."""
    try:
        import boto3  # noqa: F401
        import moto.server  # noqa: F401
    except ImportError as error:
        require_service("moto's S3 server", False, f"{error}; pip install -r requirements-dev.txt")
    port = _free_port()
    log_path = log_dir / "moto.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while not _listening(port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"moto's server did not start:\n{log_path.read_text()[-2000:]}")
        time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}", process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory):
    """moto's server for the whole session; its URL."""
    with moto_server(Path(tmp_path_factory.mktemp("moto"))) as (url, _process):
        yield url


def s3_point_at(endpoint: str, settings, monkeypatch) -> S3Bucket:
    """Create a bucket on ``endpoint`` and point this process's default storage at it, with the
    variables a deployment sets (also put in the environment, which the live worker fixture
    passes on to the worker it starts)."""
    import boto3
    import environ

    from config.storage import default_storage_settings

    name = f"diary-{uuid.uuid4().hex[:16]}"
    environment = {
        "DJANGO_STORAGE_BACKEND": "s3",
        "AWS_S3_ENDPOINT_URL": endpoint,
        "AWS_STORAGE_BUCKET_NAME": name,
        "AWS_S3_REGION_NAME": "us-east-1",
        "AWS_ACCESS_KEY_ID": "diary-test-key",
        "AWS_SECRET_ACCESS_KEY": "diary-test-secret",
    }
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=environment["AWS_S3_REGION_NAME"],
        aws_access_key_id=environment["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=environment["AWS_SECRET_ACCESS_KEY"],
    )
    client.create_bucket(Bucket=name)
    settings.STORAGES = {**settings.STORAGES, "default": default_storage_settings(environ.Env())}
    return S3Bucket(endpoint, name, environment, client)


@pytest.fixture
def s3_bucket(s3_endpoint, settings, monkeypatch) -> S3Bucket:
    """A fresh bucket on the session's server, this process's default storage pointed at it."""
    bucket = s3_point_at(s3_endpoint, settings, monkeypatch)
    yield bucket
    for key in bucket.object_keys():
        bucket.client.delete_object(Bucket=bucket.name, Key=key)
    bucket.client.delete_bucket(Bucket=bucket.name)
