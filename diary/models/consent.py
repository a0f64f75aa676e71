"""Research consent: whether a patient's corrected photos may leave the clinic to train models."""

from __future__ import annotations

from django.db import models

from .audit import AppendOnly


class ResearchConsentChange(AppendOnly):
    """One change of a patient's research consent: given or withdrawn, by whom, when, where.

    A table of its own rather than AuditEvent rows: an audit event is one request listing the
    patients it touched, with no place for the new value, while this history must answer "was
    consent in force for patient P on date D" from its own rows. The request that made the change
    still writes its AuditEvent (an update of that patient).

    Like the audit log it keeps ids without foreign keys and is append-only: erasing a patient or
    an account must not erase the proof that consent was given for what was already exported.
    """

    class Via(models.TextChoices):
        API = "api", "The patient's app (API)"
        ADMIN = "admin", "The admin"

    patient_id = models.BigIntegerField(db_index=True)
    given = models.BooleanField(help_text="True: consent given; False: withdrawn.")
    changed_at = models.DateTimeField()
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_username = models.CharField(max_length=150, blank=True)
    actor_role = models.CharField(max_length=16, blank=True)
    via = models.CharField(max_length=8, choices=Via.choices)

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        verb = "gave" if self.given else "withdrew"
        who = self.actor_username or "anonymous"
        return f"{who} {verb} research consent of patient {self.patient_id} ({self.via})"
