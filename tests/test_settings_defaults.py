"""The embedded default is the safe one: no debug and no fixed secret key unless asked for.

`make run` asks for both (tests/test_fresh_clone.py checks that it serves in debug)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_READ = (
    "from django.conf import settings; import json; "
    "print(json.dumps({'DEBUG': settings.DEBUG, 'SECRET_KEY': settings.SECRET_KEY}))"
)


def _settings(**env: str) -> dict:
    """The settings ``manage.py`` gets with DJANGO_SETTINGS_MODULE unset and only ``env``."""
    base = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", _READ],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_without_environment_debug_is_off_and_the_key_is_random_per_process():
    first, second = _settings(), _settings()
    assert first["DEBUG"] is False and second["DEBUG"] is False
    assert len(first["SECRET_KEY"]) >= 50
    assert first["SECRET_KEY"] != second["SECRET_KEY"]  # nothing fixed to forge signatures with


def test_debug_and_key_are_taken_from_the_environment():
    key = "k" * 60
    assert _settings(DJANGO_DEBUG="true", DJANGO_SECRET_KEY=key) == {
        "DEBUG": True,
        "SECRET_KEY": key,
    }


def test_make_run_asks_for_debug_and_a_development_key():
    plan = subprocess.run(
        ["make", "-n", "run", "PYTHON=python3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("MAKE")},
    ).stdout
    [serve] = [line for line in plan.splitlines() if "runserver" in line]
    assert "DJANGO_DEBUG=true" in serve and "DJANGO_SECRET_KEY=" in serve
    assert "mkdir -p var" in plan  # a fresh clone has no var/ for SQLite and media
