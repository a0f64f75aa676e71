"""Removing stored files (photos, masks, overlays): one helper, one way to handle errors.

Storage cannot join a database transaction, so files are removed after the rows: on commit for a
deletion, or at once when a write was rolled back. A file that cannot be removed is logged and
left behind; :func:`stored_files_sweep` (celery beat, ``diary.sweep_stored_files``) removes every
file that no row names once it is older than ``STORAGE_SWEEP_GRACE``, and tries again on each run.
The row is the truth: a leftover file is invisible to every endpoint.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import Storage, default_storage
from django.db import transaction
from django.db.models.fields.files import FieldFile
from django.utils import timezone

from ..models import Analysis, Correction, Photo

logger = logging.getLogger(__name__)

#: Top-level storage folders whose files belong to a row (see the models' ``upload_to``).
STORED_FOLDERS = ("photos", "masks", "overlays")

_CHECK_CHUNK = 500


def files_delete(files: Iterable[FieldFile]) -> list[str]:
    """Remove ``files`` from their storage now; returns the names left for the sweep (logged)."""
    left: list[str] = []
    for field_file in files:
        if not field_file:
            continue
        try:
            field_file.storage.delete(field_file.name)
        except Exception:  # any backend's error: OSError locally, botocore's errors on S3
            logger.exception("Could not delete %s; left for the sweep", field_file.name)
            left.append(field_file.name)
    return left


def files_delete_on_commit(files: Iterable[FieldFile]) -> None:
    """Remove ``files`` once the current transaction commits (never if it rolls back).

    Never raises: the rows are already gone when it runs, so the request or task that deleted
    them still succeeds, and what could not be removed is left for the sweep.
    """
    names = [f for f in files if f]
    transaction.on_commit(lambda: files_delete(names))


def stored_files_sweep(
    *, older_than: timedelta | None = None, dry_run: bool = False, storage: Storage | None = None
) -> list[str]:
    """Remove stored files that no photo, analysis or correction names; returns their names.

    Only files older than ``older_than`` (default ``STORAGE_SWEEP_GRACE``) are considered: an
    upload or an analysis writes its file just before its row commits.
    """
    storage = storage or default_storage
    grace = older_than if older_than is not None else settings.STORAGE_SWEEP_GRACE
    cutoff = timezone.now() - grace
    candidates = [name for name in _walk(storage, STORED_FOLDERS) if _older(storage, name, cutoff)]
    orphans: list[str] = []
    for start in range(0, len(candidates), _CHECK_CHUNK):
        chunk = candidates[start : start + _CHECK_CHUNK]
        orphans.extend(sorted(set(chunk) - _referenced(chunk)))
    if dry_run or not orphans:
        return orphans
    removed = []
    for name in orphans:
        try:
            storage.delete(name)
        except Exception:
            logger.exception("Sweep: could not delete %s; tried again on the next run", name)
        else:
            removed.append(name)
    logger.info("Sweep: removed %d of %d leftover files", len(removed), len(orphans))
    return removed


def _walk(storage: Storage, folders: Iterable[str]) -> Iterator[str]:
    for folder in folders:
        try:
            directories, names = storage.listdir(folder)
        except FileNotFoundError:
            continue
        yield from (f"{folder}/{name}" for name in names)
        yield from _walk(storage, (f"{folder}/{directory}" for directory in directories))


def _older(storage: Storage, name: str, cutoff) -> bool:
    try:
        return storage.get_modified_time(name) < cutoff
    except (FileNotFoundError, NotImplementedError):
        return False


def _referenced(names: list[str]) -> set[str]:
    referenced = set(Photo.objects.filter(image__in=names).values_list("image", flat=True))
    for model in (Analysis, Correction):  # both keep their masks under masks/ and overlays/
        for field in ("mask", "overlay"):
            lookup = {f"{field}__in": names}
            referenced.update(model.objects.filter(**lookup).values_list(field, flat=True))
    return referenced
