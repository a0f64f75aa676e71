"""The pipeline with its real parts: PostgreSQL, Redis and a live ``celery worker`` subprocess."""

from __future__ import annotations

import os
import signal
import threading

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from diary.models import Analysis, Photo
from tests.conftest import client_for
from tests.factories import BodySiteFactory, PatientFactory, PhotoFactory
from tests.images import photo_bytes
from tests.pipeline.conftest import broker, broker_backlog, redis_url, wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow]

#: Nothing listens there: an upload meets a broker that is down.
DEAD_BROKER = "redis://127.0.0.1:6390/0"


def _upload(client, site, content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = {"image": SimpleUploadedFile("photo.png", content), "body_site": site.pk}
    return client.post(reverse("api:photo-list"), data, format="multipart")


def _status(photo_id: int) -> str:
    return Photo.objects.values_list("status", flat=True).get(pk=photo_id)


def test_upload_through_the_api_is_analysed(start_worker):
    worker = start_worker()
    patient = PatientFactory()
    site = BodySiteFactory(patient=patient)
    client = client_for(patient.user)

    response = _upload(client, site, photo_bytes((160, 120)))
    assert response.status_code == 201, response.content
    photo_id = response.json()["id"]

    wait_for(lambda: _status(photo_id) == "done", timeout=60, what="the analysis", worker=worker)
    body = client.get(response.json()["status_url"]).json()
    assert body["status"] == "done"
    assert body["latest_analysis"]["model_version"] == "baseline:colour-threshold-v1"
    assert 0.08 < body["latest_analysis"]["lesion_skin_fraction"] < 0.2
    assert client.get(body["latest_analysis"]["overlay_url"]).status_code == 200
    assert Analysis.objects.filter(photo_id=photo_id).count() == 1


def test_a_worker_killed_mid_task_is_redelivered_and_completes_once(start_worker):
    # Prefork with one child, and predictions made slow, so the child can be killed mid-task.
    worker = start_worker(pool="prefork", batch_size=1, delay=4.0)
    photo = PhotoFactory()
    from diary.tasks import analyse_photo

    analyse_photo.delay(photo.pk)
    wait_for(
        lambda: _status(photo.pk) == "processing", timeout=60, what="processing", worker=worker
    )
    (child,) = worker.children()
    os.kill(child, signal.SIGKILL)

    wait_for(lambda: _status(photo.pk) == "done", timeout=90, what="redelivery", worker=worker)
    assert "requeueing 1 messages" in worker.output()
    assert Analysis.objects.filter(photo=photo).count() == 1
    wait_for(lambda: broker_backlog() == {"gpu": 0, "gpu_low": 0, "unacked": 0}, timeout=10,
             what="the message acknowledged", worker=worker)  # fmt: skip


def test_a_photo_that_kills_its_worker_ends_failed_and_the_worker_moves_on(start_worker):
    """A photo whose analysis kills the worker's child (as the OOM killer would) is tried
    PIPELINE_MAX_ANALYSIS_ATTEMPTS (3) times, then fails with a reason the patient can read; the
    photos uploaded with it are analysed, each once."""
    from diary.services.claims import POISON_PHOTO_REASON

    patient = PatientFactory()
    site = BodySiteFactory(patient=patient)
    client = client_for(patient.user)
    # Uploaded before the worker starts, so that the first batch holds all three.
    responses = [
        _upload(client, site, photo_bytes((150, 101))),  # the size the worker dies on
        _upload(client, site, photo_bytes((160, 120), colour_shift=1)),
        _upload(client, site, photo_bytes((160, 120), colour_shift=2)),
    ]
    assert [r.status_code for r in responses] == [201] * 3
    poison, *good = (r.json()["id"] for r in responses)

    worker = start_worker(pool="prefork", batch_size=4, crash_on_size="150x101")

    wait_for(lambda: _status(poison) == "failed", timeout=120, what="the poison photo to fail",
             worker=worker)  # fmt: skip
    wait_for(lambda: all(_status(pk) == "done" for pk in good), timeout=60,
             what="the other photos", worker=worker)  # fmt: skip
    failed = Photo.objects.get(pk=poison)
    assert failed.error_message == "This photo could not be analysed; please take another."
    assert failed.error_message == POISON_PHOTO_REASON
    assert failed.analysis_attempts == 3
    assert worker.output().count("Analysis batch lost") == 3  # one child killed per attempt
    assert worker.output().count(f"Photo {poison} failed") == 1
    assert not Analysis.objects.filter(photo_id=poison).exists()
    analysed = Analysis.objects.filter(photo_id__in=good).values_list("photo_id", flat=True)
    assert sorted(analysed) == sorted(good)
    attempts = Photo.objects.filter(pk__in=good).values_list("analysis_attempts", flat=True)
    assert list(attempts) == [0, 0]
    body = client.get(responses[0].json()["status_url"]).json()
    assert (body["status"], body["error_message"]) == ("failed", POISON_PHOTO_REASON)
    # Nothing left to redeliver: the worker moved on.
    wait_for(lambda: broker_backlog() == {"gpu": 0, "gpu_low": 0, "unacked": 0}, timeout=10,
             what="an empty broker", worker=worker)  # fmt: skip


def test_upload_while_the_broker_is_down_is_analysed_after_recovery(start_worker):
    patient = PatientFactory()
    site = BodySiteFactory(patient=patient)
    with broker(DEAD_BROKER):
        response = _upload(client_for(patient.user), site, photo_bytes((120, 90)))
    assert response.status_code == 201, response.content
    photo_id = response.json()["id"]
    assert response.json()["status"] == "pending"

    worker = start_worker()
    with broker(redis_url()):
        call_command("requeue_stale_photos", "--older-than-minutes", "0")
    wait_for(lambda: _status(photo_id) == "done", timeout=60, what="recovery", worker=worker)
    assert Analysis.objects.filter(photo_id=photo_id).count() == 1


def test_fifty_concurrent_uploads_are_each_analysed_exactly_once(start_worker):
    worker = start_worker(batch_size=8)
    patient = PatientFactory()
    site = BodySiteFactory(patient=patient)
    statuses: list[int] = []
    ids: list[int] = []
    lock = threading.Lock()

    def upload(n: int) -> None:
        try:
            response = _upload(client_for(patient.user), site, photo_bytes(colour_shift=n + 1))
            with lock:
                statuses.append(response.status_code)
                ids.append(response.json()["id"])
        finally:
            connection.close()

    threads = [threading.Thread(target=upload, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [201] * 50 and len(set(ids)) == 50

    # Redeliveries of a few of them must not duplicate anything.
    from diary.tasks import analyse_photo

    for photo_id in ids[:10]:
        analyse_photo.delay(photo_id)

    def all_done() -> bool:
        return Photo.objects.filter(pk__in=ids, status="done").count() == 50

    wait_for(all_done, timeout=150, what="50 analyses", worker=worker)
    wait_for(lambda: broker_backlog()["gpu"] == 0, timeout=30, what="queue drained", worker=worker)
    counts = Analysis.objects.filter(photo_id__in=ids).values_list("photo_id", flat=True)
    assert sorted(counts) == sorted(ids)
    # Batching happened: at least one forward pass saw more than one photo.
    sizes = [a.timings_ms["batch_size"] for a in Analysis.objects.filter(photo_id__in=ids)]
    assert max(sizes) > 1


def test_a_corrupt_image_fails_with_a_reason_and_is_not_retried(start_worker):
    worker = start_worker()
    photo = PhotoFactory(image=ContentFile(os.urandom(2048), name="corrupt.png"))
    from diary.tasks import analyse_photo

    analyse_photo.delay(photo.pk)
    wait_for(lambda: _status(photo.pk) == "failed", timeout=60, what="failure", worker=worker)
    photo.refresh_from_db()
    assert "not a readable image" in photo.error_message
    failed_at = photo.status_changed_at
    # No retry loop: nothing waits in the queue nor reserved by the worker (a retry would be a
    # message with a countdown, held unacknowledged), and the photo stays as it was.
    wait_for(lambda: broker_backlog() == {"gpu": 0, "gpu_low": 0, "unacked": 0}, timeout=10,
             what="an empty broker", worker=worker)  # fmt: skip
    photo.refresh_from_db()
    assert (photo.status, photo.status_changed_at) == ("failed", failed_at)
    assert worker.output().count(f"Photo {photo.pk} failed") == 1
    assert not Analysis.objects.filter(photo=photo).exists()
