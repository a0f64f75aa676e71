"""The series as a FHIR R4 Bundle, for the API and the patient's zip export.

Reads through :func:`series_for_patient`, which starts from ``visible_to(user)``.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.urls import reverse
from django.utils import timezone

from segmentation.severity.catalog import measure as catalogue_measure

from ..models import BodySite, Patient, Photo
from ..selectors.series import SERIES_MEASURES, series_for_patient

__all__ = ["fhir_bundle"]

# Stable ids across exports of the same rows, so two exports can be compared or merged.
_NAMESPACE = uuid.UUID("6f1d4a8e-6c1b-4f9a-9a51-0d6c7f9b1e21")
_MEASURE_SYSTEM = "https://vitiligo-diary.example/fhir/CodeSystem/severity-measure"
_UCUM = "http://unitsofmeasure.org"
_MASK_SOURCE_SYSTEM = "https://vitiligo-diary.example/fhir/CodeSystem/mask-source"
_MASK_SOURCE_DISPLAY = {
    "model": "Lesion mask drawn by the segmentation model",
    "clinician": "Lesion mask corrected by a clinician",
}
_GENDER = {"female": "female", "male": "male", "other": "other", "unknown": "unknown"}


def _urn(kind: str, key) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{kind}/{key}')}"


def _entry(resource: dict, full_url: str) -> dict:
    return {"fullUrl": full_url, "resource": resource}


def fhir_bundle(
    *,
    patient: Patient,
    user,
    body_site: BodySite | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> dict:
    """A FHIR R4 ``collection`` Bundle: the Patient, a Device for the model version, a Media per
    analysed photo and one Observation per measure, derived from the Media, by the Device. The
    window arguments are :func:`series_for_patient`'s."""
    series = series_for_patient(
        patient=patient, user=user, body_site=body_site, date_from=date_from, date_to=date_to
    )
    patient_url = _urn("patient", patient.pk)
    patient_resource = {
        "resourceType": "Patient",
        "id": f"patient-{patient.pk}",
        "identifier": [
            {"system": "https://vitiligo-diary.example/patient-id", "value": str(patient.pk)}
        ],
        "gender": _GENDER.get(patient.sex, "unknown"),
    }
    if patient.birth_year:
        patient_resource["birthDate"] = str(patient.birth_year)  # a FHIR date may be a year
    entries = [_entry(patient_resource, patient_url)]

    device_url = _urn("device", series.model_version)
    entries.append(
        _entry(
            {
                "resourceType": "Device",
                "id": f"device-{uuid.uuid5(_NAMESPACE, series.model_version).hex[:16]}",
                "deviceName": [{"name": series.model_version, "type": "model-name"}],
                "version": [{"value": series.model_version}],
                "note": [
                    {"text": "Segmentation model (or colour baseline) that measured the photos."}
                ],
            },
            device_url,
        )
    )

    photo_ids = [p.photo_id for s in series.sites for p in s.points]
    # One query for the photos' file metadata, whatever their number.
    photos = {
        row["id"]: row
        for row in Photo.objects.visible_to(user)
        .filter(pk__in=photo_ids)
        .values("id", "image", "width", "height")
    }
    for site_series in series.sites:
        body_site = {"text": site_series.body_site.label}
        for point in site_series.points:
            photo = photos[point.photo_id]
            media_url = _urn("media", point.photo_id)
            taken = point.taken_at.isoformat()
            entries.append(_entry(_media(point, photo, taken, body_site, patient_url), media_url))
            for measure in SERIES_MEASURES:
                entries.append(
                    _entry(
                        _observation(
                            point, measure, taken, body_site, patient_url, media_url, device_url
                        ),
                        _urn("observation", f"{point.analysis_id}/{measure}"),
                    )
                )
            entries.append(
                _entry(
                    _grade(point, taken, body_site, patient_url, media_url, device_url),
                    _urn("observation", f"{point.analysis_id}/grade"),
                )
            )
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": timezone.now().isoformat(),
        "entry": entries,
    }


def _media(point, photo: dict, taken: str, body_site: dict, patient_url: str) -> dict:
    name = photo["image"] or ""
    content_type = "image/png" if name.lower().endswith(".png") else "image/jpeg"
    return {
        "resourceType": "Media",
        "id": f"photo-{point.photo_id}",
        "status": "completed",
        "type": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/media-type",
                    "code": "image",
                    "display": "Image",
                }
            ]
        },
        "subject": {"reference": patient_url},
        "createdDateTime": taken,
        "bodySite": body_site,
        "width": photo["width"],
        "height": photo["height"],
        "content": {
            "contentType": content_type,
            "url": reverse("api:photo-image", args=[point.photo_id]),
            "title": f"photo {point.photo_id}",
        },
    }


def _observation_base(point, code: dict, taken, body_site, patient_url, media_url, device_url):
    resource = {
        "resourceType": "Observation",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "imaging",
                        "display": "Imaging",
                    }
                ]
            }
        ],
        "code": code,
        "subject": {"reference": patient_url},
        "effectiveDateTime": taken,
        "bodySite": body_site,
        "derivedFrom": [{"reference": media_url}],
        "device": {"reference": device_url, "display": point.model_version},
        # Where the lesion mask came from: the model (the Device) or a clinician's correction.
        "method": {
            "coding": [
                {
                    "system": _MASK_SOURCE_SYSTEM,
                    "code": point.mask_source,
                    "display": _MASK_SOURCE_DISPLAY[point.mask_source],
                }
            ]
        },
    }
    if not point.quality_ok:
        resource["note"] = [
            {
                "text": "A quality check refused this photo; trends leave it out unless a "
                "clinician included it."
            }
        ]
    return resource


def _observation(point, measure, taken, body_site, patient_url, media_url, device_url) -> dict:
    entry = catalogue_measure(measure)
    display, unit, ucum = entry.label, entry.unit, entry.ucum
    code = {
        "coding": [{"system": _MEASURE_SYSTEM, "code": measure, "display": display}],
        "text": display,
    }
    resource = _observation_base(point, code, taken, body_site, patient_url, media_url, device_url)
    resource["id"] = f"obs-{point.analysis_id}-{measure.replace('_', '-')}"
    value = getattr(point, measure)
    if value is None:
        # e.g. an empty mask has no lesion colour: said explicitly rather than left out.
        resource["dataAbsentReason"] = {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                    "code": "not-applicable",
                }
            ]
        }
    else:
        resource["valueQuantity"] = {"value": value, "unit": unit, "system": _UCUM, "code": ucum}
    return resource


def _grade(point, taken, body_site, patient_url, media_url, device_url) -> dict:
    code = {
        "coding": [
            {
                "system": _MEASURE_SYSTEM,
                "code": "grade",
                "display": "Severity grade (low, medium, high)",
            }
        ]
    }
    resource = _observation_base(point, code, taken, body_site, patient_url, media_url, device_url)
    resource["id"] = f"obs-{point.analysis_id}-grade"
    if point.grade:
        resource["valueString"] = point.grade
    else:
        resource["dataAbsentReason"] = {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                    "code": "not-applicable",
                }
            ]
        }
    return resource
