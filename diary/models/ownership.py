"""Rows of one patient's diary that also point at other objects of that patient.

A photo names its patient and one of the patient's body sites; a treatment may name a body site.
The two must agree, and the patient never changes once the row exists: otherwise a photo could
leave its patient's series while still counting as theirs. The database holds the same rule
(migration ``0005_patient_consistency``: a composite foreign key on PostgreSQL, triggers on
SQLite); ``clean()`` states it first so that forms (the admin) answer with a readable error.
The API's serializers check the same in their ``validate()``.
"""

from __future__ import annotations

from typing import ClassVar

from django.core.exceptions import ValidationError
from django.db import models

PATIENT_IMMUTABLE = "The patient of a {what} cannot change once it was created."
OTHER_PATIENT = "This {what} belongs to another patient."


class PatientOwned(models.Model):
    """A row with a ``patient`` foreign key; ``patient_owned_fields`` name the foreign keys to
    objects that must belong to that same patient."""

    patient_owned_fields: ClassVar[tuple[str, ...]] = ()

    class Meta:
        abstract = True

    def clean(self) -> None:
        super().clean()
        errors = {**self._patient_change_errors(), **self._other_patient_errors()}
        if errors:
            raise ValidationError(errors)

    def _patient_change_errors(self) -> dict[str, ValidationError]:
        if self._state.adding or self.pk is None:
            return {}
        stored = (
            type(self)._base_manager.filter(pk=self.pk).values_list("patient_id", flat=True).first()
        )
        if stored is None or stored == self.patient_id:
            return {}
        what = self._meta.verbose_name
        return {"patient": ValidationError(PATIENT_IMMUTABLE.format(what=what), code="immutable")}

    def _other_patient_errors(self) -> dict[str, ValidationError]:
        errors = {}
        for name in self.patient_owned_fields:
            field = self._meta.get_field(name)
            target_id = getattr(self, field.attname)
            if target_id is None or self.patient_id is None:
                continue
            owner = (
                field.related_model._base_manager.filter(pk=target_id)
                .values_list("patient_id", flat=True)
                .first()
            )
            if owner is not None and owner != self.patient_id:
                what = field.related_model._meta.verbose_name
                errors[name] = ValidationError(
                    OTHER_PATIENT.format(what=what), code="other_patient"
                )
        return errors
