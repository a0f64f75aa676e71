"""Erasure of a patient (right to erasure): every row and every file of their diary."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models.fields.files import FieldFile

from ..models import Analysis, Patient, Photo

logger = logging.getLogger(__name__)


def patient_files(*, patient: Patient) -> list[FieldFile]:
    """Every stored file of ``patient``: photos, and the masks and overlays of every analysis."""
    files: list[FieldFile] = [photo.image for photo in Photo.objects.filter(patient=patient)]
    for analysis in Analysis.objects.filter(photo__patient=patient).only("mask", "overlay"):
        files.extend((analysis.mask, analysis.overlay))
    return [f for f in files if f]


def patient_erase(*, patient: Patient) -> int:
    """Delete ``patient``'s account, profile, body sites, photos, analyses, treatments and files.

    The rows go in one transaction (the user row cascades to the rest, tokens included); the files
    are removed only once it has committed, so a rolled-back erasure leaves a complete diary
    rather than rows pointing at missing files. Returns the number of files removed.

    Audit events are kept: they hold patient ids, not health data, and are the record that the
    erasure happened (docs/security.md, "Audit and data rights").
    """
    files = patient_files(patient=patient)
    with transaction.atomic():
        user = patient.user
        user.delete()
        transaction.on_commit(lambda: _delete_files(files))
    return len(files)


def _delete_files(files: list[FieldFile]) -> None:
    for field_file in files:
        try:
            field_file.storage.delete(field_file.name)
        except OSError:
            # Logged, not raised: the rows are gone already; an operator sweeps what is left.
            logger.exception("Could not delete %s during an erasure", field_file.name)
