"""The one place that decides which patients' rows a user may see.

Every queryset of patient data is narrowed with ``.visible_to(user)`` (NetBox's ``restrict``
pattern), in the API, the admin and the exports alike, so no endpoint can forget it.

The rule is stated as lookups relative to the patient: each queryset only says how to reach the
patient from its rows (``patient_prefix``), so this module never imports the models it restricts
and ``patients.py`` can import it without a cycle.
"""

from __future__ import annotations

from django.db import models


def visible_patients_q(user, *, prefix: str = "") -> models.Q | None:
    """The filter of the rows ``user`` may see, reaching the patient through ``prefix``.

    ``prefix`` is the lookup path from the rows to their patient ("" for patients themselves,
    "patient__" for their body sites, ...). ``None`` means every row.
    """
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return models.Q(pk__in=[])
    if user.sees_all_patients:
        return None
    if user.is_clinician:
        # One row of the clinicians table per (patient, clinician): the join cannot duplicate.
        return models.Q(**{f"{prefix}clinicians": user})
    return models.Q(**{f"{prefix}user": user})


class PatientScopedQuerySet(models.QuerySet):
    """A queryset of rows that belong to one patient, reached through ``patient_prefix``."""

    patient_prefix = "patient__"

    def visible_to(self, user) -> PatientScopedQuerySet:
        condition = visible_patients_q(user, prefix=self.patient_prefix)
        return self.all() if condition is None else self.filter(condition)


class PatientQuerySet(PatientScopedQuerySet):
    patient_prefix = ""


class AnalysisQuerySet(PatientScopedQuerySet):
    patient_prefix = "photo__patient__"
