"""The patients' app gives and withdraws research consent with the client generated from the
schema, unedited (docs/corrections.md, "Learning from corrections, with consent")."""

from __future__ import annotations

import importlib

import pytest

from tests.api_client.test_generated_client import (  # noqa: F401  (fixtures)
    PASSWORD,
    _api,
    generated_client,
)
from tests.factories import ClinicianFactory, PatientFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _login(pkg, models, url: str, username: str):
    token = _api(pkg, "auth.auth_token_create").sync(
        client=pkg.Client(base_url=url),
        body=models.LoginRequest(username=username, password=PASSWORD),
    )
    return pkg.AuthenticatedClient(base_url=url, token=token.token, prefix="Token")


def test_the_generated_client_gives_and_withdraws_research_consent(live_server, generated_client):  # noqa: F811
    pkg = generated_client
    models = importlib.import_module(f"{pkg.__name__}.models")
    patient = PatientFactory()
    clinician = ClinicianFactory()
    patient.clinicians.add(clinician)
    client = _login(pkg, models, live_server.url, patient.user.username)
    read = _api(pkg, "patients.patients_research_consent_retrieve")
    change = _api(pkg, "patients.patients_research_consent_update")

    state = read.sync(client=client, id=patient.id)
    assert isinstance(state, models.ResearchConsent), state
    assert state.research_consent is False and state.research_consent_at is None
    assert state.history == []

    given = change.sync(
        client=client, id=patient.id, body=models.ResearchConsentRequest(research_consent=True)
    )
    assert given.research_consent is True and given.research_consent_at is not None
    assert [(row.given, row.via.value) for row in given.history] == [(True, "api")]
    profile = _api(pkg, "patients.patients_retrieve").sync(client=client, id=patient.id)
    assert profile.research_consent is True

    withdrawn = change.sync(
        client=client, id=patient.id, body=models.ResearchConsentRequest(research_consent=False)
    )
    assert withdrawn.research_consent is False and withdrawn.research_consent_at is None
    assert [row.given for row in withdrawn.history] == [False, True]

    # A clinician reads it but records consent in the admin, not here.
    theirs = _login(pkg, models, live_server.url, clinician.username)
    assert read.sync(client=theirs, id=patient.id).research_consent is False
    refused = change.sync_detailed(
        client=theirs, id=patient.id, body=models.ResearchConsentRequest(research_consent=True)
    )
    assert refused.status_code == 403
