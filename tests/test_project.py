"""Project-level checks: schema, start-up path, settings, services and compose file."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[1]


def test_openapi_schema_generates_without_warnings(tmp_path):
    out = tmp_path / "schema.yml"
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "spectacular",
            "--validate",
            "--fail-on-warn",
            "--file",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    for path in (
        "/api/v1/photos/",
        "/api/v1/photos/{id}/mask/",
        "/api/v1/me/",
        "/api/v1/auth/token/",
    ):
        assert f"{path}:" in text
    assert "'401':" in text and "'404':" in text


@pytest.mark.django_db
def test_docs_and_schema_are_served(client):
    assert client.get("/api/v1/schema/").status_code == 200
    assert b"swagger" in client.get("/api/v1/docs/").content.lower()


def test_make_run_startup_path_on_an_empty_sqlite_database(tmp_path):
    """What `make run` does before serving: migrate and create the demo accounts (twice)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    env["DJANGO_MEDIA_ROOT"] = str(tmp_path / "media")
    for command in (["migrate", "--noinput"], ["seed_demo"], ["seed_demo"]):
        result = subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
    assert "demo-clinician" in result.stdout and "demo-patient" in result.stdout
    check = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "--no-imports",
            "-c",
            "from diary.models import Patient;"
            "p = Patient.objects.get(user__username='demo-patient');"
            "print(p.clinicians.get().username, p.body_sites.count())",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.stdout.split() == ["demo-clinician", "1"], check.stderr


@pytest.mark.django_db
def test_seed_demo_passwords_work(client):
    from io import StringIO

    out = StringIO()
    call_command("seed_demo", stdout=out)
    passwords = dict(line.split() for line in out.getvalue().splitlines() if line.startswith("  "))
    assert client.login(username="demo-clinician", password=passwords["demo-clinician"])
    assert client.get("/admin/").status_code == 200
