"""The one place that decides which patients' rows a user may see.

Every queryset of patient data is narrowed with ``.visible_to(user)`` (NetBox's ``restrict``
pattern), in the API, the admin and the exports alike, so no endpoint can forget it.
"""

from __future__ import annotations

from django.db import models


def visible_patient_ids(user) -> models.QuerySet | None:
    """Patient ids ``user`` may see, as a subquery; ``None`` means all of them."""
    from .patients import Patient

    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Patient.objects.none().values("id")
    if user.sees_all_patients:
        return None
    if user.is_clinician:
        return Patient.objects.filter(clinicians=user).values("id")
    return Patient.objects.filter(user=user).values("id")


class PatientScopedQuerySet(models.QuerySet):
    """A queryset of rows that belong to one patient through ``patient_lookup``."""

    patient_lookup = "patient_id"

    def visible_to(self, user) -> PatientScopedQuerySet:
        ids = visible_patient_ids(user)
        if ids is None:
            return self.all()
        return self.filter(**{f"{self.patient_lookup}__in": ids})


class PatientQuerySet(PatientScopedQuerySet):
    patient_lookup = "id"


class AnalysisQuerySet(PatientScopedQuerySet):
    patient_lookup = "photo__patient_id"
