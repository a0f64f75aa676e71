"""Clinicians' corrections are the patient's data: in their archive, gone with their erasure,
kept by the storage sweep while a row names them."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import time
import zipfile
from pathlib import Path

import pytest
from django.urls import reverse

from diary.models import Correction, CorrectionScore
from diary.services.analysis import photos_analyse
from diary.services.files import stored_files_sweep
from tests.conftest import client_for
from tests.diary.test_corrections_api import box_mask, mask_png, post_correction
from tests.factories import BodySiteFactory, PhotoFactory

pytestmark = pytest.mark.django_db


def _corrected_photo(patient, clinician):
    photo = PhotoFactory(body_site=BodySiteFactory(patient=patient))
    photos_analyse(photo_ids=[photo.pk])
    response = post_correction(client_for(clinician), photo, mask_png(box_mask(4, 4, 30, 40)))
    assert response.status_code == 201, response.json()
    return Correction.objects.get(pk=response.json()["id"])


def test_erasure_removes_the_patients_corrections_and_their_files(
    patient_a, patient_b, clinician, other_clinician, staff, django_capture_on_commit_callbacks
):
    mine = _corrected_photo(patient_a, clinician)
    theirs = _corrected_photo(patient_b, other_clinician)
    my_files = [Path(mine.mask.path), Path(mine.overlay.path)]
    assert all(path.exists() for path in my_files)

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(staff).delete(reverse("api:patient-erasure", args=[patient_a.pk]))
    assert response.status_code == 204
    assert not Correction.objects.filter(photo__patient_id=patient_a.pk).exists()
    assert not CorrectionScore.objects.filter(correction_id=mine.pk).exists()
    assert not any(path.exists() for path in my_files)
    assert Correction.objects.filter(pk=theirs.pk).exists()
    assert Path(theirs.mask.path).exists()


def test_the_archive_holds_the_corrections_rows_and_masks(patient_a, clinician):
    correction = _corrected_photo(patient_a, clinician)
    response = client_for(patient_a.user).get(reverse("api:patient-export", args=[patient_a.pk]))
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    name = f"corrections/{correction.photo_id}-{correction.pk}.png"
    with correction.mask.open("rb") as handle:
        assert archive.read(name) == handle.read()
    [photo] = json.loads(archive.read("patient.json"))["photos"]
    [row] = photo["corrections"]
    assert row["id"] == correction.pk and row["file"] == name
    assert row["corrected_by"] == clinician.username
    assert row["lesion_skin_fraction"] == pytest.approx(correction.lesion_skin_fraction)
    series = archive.read("series.csv").decode()
    assert series.splitlines()[1].split(",")[-2] == "clinician"


def test_the_sweep_keeps_the_files_of_corrections(patient_a, clinician, settings):
    settings.STORAGE_SWEEP_GRACE = dt.timedelta(minutes=1)
    correction = _corrected_photo(patient_a, clinician)
    old = time.time() - 3600
    for path in Path(settings.MEDIA_ROOT).rglob("*"):
        if path.is_file():
            os.utime(path, (old, old))
    assert stored_files_sweep(dry_run=True) == []
    assert Path(correction.mask.path).exists() and Path(correction.overlay.path).exists()
