"""The corrected photos of consenting patients as a training-data folder (docs/corrections.md).

The layout is the shared data's (``../shared/data/README.md``): ``images/NAME.EXT`` (the stored
photo: upright, its metadata stripped at upload), ``masks/NAME.png`` (0 skin, 255 lesion, the
correction in force) and ``metadata.csv``, so ``segmentation.core.list_pairs`` and ``make_folds``
read it and ``train_model --data`` trains on it.

A patient is one ``source_group``: a keyed hash (HMAC-SHA256 with RESEARCH_EXPORT_KEY) of the
patient id, the same in every export made with the same key, which says nothing about who the
patient is without the key. ``suggested_fold`` follows from the group, so a patient's photos are
always in one fold, and takes the shared vitiligo data's fold numbers (0, 1, 3, 4): fold k of a
``train_model --data shared --data export`` run then validates on both sources.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import io
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings
from PIL import Image
from tqdm import tqdm

from ..audit import audit_record
from ..models import AuditEvent, Photo
from ..selectors.research import research_photos
from .errors import ServiceError

#: The shared vitiligo data's fold values (``../shared/data/vitiligo/metadata.csv``).
EXPORT_FOLDS = ("0", "1", "3", "4")
METADATA_COLUMNS = (
    "name",
    "source_group",
    "suggested_fold",
    "width",
    "height",
    "lesion_fraction",
    "body_region",
    "corrected_model_version",
    "correction_id",
)
_WRITTEN = ("images", "masks", "metadata.csv")


@dataclass(frozen=True)
class ResearchExport:
    photos: int
    patient_ids: tuple[int, ...]


def patient_group(patient_id: int, *, key: str) -> str:
    """The patient's pseudonymous ``source_group``: stable for one key, meaningless without it."""
    digest = hmac.new(key.encode(), f"patient:{patient_id}".encode(), hashlib.sha256)
    return "p" + digest.hexdigest()[:16]


def group_fold(group: str) -> str:
    """The fold of every photo of a group, from the group alone."""
    return EXPORT_FOLDS[int(hashlib.sha256(group.encode()).hexdigest(), 16) % len(EXPORT_FOLDS)]


def _export_key() -> str:
    key = getattr(settings, "RESEARCH_EXPORT_KEY", "")
    if len(key) < 32:
        raise ServiceError(
            "Set RESEARCH_EXPORT_KEY to a random secret of 32 characters or more, and keep it: "
            "it makes the patients' groups pseudonymous and the same in every export.",
            code="no_export_key",
        )
    return key


def _prepare(out: Path, *, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise ServiceError(f"{out} is a file, not a folder.", code="not_a_folder")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise ServiceError(f"{out} is not empty: pass --force to replace it.", code="not_empty")
        # Replaced, not added to: a patient who withdrew since the last export must be gone.
        for name in _WRITTEN:
            target = out / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    (out / "images").mkdir(parents=True)
    (out / "masks").mkdir()


def _mask(photo: Photo, correction) -> np.ndarray:
    with correction.mask.open("rb") as handle, Image.open(io.BytesIO(handle.read())) as image:
        mask = np.asarray(image.convert("L")) >= 128
    if mask.shape != (photo.height, photo.width):
        raise ServiceError(
            f"The mask of correction {correction.pk} is not the size of photo {photo.pk}.",
            code="mask_size_mismatch",
        )
    return mask


def research_export(
    *,
    out: Path,
    since: dt.datetime | None = None,
    force: bool = False,
    actor=None,
    progress: bool = True,
) -> ResearchExport:
    """Write every corrected photo of a consenting patient to ``out``; audited as an export by
    ``actor`` (the account running it, when named)."""
    key = _export_key()
    _prepare(out, force=force)
    photos = list(research_photos(since=since))
    rows, patient_ids = [], set()
    for photo in tqdm(photos, desc="export_annotations", unit="photo", disable=not progress):
        correction = photo.latest_correction
        group = patient_group(photo.patient_id, key=key)
        name = f"{group}_photo{photo.pk}"
        suffix = Path(photo.image.name).suffix.lower() or ".jpg"
        with photo.image.open("rb") as source, (out / "images" / f"{name}{suffix}").open("wb") as f:
            shutil.copyfileobj(source, f)
        mask = _mask(photo, correction)
        Image.fromarray(mask.astype(np.uint8) * 255).save(out / "masks" / f"{name}.png")
        rows.append(
            {
                "name": name,
                "source_group": group,
                "suggested_fold": group_fold(group),
                "width": photo.width,
                "height": photo.height,
                "lesion_fraction": f"{mask.mean():.5f}",
                "body_region": photo.body_site.region,
                "corrected_model_version": correction.model_version,
                "correction_id": correction.pk,
            }
        )
        patient_ids.add(photo.patient_id)
    with (out / "metadata.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=METADATA_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    if patient_ids:
        audit_record(
            actor=actor,
            action=AuditEvent.Action.EXPORT,
            patient_ids=patient_ids,
            view_name="manage.py export_annotations",
            path=str(out),
        )
    return ResearchExport(photos=len(rows), patient_ids=tuple(sorted(patient_ids)))
