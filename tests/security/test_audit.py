"""The audit log: who read or changed which patients' data, one row per request, append-only."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from diary.models import AuditEvent
from diary.models.audit import AuditLogIsAppendOnly
from tests.conftest import client_for
from tests.factories import AnalysisFactory, BodySiteFactory, PhotoFactory

pytestmark = pytest.mark.django_db


def _only_event() -> AuditEvent:
    events = list(AuditEvent.objects.all())
    assert len(events) == 1, events
    return events[0]


def test_a_list_read_is_one_event_naming_every_patient(clinician, patient_a, patient_b):
    patient_a.clinicians.add(clinician)
    patient_b.clinicians.add(clinician)
    for patient in (patient_a, patient_b):
        for _ in range(3):
            PhotoFactory(body_site=BodySiteFactory(patient=patient))

    with CaptureQueriesContext(connection) as queries:
        response = client_for(clinician).get(reverse("api:photo-list"))
    assert response.status_code == 200
    inserts = [q for q in queries if q["sql"].startswith('INSERT INTO "diary_auditevent"')]
    assert len(inserts) == 1  # not one per photo

    event = _only_event()
    assert event.actor_id == clinician.pk and event.actor_username == clinician.username
    assert event.actor_role == "clinician"
    assert event.action == AuditEvent.Action.READ
    assert event.patient_ids == sorted([patient_a.pk, patient_b.pk])
    assert event.view_name == "api:photo-list" and event.status_code == 200


def test_file_download_is_audited(patient_a, clinician):
    photo = AnalysisFactory(photo=PhotoFactory(body_site=BodySiteFactory(patient=patient_a))).photo
    response = client_for(clinician).get(reverse("api:photo-mask", args=[photo.pk]))
    assert response.status_code == 200
    event = _only_event()
    assert (event.action, event.patient_ids) == ("read", [patient_a.pk])
    assert event.view_name == "api:photo-mask"


def test_a_change_is_audited_as_such(patient_a):
    site = BodySiteFactory(patient=patient_a)
    response = client_for(patient_a.user).patch(
        reverse("api:body-site-detail", args=[site.pk]), {"label": "left knee"}, format="json"
    )
    assert response.status_code == 200
    event = _only_event()
    assert (event.action, event.patient_ids, event.method) == ("update", [patient_a.pk], "PATCH")


def test_reads_through_the_progression_routes_are_audited(patient_a, clinician):
    # The series are computed from .values() rows; the patient comes from the URL.
    response = client_for(clinician).get(reverse("api:patient-series-csv", args=[patient_a.pk]))
    assert response.status_code == 200
    assert _only_event().patient_ids == [patient_a.pk]


def test_a_refused_probe_names_no_patient(patient_a, patient_b):
    photo = PhotoFactory(body_site=BodySiteFactory(patient=patient_b))
    response = client_for(patient_a.user).get(reverse("api:photo-image", args=[photo.pk]))
    assert response.status_code == 404
    assert all(patient_b.pk not in event.patient_ids for event in AuditEvent.objects.all())


def test_admin_reads_are_audited(client, clinician, patient_a):
    PhotoFactory(body_site=BodySiteFactory(patient=patient_a))
    client.force_login(clinician)
    assert client.get(reverse("admin:diary_photo_changelist")).status_code == 200
    event = _only_event()
    assert event.patient_ids == [patient_a.pk] and event.path.startswith("/admin/")


def test_events_cannot_be_changed_or_deleted():
    event = AuditEvent.objects.create(action="read", patient_ids=[1])
    event.patient_ids = [2]
    with pytest.raises(AuditLogIsAppendOnly):
        event.save()
    with pytest.raises(AuditLogIsAppendOnly):
        event.delete()
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEvent.objects.filter(pk=event.pk).update(patient_ids=[3])
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get().patient_ids == [1]


def test_postgresql_itself_refuses_rewriting_events():
    if connection.vendor != "postgresql":
        pytest.skip("the trigger exists on PostgreSQL only")
    AuditEvent.objects.create(action="read", patient_ids=[1])
    for sql in ("UPDATE diary_auditevent SET patient_ids = '[]'", "DELETE FROM diary_auditevent"):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
    assert AuditEvent.objects.get().patient_ids == [1]


def test_admin_shows_the_log_read_only_to_staff_only(client, staff, clinician):
    event = AuditEvent.objects.create(action="read", patient_ids=[1], actor_username="someone")
    client.force_login(staff)
    listing = client.get(reverse("admin:diary_auditevent_changelist"))
    assert listing.status_code == 200 and b"someone" in listing.content
    assert client.get(reverse("admin:diary_auditevent_add")).status_code == 403
    change_url = reverse("admin:diary_auditevent_change", args=[event.pk])
    assert client.post(change_url, {"action": "erase"}).status_code == 403
    delete_url = reverse("admin:diary_auditevent_delete", args=[event.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    client.force_login(clinician)
    assert client.get(reverse("admin:diary_auditevent_changelist")).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk, action="read").exists()
