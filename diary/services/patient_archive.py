"""Export of all of a patient's data as one zip (right of access and data portability)."""

from __future__ import annotations

import json
import tempfile
import zipfile
from typing import IO

from django.core.serializers.json import DjangoJSONEncoder

from segmentation.severity.catalog import COLUMNS

from ..models import (
    Analysis,
    BodySite,
    Correction,
    Patient,
    Photo,
    ResearchConsentChange,
    TreatmentEntry,
)
from ..progression.exports import fhir_bundle, series_csv

# Above this the zip is spooled to a temporary file instead of memory.
_SPOOL_BYTES = 16 * 1024 * 1024


def patient_export(*, patient: Patient, user) -> IO[bytes]:
    """A zip of ``patient``'s diary, readable from its start; ``user`` has been checked by the
    caller against ``visible_to`` and is passed on to the progression exports.

    Layout: ``patient.json`` (profile, body sites, treatments, photos with their analyses'
    measures), ``photos/<photo id>.<ext>`` (as stored: upright, metadata stripped),
    ``masks/<photo id>-<analysis id>.png``, ``overlays/<photo id>-<analysis id>.png``,
    clinicians' corrections as ``corrections/<photo id>-<correction id>.png`` (and their rows in
    patient.json), ``series.csv`` and ``fhir.json`` (a FHIR R4 Bundle).
    """
    photos = list(Photo.objects.filter(patient=patient).select_related("body_site").order_by("id"))
    analyses = list(
        Analysis.objects.filter(photo__patient=patient).order_by("photo_id", "created_at", "id")
    )
    corrections = list(
        Correction.objects.filter(photo__patient=patient)
        .select_related("corrected_by")
        .order_by("photo_id", "created_at", "id")
    )
    # Handed to the caller open (the response streams and closes it), hence no ``with``.
    archive = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("patient.json", _patient_json(patient, photos, analyses, corrections))
        zf.writestr("series.csv", series_csv(patient=patient, user=user))
        zf.writestr(
            "fhir.json",
            json.dumps(fhir_bundle(patient=patient, user=user), cls=DjangoJSONEncoder, indent=2),
        )
        for photo in photos:
            _write_file(zf, photo.image, f"photos/{photo.pk}{_suffix(photo.image.name)}")
        for analysis in analyses:
            stem = f"{analysis.photo_id}-{analysis.pk}"
            _write_file(zf, analysis.mask, f"masks/{stem}.png")
            _write_file(zf, analysis.overlay, f"overlays/{stem}.png")
        for correction in corrections:
            _write_file(
                zf, correction.mask, f"corrections/{correction.photo_id}-{correction.pk}.png"
            )
    archive.seek(0)
    return archive


def _write_file(zf: zipfile.ZipFile, field_file, arcname: str) -> None:
    if not field_file:
        return
    # Images are compressed already: stored, not deflated again.
    with (
        field_file.open("rb") as source,
        zf.open(zipfile.ZipInfo(arcname), "w", force_zip64=True) as target,
    ):
        while chunk := source.read(1024 * 1024):
            target.write(chunk)


def _suffix(name: str) -> str:
    return name[name.rfind(".") :] if "." in name else ""


def _patient_json(
    patient: Patient, photos: list[Photo], analyses: list[Analysis], corrections: list[Correction]
) -> str:
    corrected: dict[int, list[dict]] = {}
    for correction in corrections:
        corrected.setdefault(correction.photo_id, []).append(
            {
                "id": correction.pk,
                "corrects_analysis_id": correction.analysis_id,
                "model_version": correction.model_version,
                "corrected_by": correction.corrected_by.username
                if correction.corrected_by
                else None,
                "created_at": correction.created_at,
                **{column: getattr(correction, column) for column in COLUMNS},
                "grade": correction.grade,
                "measures": correction.measures,
                "file": f"corrections/{correction.photo_id}-{correction.pk}.png",
            }
        )
    by_photo: dict[int, list[dict]] = {}
    for analysis in analyses:
        by_photo.setdefault(analysis.photo_id, []).append(
            {
                "id": analysis.pk,
                "model_version": analysis.model_version,
                "created_at": analysis.created_at,
                **{column: getattr(analysis, column) for column in COLUMNS},
                "grade": analysis.grade,
                "measures": analysis.measures,
            }
        )
    user = patient.user
    body = {
        "patient": {
            "id": patient.pk,
            "username": user.username,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email": user.email,
            "birth_year": patient.birth_year,
            "sex": patient.sex,
            "fitzpatrick_skin_type": patient.fitzpatrick_skin_type,
            "created_at": patient.created_at,
            "research_consent": patient.research_consent,
            "research_consent_at": patient.research_consent_at,
        },
        "research_consent_history": list(
            ResearchConsentChange.objects.filter(patient_id=patient.pk).values(
                "given", "changed_at", "actor_username", "actor_role", "via"
            )
        ),
        "body_sites": list(
            BodySite.objects.filter(patient=patient).values("id", "region", "label", "created_at")
        ),
        "treatments": list(
            TreatmentEntry.objects.filter(patient=patient).values(
                "id", "date", "kind", "body_site_id", "dose", "notes", "created_at"
            )
        ),
        "photos": [
            {
                "id": photo.pk,
                "body_site_id": photo.body_site_id,
                "taken_at": photo.taken_at,
                "taken_at_source": photo.taken_at_source,
                "uploaded_at": photo.uploaded_at,
                "sha256": photo.sha256,
                "width": photo.width,
                "height": photo.height,
                "status": photo.status,
                "file": f"photos/{photo.pk}{_suffix(photo.image.name)}" if photo.image else None,
                "analyses": by_photo.get(photo.pk, []),
                "corrections": corrected.get(photo.pk, []),
            }
            for photo in photos
        ],
    }
    return json.dumps(body, cls=DjangoJSONEncoder, indent=2)
