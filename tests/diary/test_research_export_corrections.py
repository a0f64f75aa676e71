"""``manage.py export_annotations``: the corrections of consenting patients, and only theirs, as a
training-data folder that segmentation.core reads (docs/corrections.md)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from diary.models import AuditEvent, ResearchConsentChange
from diary.services.analysis import photos_analyse
from diary.services.consent import research_consent_set
from diary.services.research_export import EXPORT_FOLDS, patient_group
from segmentation.core.data import list_pairs, make_folds, read_metadata
from tests.conftest import client_for
from tests.diary.test_corrections_api import box_mask, mask_png, post_correction
from tests.factories import BodySiteFactory, PatientFactory, PhotoFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _export_key(settings):
    settings.RESEARCH_EXPORT_KEY = "k" * 40


def _photo(patient, *, region: str = "hands"):
    photo = PhotoFactory(body_site=BodySiteFactory(patient=patient, region=region))
    photos_analyse(photo_ids=[photo.pk])
    return photo


def _correct(staff, photo, mask: np.ndarray) -> int:
    response = post_correction(client_for(staff), photo, mask_png(mask))
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _consent(patient) -> None:
    research_consent_set(patient=patient, given=True, actor=patient.user, via="api")


@pytest.fixture
def clinic(staff):
    """Two consenting patients (a: a photo corrected twice, one not corrected; c: one corrected
    photo of the face) and one who never consented (b: a corrected photo)."""
    a, b, c = PatientFactory(), PatientFactory(), PatientFactory()
    _consent(a), _consent(c)
    twice, uncorrected = _photo(a), _photo(a)
    _correct(staff, twice, box_mask(2, 2, 10, 10))
    newest = _correct(staff, twice, box_mask(10, 12, 30, 40))
    face = _photo(c, region="face")
    face_correction = _correct(staff, face, box_mask(5, 5, 20, 20))
    refused = _photo(b)
    _correct(staff, refused, box_mask(0, 0, 40, 40))
    return {
        "a": a, "b": b, "c": c, "twice": twice, "uncorrected": uncorrected, "face": face,
        "refused": refused, "newest": newest, "face_correction": face_correction,
    }  # fmt: skip


def _export(out: Path, *args: str) -> str:
    stdout = io.StringIO()
    call_command("export_annotations", str(out), "--no-progress", *args, stdout=stdout)
    return stdout.getvalue()


def _rows(out: Path) -> dict[str, dict[str, str]]:
    return read_metadata(out)


def test_export_of_corrections_leaves_out_non_consenting_patients(clinic, tmp_path, staff):
    out = tmp_path / "export"
    assert "exported 2 photos of 2 patients" in _export(out, "--by", staff.username)

    rows = _rows(out)
    by_correction = {int(row["correction_id"]): row for row in rows.values()}
    # Only the consenting patients' corrected photos: not b's, not a's uncorrected photo.
    assert set(by_correction) == {clinic["newest"], clinic["face_correction"]}
    pairs = {name: (image, mask) for name, image, mask in list_pairs(out)}
    assert set(pairs) == set(rows)

    twice = by_correction[clinic["newest"]]
    image_path, mask_path = pairs[twice["name"]]
    # The stored photo's bytes, and the newest correction's mask as 0/255.
    with clinic["twice"].image.open("rb") as stored:
        assert image_path.read_bytes() == stored.read()
    mask = np.asarray(Image.open(mask_path))
    assert set(np.unique(mask)) == {0, 255}
    assert np.array_equal(mask == 255, box_mask(10, 12, 30, 40))
    assert float(twice["lesion_fraction"]) == pytest.approx(
        box_mask(10, 12, 30, 40).mean(), abs=1e-5
    )
    assert (int(twice["width"]), int(twice["height"])) == (mask.shape[1], mask.shape[0])
    assert twice["body_region"] == "hands"
    assert by_correction[clinic["face_correction"]]["body_region"] == "face"
    assert twice["corrected_model_version"] == clinic["twice"].analyses.get().model_version

    # One pseudonymous group per patient (keyed: another key, other groups), a shared fold.
    groups = {row["source_group"] for row in rows.values()}
    assert groups == {patient_group(clinic[k].pk, key="k" * 40) for k in "ac"}
    assert patient_group(clinic["a"].pk, key="other" * 8) not in groups
    for row in rows.values():
        assert re.fullmatch(r"p[0-9a-f]{16}", row["source_group"])
        assert row["suggested_fold"] in EXPORT_FOLDS
        assert row["name"].startswith(row["source_group"])

    # The audit log says who exported whose data.
    event = AuditEvent.objects.get(action="export")
    assert event.patient_ids == sorted([clinic["a"].pk, clinic["c"].pk])
    assert event.actor_username == staff.username

    # The same groups and folds in a later export (the key is kept).
    again = tmp_path / "again"
    _export(again)
    assert _rows(again) == rows


def test_exported_corrections_load_with_group_aware_folds(clinic, tmp_path, staff):
    for _ in range(5):
        patient = PatientFactory()
        _consent(patient)
        for _ in range(2):
            _correct(staff, _photo(patient), box_mask(1, 1, 9, 9))
    out = tmp_path / "export"
    _export(out)
    folds = make_folds(out)
    metadata = read_metadata(out)
    for fold in folds:
        train_groups = {metadata[n]["source_group"] for n in fold.train}
        val_groups = {metadata[n]["source_group"] for n in fold.val}
        assert not train_groups & val_groups
    assert {fold.name for fold in folds} <= set(EXPORT_FOLDS)


def test_export_of_corrections_refuses_a_non_empty_folder_unless_forced(clinic, tmp_path):
    out = tmp_path / "export"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(CommandError, match="not empty"):
        _export(out)
    assert not (out / "images").exists()

    _export(out, "--force")
    assert len(_rows(out)) == 2
    # A patient who withdraws is gone from the next export, files included.
    research_consent_set(patient=clinic["c"], given=False, actor=clinic["c"].user, via="api")
    _export(out, "--force")
    rows = _rows(out)
    assert [int(row["correction_id"]) for row in rows.values()] == [clinic["newest"]]
    assert len(list((out / "images").iterdir())) == len(list((out / "masks").iterdir())) == 1
    assert (out / "notes.txt").read_text() == "mine"
    assert ResearchConsentChange.objects.filter(patient_id=clinic["c"].pk).count() == 2


def test_export_of_corrections_since_a_day(clinic, tmp_path):
    assert "exported 2 photos" in _export(tmp_path / "today", "--since", "2000-01-01")
    assert "nothing exported" in _export(tmp_path / "future", "--since", "2999-01-01")
    assert _rows(tmp_path / "future") == {}


def test_export_of_corrections_needs_a_kept_key(clinic, tmp_path, settings):
    settings.RESEARCH_EXPORT_KEY = ""
    with pytest.raises(CommandError, match="RESEARCH_EXPORT_KEY"):
        _export(tmp_path / "export")
    assert not (tmp_path / "export").exists()
    assert not AuditEvent.objects.filter(action="export").exists()
