"""Giving and withdrawing research consent (docs/corrections.md), each change recorded."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from ..models import Patient, ResearchConsentChange


@transaction.atomic
def research_consent_set(*, patient: Patient, given: bool, actor, via: str) -> bool:
    """Give (``given=True``) or withdraw the patient's research consent; True when it changed.

    Setting the value already in force changes nothing and records nothing, so a repeated PUT
    or an admin save of other fields keeps the date the consent was first given. Withdrawal
    clears the date; the history (ResearchConsentChange) keeps every change with who and when.
    """
    if via not in ResearchConsentChange.Via.values:
        channels = ResearchConsentChange.Via.values
        raise ValueError(f"Unknown channel {via!r}; choose one of {channels}")
    # Locked, so that two simultaneous changes are recorded in the order they took effect.
    current = (
        Patient.objects.select_for_update()
        .only("research_consent", "research_consent_at")
        .get(pk=patient.pk)
    )
    if current.research_consent == given:
        patient.research_consent = current.research_consent
        patient.research_consent_at = current.research_consent_at
        return False
    now = timezone.now()
    patient.research_consent = given
    patient.research_consent_at = now if given else None
    Patient.objects.filter(pk=patient.pk).update(
        research_consent=given, research_consent_at=patient.research_consent_at
    )
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    ResearchConsentChange.objects.create(
        patient_id=patient.pk,
        given=given,
        changed_at=now,
        actor_id=actor.pk if authenticated else None,
        actor_username=actor.get_username() if authenticated else "",
        actor_role=getattr(actor, "role", "") if authenticated else "",
        via=via,
    )
    return True
