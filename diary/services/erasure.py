"""Erasure of a patient (right to erasure): every row and every file of their diary."""

from __future__ import annotations

from django.db import transaction
from django.db.models.fields.files import FieldFile

from ..models import Analysis, Correction, Patient, Photo
from .files import files_delete_on_commit


def patient_files(*, patient: Patient) -> list[FieldFile]:
    """Every stored file of ``patient``: photos, and the masks and overlays of every analysis
    and every clinician's correction."""
    files: list[FieldFile] = [photo.image for photo in Photo.objects.filter(patient=patient)]
    for model in (Analysis, Correction):
        for row in model.objects.filter(photo__patient=patient).only("mask", "overlay"):
            files.extend((row.mask, row.overlay))
    return [f for f in files if f]


def patient_erase(*, patient: Patient) -> int:
    """Delete ``patient``'s account, profile, body sites, photos, analyses, corrections,
    treatments and files.

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
        files_delete_on_commit(files)
    return len(files)
