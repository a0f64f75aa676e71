"""Research consent in the patient's admin form: clinicians and staff record a signed consent
(or its withdrawal) there; the change is dated and recorded by the same service as the API's."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html_join

from ..models import Patient, ResearchConsentChange
from ..services.consent import research_consent_set


class ResearchConsentForm(forms.ModelForm):
    def clean(self):
        cleaned = super().clean()
        # The date is read-only here and set by the service on save. Give the instance the date
        # it will have, so that the model's "consent held iff dated" constraint, which the form
        # validates, judges the row as it will be stored.
        if not cleaned.get("research_consent"):
            self.instance.research_consent_at = None
        elif self.instance.research_consent_at is None:
            self.instance.research_consent_at = timezone.now()
        return cleaned


class ResearchConsentAdminMixin:
    """Mixed into PatientAdmin: the flag is a checkbox, its date and history are read-only."""

    form = ResearchConsentForm

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "research_consent_at", "research_consent_history"]

    def save_model(self, request, obj: Patient, form, change: bool) -> None:
        wanted = obj.research_consent
        # The form's other fields are saved as usual; the consent keeps its stored value in that
        # save and changes only through the service, which dates and records it.
        stored = Patient.objects.filter(pk=obj.pk).values("research_consent", "research_consent_at")
        state = stored.first() if change else None
        obj.research_consent = state["research_consent"] if state else False
        obj.research_consent_at = state["research_consent_at"] if state else None
        super().save_model(request, obj, form, change)
        research_consent_set(
            patient=obj, given=wanted, actor=request.user, via=ResearchConsentChange.Via.ADMIN
        )

    @admin.display(description="research consent history")
    def research_consent_history(self, patient: Patient) -> str:
        if patient.pk is None:
            return "-"
        changes = ResearchConsentChange.objects.filter(patient_id=patient.pk)
        if not changes:
            return "never changed (off by default)"
        return format_html_join(
            "\n",
            "<div>{} — {} by {} ({})</div>",
            (
                (
                    f"{change.changed_at:%Y-%m-%d %H:%M}",
                    "given" if change.given else "withdrawn",
                    change.actor_username or "unknown",
                    change.get_via_display(),
                )
                for change in changes
            ),
        )
