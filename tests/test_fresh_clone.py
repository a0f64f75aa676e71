"""The README's first command on a fresh clone: `make run`, then the mobile app's first path.

Clones the current *commit* (uncommitted changes are not seen) into an empty folder with no
`../shared` beside it, runs `make run` there on a free port with none of the test environment,
and drives the server as a user would: schema, login as the demo patient with the password
`make run` printed, upload, poll to `done`, mask download. The fresh virtualenv installs the
runtime requirements (torch included), so this takes minutes; it is bounded by ``DEADLINE_S``.
"""

from __future__ import annotations

import io
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests
from PIL import Image

from tests.images import photo_bytes

ROOT = Path(__file__).resolve().parents[1]
DEADLINE_S = 15 * 60
# What the test run itself sets; `make run` on a newcomer's machine sees none of it.
_TEST_ENV = ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "VIRTUAL_ENV", "PYTHONPATH")
_TEST_ENV_PREFIXES = ("DJANGO_", "PYTEST", "MAKE", "MFLAGS", "CELERY_", "PHOTO_", "API_")

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _clean_env() -> dict[str, str]:
    return {
        key: value
        for key, value in os.environ.items()
        if key not in _TEST_ENV and not key.startswith(_TEST_ENV_PREFIXES)
    }


def _clone_head(dest: Path) -> None:
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    subprocess.run(["git", "clone", "--quiet", "--no-checkout", str(ROOT), str(dest)], check=True)
    subprocess.run(["git", "-C", str(dest), "checkout", "--quiet", "--detach", commit], check=True)


class _Server:
    """`make run` in its own process group, its output in a file we can read while it runs."""

    def __init__(self, clone: Path, port: int, log: Path) -> None:
        self.log = log
        self.base = f"http://127.0.0.1:{port}"
        self._out = log.open("w")
        self.process = subprocess.Popen(
            ["make", "run", f"HOST=127.0.0.1:{port}"],
            cwd=clone,
            env=_clean_env(),
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: runserver's reloader child goes with it
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def fail(self, what: str) -> None:
        pytest.fail(f"{what}\n--- make run output (tail) ---\n{self.output()[-6000:]}")

    def wait_for(self, path: str, deadline: float) -> None:
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.fail(f"`make run` exited with {self.process.returncode} before serving")
            try:
                if requests.get(self.base + path, timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(2)
        self.fail(f"{path} did not answer 200 within {DEADLINE_S} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=20)
        self._out.close()


def test_make_run_on_a_fresh_clone_serves_the_upload_path(tmp_path):
    deadline = time.monotonic() + DEADLINE_S
    clone = tmp_path / "clone"
    _clone_head(clone)
    assert not (clone / "var").exists() and not (clone / ".venv").exists()
    assert not (tmp_path / "shared").exists()  # the product must not need ../shared

    server = _Server(clone, _free_port(), tmp_path / "make-run.log")
    try:
        server.wait_for("/api/v1/schema/", deadline)
        match = re.search(r"^\s+demo-patient\s+(\S+)\s*$", server.output(), re.MULTILINE)
        if match is None:
            server.fail("`make run` printed no password for demo-patient")
        api = requests.Session()
        login = api.post(
            f"{server.base}/api/v1/auth/token/",
            json={"username": "demo-patient", "password": match.group(1)},
            timeout=30,
        )
        assert login.status_code == 200, login.text
        api.headers["Authorization"] = f"Token {login.json()['token']}"
        [site] = api.get(f"{server.base}/api/v1/body-sites/", timeout=30).json()["results"]

        upload = api.post(
            f"{server.base}/api/v1/photos/",
            data={"body_site": site["id"]},
            files={"image": ("hand.jpg", photo_bytes((160, 120), fmt="JPEG"), "image/jpeg")},
            timeout=300,
        )
        assert upload.status_code == 201, upload.text
        # No broker on the embedded default: analysed in-process before the answer (README).
        assert upload.json()["status"] == "done", upload.json()
        status_url = server.base + upload.json()["status_url"]
        while (photo := api.get(status_url, timeout=30).json())["status"] in (
            "pending",
            "processing",
        ):
            assert time.monotonic() < deadline, "the photo was not analysed in time"
            time.sleep(1)
        assert photo["status"] == "done", photo

        mask = api.get(server.base + photo["latest_analysis"]["mask_url"], timeout=30)
        assert mask.status_code == 200 and mask.headers["Content-Type"] == "image/png"
        with Image.open(io.BytesIO(mask.content)) as image:
            assert image.size == (160, 120)

        # `make run` asked for debug: Django's technical 404 page, which production never shows.
        page = requests.get(f"{server.base}/no-such-page/", timeout=30)
        assert page.status_code == 404 and "Using the URLconf" in page.text
    finally:
        server.stop()
    assert server.process.returncode is not None
