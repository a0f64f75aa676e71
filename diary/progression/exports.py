"""The series as CSV (and, from fhir.py, as a FHIR R4 Bundle) for the API and the patient's zip
export.

Both read through :func:`series_for_patient`, which starts from ``visible_to(user)``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

from ..models import BodySite, Patient
from ..selectors.series import SERIES_MEASURES, series_for_patient
from .fhir import fhir_bundle

__all__ = ["CSV_COLUMNS", "fhir_bundle", "series_csv"]

CSV_COLUMNS = (
    "body_site_id",
    "body_site_label",
    "body_site_region",
    "photo_id",
    "analysis_id",
    "taken_at",
    *SERIES_MEASURES,
    "grade",
    "model_version",
    # Who drew the mask the measures come from (``model`` or ``clinician``, docs/corrections.md)
    # and whether the photo passed its quality checks (docs/quality.md).
    "mask_source",
    "quality_ok",
)
# Spreadsheet formula injection: a cell starting with one of these is run by Excel and others.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def series_csv(
    *,
    patient: Patient,
    user,
    body_site: BodySite | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> str:
    """One row per analysed photo of the series (the active model's analyses), oldest first;
    the window arguments are :func:`series_for_patient`'s."""
    series = series_for_patient(
        patient=patient, user=user, body_site=body_site, date_from=date_from, date_to=date_to
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for site_series in series.sites:
        site = site_series.body_site
        for p in site_series.points:
            row = [
                site.pk,
                site.label,
                site.region,
                p.photo_id,
                p.analysis_id,
                p.taken_at.isoformat(),
                *(getattr(p, m) for m in SERIES_MEASURES),
                p.grade,
                p.model_version,
                p.mask_source,
                p.quality_ok,
            ]
            writer.writerow([_cell(value) for value in row])
    return buffer.getvalue()
