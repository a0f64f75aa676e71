"""Deleting a photo when storage refuses a file, and the sweep that removes leftovers later."""

from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path

import pytest
from django.urls import reverse

from diary.models import Analysis, Photo
from diary.services.files import stored_files_sweep
from tests.conftest import client_for
from tests.factories import AnalysisFactory, BodySiteFactory, PhotoFactory


def _block(path: Path) -> None:
    """Make the storage refuse to delete ``path``: a real OSError (a non-empty directory)."""
    path.unlink()
    path.mkdir()
    (path / "inside").write_bytes(b"x")


def _unblock(path: Path) -> None:
    (path / "inside").unlink()
    path.rmdir()
    path.write_bytes(b"the leftover")


def _age(path: Path, hours: float) -> None:
    stamp = (dt.datetime.now() - dt.timedelta(hours=hours)).timestamp()
    os.utime(path, (stamp, stamp))


# On commit for real: the file deletion runs inside the request, as in production.
@pytest.mark.django_db(transaction=True)
def test_delete_answers_204_when_storage_fails_and_the_sweep_removes_the_leftover(
    patient_a, caplog
):
    analysis = AnalysisFactory(photo=PhotoFactory(body_site=BodySiteFactory(patient=patient_a)))
    photo = analysis.photo
    image, mask, overlay = (Path(f.path) for f in (photo.image, analysis.mask, analysis.overlay))
    _block(overlay)

    with caplog.at_level(logging.ERROR, logger="diary.services.files"):
        response = client_for(patient_a.user).delete(reverse("api:photo-detail", args=[photo.pk]))

    assert response.status_code == 204, response.content
    assert not Photo.objects.filter(pk=photo.pk).exists()
    assert not Analysis.objects.filter(pk=analysis.pk).exists()
    assert not image.exists() and not mask.exists() and overlay.exists()
    assert f"Could not delete {analysis.overlay.name}; left for the sweep" in caplog.text

    # Storage works again; the sweep removes the file no row names once it is old enough.
    _unblock(overlay)
    assert stored_files_sweep() == []  # younger than the grace period: maybe a write in flight
    _age(overlay, hours=2)
    assert stored_files_sweep() == [analysis.overlay.name]
    assert not overlay.exists()


@pytest.mark.django_db
def test_the_sweep_keeps_every_file_a_row_names(_media_root, settings):
    settings.STORAGE_SWEEP_GRACE = dt.timedelta(minutes=60)
    kept = AnalysisFactory()
    files = [Path(f.path) for f in (kept.photo.image, kept.mask, kept.overlay)]
    orphan = Path(_media_root) / "photos" / str(kept.photo.patient_id) / "orphan.png"
    young = Path(_media_root) / "masks" / "young.png"
    orphan.write_bytes(b"o")
    young.write_bytes(b"y")
    for path in [*files, orphan]:
        _age(path, hours=3)

    assert stored_files_sweep(dry_run=True) == [f"photos/{kept.photo.patient_id}/orphan.png"]
    assert orphan.exists()
    assert stored_files_sweep() == [f"photos/{kept.photo.patient_id}/orphan.png"]
    assert not orphan.exists() and young.exists() and all(path.exists() for path in files)


def test_the_sweep_runs_on_a_schedule(settings):
    from diary.tasks import sweep_stored_files

    schedule = settings.CELERY_BEAT_SCHEDULE["sweep-stored-files"]
    assert schedule["task"] == sweep_stored_files.name
