"""docker-compose.yml parses, and its services and commands are the ones README documents.

Docker has no engine on the CI machines, so the file is checked here rather than run.
"""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
EXPECTED_SERVICES = {"postgres", "redis", "web", "worker-gpu", "worker-cpu", "beat"}


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _normalise(command) -> str:
    if isinstance(command, list):
        command = " ".join(command)
    return " ".join(command.split())


def _readme_commands() -> dict[str, str]:
    """The `| service | command |` table of README's Production section."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Production", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([\w-]+)` \| (.+) \|$", section, re.M)
    return {service: " ".join(re.findall(r"`([^`]+)`", cell)) for service, cell in rows}


def test_compose_defines_the_production_services():
    services = _compose()["services"]
    assert set(services) == EXPECTED_SERVICES
    for name in ("web", "worker-gpu", "worker-cpu", "beat"):
        env = services[name]["environment"]
        assert env["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["CELERY_BROKER_URL"].startswith("redis://redis:6379")
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_gpu_worker_reserves_an_nvidia_device_and_runs_one_process():
    worker = _compose()["services"]["worker-gpu"]
    devices = worker["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
    assert worker["environment"]["CUDA_VISIBLE_DEVICES"] == "0"
    command = _normalise(worker["command"])
    assert "--concurrency 1" in command and "--queues gpu,gpu_low" in command


def test_readme_documents_every_service_and_its_exact_command():
    services = _compose()["services"]
    documented = _readme_commands()
    assert set(documented) == set(services)
    for name, service in services.items():
        if "command" not in service:
            assert service["image"] in documented[name]
            continue
        command = _normalise(service["command"])
        # README may show the migrate step apart; the server command itself must match exactly.
        server = command.split("&&")[-1].strip().strip('"').strip()
        assert server in _normalise(documented[name]), (name, server, documented[name])
        if "&&" in command:
            assert "python manage.py migrate --noinput" in documented[name]


def test_readme_gives_the_two_commands_and_ci_calls_the_test_one():
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
