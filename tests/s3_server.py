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


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory):
    """Start ``python -m moto.server`` on a free port; its URL, for the whole session."""
    try:
        import boto3  # noqa: F401
        import moto.server  # noqa: F401
    except ImportError as error:
        require_service("moto's S3 server", False, f"{error}; pip install -r requirements-dev.txt")
    port = _free_port()
    log_path = Path(tmp_path_factory.mktemp("moto")) / "moto.log"
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
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def s3_bucket(s3_endpoint, settings, monkeypatch) -> S3Bucket:
    """A fresh bucket, and this process's default storage pointed at it as a deployment would.

    The variables are also put in this process's environment, which the live worker fixture
    passes on to the worker it starts.
    """
    import boto3
    import environ

    from config.storage import default_storage_settings

    name = f"diary-{uuid.uuid4().hex[:16]}"
    environment = {
        "DJANGO_STORAGE_BACKEND": "s3",
        "AWS_S3_ENDPOINT_URL": s3_endpoint,
        "AWS_STORAGE_BUCKET_NAME": name,
        "AWS_S3_REGION_NAME": "us-east-1",
        "AWS_ACCESS_KEY_ID": "diary-test-key",
        "AWS_SECRET_ACCESS_KEY": "diary-test-secret",
    }
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name=environment["AWS_S3_REGION_NAME"],
        aws_access_key_id=environment["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=environment["AWS_SECRET_ACCESS_KEY"],
    )
    client.create_bucket(Bucket=name)
    settings.STORAGES = {**settings.STORAGES, "default": default_storage_settings(environ.Env())}
    bucket = S3Bucket(s3_endpoint, name, environment, client)
    yield bucket
    for key in bucket.object_keys():
        client.delete_object(Bucket=name, Key=key)
    client.delete_bucket(Bucket=name)
