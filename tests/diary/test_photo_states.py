"""One module owns a photo's states: the transition table decides, and nothing else writes
``Photo.status``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.utils import timezone

from diary.models import Photo
from diary.services.photo_states import (
    TRANSITIONS,
    photo_fail,
    photo_state_set,
    photos_transition,
)
from tests.factories import PhotoFactory

ROOT = Path(__file__).resolve().parents[2]
OWNER = ROOT / "diary" / "services" / "photo_states.py"
Status = Photo.Status


def _status_writes(path: Path) -> list[str]:
    """Where ``path`` writes a status: ``x.status = ...``, ``update(status=...)`` or
    ``create(status=...)``, and ``"status"`` among the fields of a save or bulk update."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for sub in ast.walk(target):
                    if isinstance(sub, ast.Attribute) and sub.attr == "status":
                        found.append(f"{path.name}:{node.lineno} assigns .status")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            writers = {"update", "create", "get_or_create", "update_or_create"}
            if node.func.attr in writers and any(kw.arg == "status" for kw in node.keywords):
                found.append(f"{path.name}:{node.lineno} {node.func.attr}(status=...)")
            if node.func.attr in {"save", "bulk_update"}:
                for sub in ast.walk(node):
                    if isinstance(sub, ast.Constant) and sub.value == "status":
                        found.append(f"{path.name}:{node.lineno} {node.func.attr} of 'status'")
    return found


def test_no_other_module_writes_photo_status():
    sources = [
        path
        for folder in ("diary", "segmentation", "config")
        for path in (ROOT / folder).rglob("*.py")
        if "migrations" not in path.parts and path != OWNER
    ]
    writes = [hit for path in sources for hit in _status_writes(path)]
    # diary/services/errors.py keeps an HTTP status on its exception: not a photo's.
    assert writes == ["errors.py:18 assigns .status"]
    assert _status_writes(OWNER)  # the owner's own writes are found by the same scan


def test_the_table_names_only_real_states():
    states = set(Status)
    for event, transition in TRANSITIONS.items():
        assert transition.target in states, event
        assert transition.sources and transition.sources <= states, event


@pytest.mark.django_db
def test_fail_never_moves_a_finished_photo_and_reanalyse_resets_it():
    done = PhotoFactory(status=Status.DONE)
    pending = PhotoFactory(status=Status.PENDING, analysis_attempts=2)
    assert photo_fail(photo_id=done.pk, reason="late").outcome.value == "skipped"
    assert photo_fail(photo_id=pending.pk, reason="bad file").outcome.value == "failed"
    done.refresh_from_db()
    pending.refresh_from_db()
    assert done.status == Status.DONE and done.error_message == ""
    assert (pending.status, pending.error_message, pending.analysis_attempts) == (
        Status.FAILED,
        "bad file",
        0,
    )
    assert photos_transition("reanalyse", photo_ids=[done.pk, pending.pk]) == 2
    for photo in Photo.objects.filter(pk__in=[done.pk, pending.pk]):
        assert (photo.status, photo.error_message, photo.analysis_attempts) == (
            Status.PENDING,
            "",
            0,
        )


@pytest.mark.django_db
def test_requeue_moves_only_unfinished_photos():
    failed = PhotoFactory(status=Status.FAILED, error_message="bad file")
    processing = PhotoFactory(status=Status.PROCESSING)
    assert photos_transition("requeue", photo_ids=[failed.pk, processing.pk]) == 1
    failed.refresh_from_db()
    processing.refresh_from_db()
    assert failed.status == Status.FAILED and processing.status == Status.PENDING


@pytest.mark.django_db
def test_in_memory_transition_refuses_a_source_the_table_does_not_allow():
    photo = PhotoFactory(status=Status.DONE)
    with pytest.raises(ValueError, match="no 'give_up' from 'done'"):
        photo_state_set(photo, "give_up", now=timezone.now())
    assert photo_state_set(photo, "settle", now=timezone.now()) == []  # already there
