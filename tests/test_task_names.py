"""Celery task names are spelled once, in diary/task_names.py: the settings, the tasks and the
publisher use its constants (a typo in a route or a beat entry would silently send nothing)."""

from __future__ import annotations

import ast
from pathlib import Path

from config.celery import app
from diary import task_names

ROOT = Path(__file__).resolve().parent.parent


def test_no_task_name_is_spelled_outside_its_module():
    spelled = []
    for folder in ("config", "diary", "segmentation", "bench"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name == "task_names.py" or "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and node.value in _names():
                    spelled.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value}")
    assert spelled == []


def _names() -> set[str]:
    return {value for key, value in vars(task_names).items() if key.isupper()}


def test_every_name_is_a_registered_task_and_every_diary_task_has_a_name():
    app.loader.import_default_modules()
    registered = {name for name in app.tasks if name.startswith("diary.")}
    assert registered == _names()
