"""PostgreSQL dropping the connection in the middle of an upload: a 503 JSON error, no row, no file.

On PostgreSQL the outage is real: at the photo's INSERT a second connection terminates this
test's own backend (``pg_terminate_backend``), so the driver itself raises. SQLite cannot lose a
connection, so there the same point raises Django's ``OperationalError`` instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError, connection
from django.urls import reverse

from diary.models import AuditEvent, Photo
from tests.conftest import client_for
from tests.factories import BodySiteFactory, PatientFactory
from tests.images import photo_bytes


def _kill_own_backend() -> None:
    import psycopg

    pid = connection.connection.info.backend_pid
    params = connection.settings_dict
    with psycopg.connect(
        dbname=params["NAME"],
        user=params["USER"],
        password=params["PASSWORD"] or None,
        host=params["HOST"] or None,
        port=params["PORT"] or None,
        autocommit=True,
    ) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])


def _outage_at_photo_insert(execute, sql, params, many, context):
    if sql.startswith('INSERT INTO "diary_photo"'):
        if connection.vendor == "postgresql":
            _kill_own_backend()
        else:
            raise OperationalError("database is unavailable (simulated on SQLite)")
    return execute(sql, params, many, context)


@pytest.mark.django_db(transaction=True)
def test_database_lost_during_upload_is_503_and_leaves_nothing(_media_root):
    patient = PatientFactory()
    site = BodySiteFactory(patient=patient)
    client = client_for(patient.user)
    upload = SimpleUploadedFile("p.png", photo_bytes())

    with connection.execute_wrapper(_outage_at_photo_insert):
        response = client.post(
            reverse("api:photo-list"), {"image": upload, "body_site": site.pk}, format="multipart"
        )

    assert response.status_code == 503
    assert response.json()["code"] == "service_unavailable"
    assert response["Retry-After"]
    # Django reconnects on the next query once the broken connection was dropped.
    connection.close()
    assert not Photo.objects.exists()
    assert [p for p in Path(_media_root).rglob("*") if p.is_file()] == []
    # The failed attempt is audited like any other request that touched the patient.
    assert AuditEvent.objects.filter(status_code=503, patient_ids=[patient.pk]).exists()

    # Once the database is back the same upload succeeds.
    upload.seek(0)
    retry = client.post(
        reverse("api:photo-list"), {"image": upload, "body_site": site.pk}, format="multipart"
    )
    assert retry.status_code == 201
    assert Photo.objects.count() == 1
