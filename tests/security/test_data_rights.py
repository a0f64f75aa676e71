"""Erasure removes every row and file of a patient; export zips all of them, and only them."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token

from diary.models import Analysis, AuditEvent, BodySite, Patient, Photo, TreatmentEntry, User
from tests.conftest import client_for
from tests.factories import AnalysisFactory, BodySiteFactory, PhotoFactory, TreatmentEntryFactory

pytestmark = pytest.mark.django_db


def _diary(patient, photos: int = 2) -> list[Analysis]:
    site = BodySiteFactory(patient=patient)
    TreatmentEntryFactory(patient=patient, body_site=site)
    return [AnalysisFactory(photo=PhotoFactory(body_site=site)) for _ in range(photos)]


def _files(root) -> set[Path]:
    return {p for p in Path(root).rglob("*") if p.is_file()}


def _paths(analyses: list[Analysis]) -> set[Path]:
    return {Path(f.path) for a in analyses for f in (a.photo.image, a.mask, a.overlay)}


@pytest.mark.parametrize("who", ["self", "staff"])
def test_erasure_removes_rows_and_files_of_that_patient_only(
    who, patient_a, patient_b, staff, _media_root, django_capture_on_commit_callbacks
):
    mine, theirs = _diary(patient_a), _diary(patient_b)
    Token.objects.create(user=patient_a.user)
    assert _files(_media_root) == _paths(mine) | _paths(theirs)  # 3 files per analysed photo

    actor = patient_a.user if who == "self" else staff
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(actor).delete(reverse("api:patient-erasure", args=[patient_a.pk]))

    assert response.status_code == 204
    assert _files(_media_root) == _paths(theirs)
    assert not User.objects.filter(pk=patient_a.user_id).exists()
    assert not Token.objects.filter(user_id=patient_a.user_id).exists()
    for model, lookup in (
        (Patient, "pk"),
        (BodySite, "patient_id"),
        (TreatmentEntry, "patient_id"),
        (Photo, "patient_id"),
        (Analysis, "photo__patient_id"),
    ):
        assert not model.objects.filter(**{lookup: patient_a.pk}).exists(), model
    assert Photo.objects.filter(patient=patient_b).count() == 2
    event = AuditEvent.objects.get(action=AuditEvent.Action.ERASE)
    assert event.patient_ids == [patient_a.pk] and event.actor_id == actor.pk


def test_clinicians_may_not_erase_and_others_see_nothing(
    patient_a, patient_b, clinician, _media_root
):
    _diary(patient_a, photos=1)
    url = reverse("api:patient-erasure", args=[patient_a.pk])
    assert client_for(clinician).delete(url).status_code == 403
    assert client_for(patient_b.user).delete(url).status_code == 404
    assert Photo.objects.filter(patient=patient_a).count() == 1
    assert len(_files(_media_root)) == 3


def test_erasure_rolled_back_keeps_every_file(patient_a, _media_root, monkeypatch):
    _diary(patient_a, photos=1)

    def fail(*args, **kwargs):
        raise RuntimeError("the delete failed")

    monkeypatch.setattr(User, "delete", fail)
    from diary.services.erasure import patient_erase

    with pytest.raises(RuntimeError):
        patient_erase(patient=patient_a)
    assert len(_files(_media_root)) == 3 and Photo.objects.count() == 1


def test_export_zips_all_of_a_patients_data(patient_a, patient_b, clinician):
    mine = _diary(patient_a)
    _diary(patient_b)
    response = client_for(clinician).get(reverse("api:patient-export", args=[patient_a.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Cache-Control"] == "private, no-store"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = set(archive.namelist())
    expected_files = {"patient.json", "series.csv", "fhir.json"}
    for analysis in mine:
        photo = analysis.photo
        stem = f"{photo.pk}-{analysis.pk}"
        expected_files |= {f"photos/{photo.pk}.png", f"masks/{stem}.png", f"overlays/{stem}.png"}
        assert archive.read(f"photos/{photo.pk}.png") == Path(photo.image.path).read_bytes()
        assert archive.read(f"masks/{stem}.png") == Path(analysis.mask.path).read_bytes()
    assert names == expected_files

    body = json.loads(archive.read("patient.json"))
    assert body["patient"]["id"] == patient_a.pk
    assert {p["id"] for p in body["photos"]} == {a.photo_id for a in mine}
    assert len(body["treatments"]) == 1 and len(body["body_sites"]) == 1
    assert json.loads(archive.read("fhir.json"))["resourceType"] == "Bundle"
    assert archive.read("series.csv").decode().count("\n") >= 1
    assert AuditEvent.objects.get(action=AuditEvent.Action.EXPORT).patient_ids == [patient_a.pk]


def test_export_of_another_patient_is_404(patient_a, patient_b):
    url = reverse("api:patient-export", args=[patient_b.pk])
    response = client_for(patient_a.user).get(url)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
