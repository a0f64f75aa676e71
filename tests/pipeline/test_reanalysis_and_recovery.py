"""Re-analysis after a model activation, the per-process segmenter cache, and the recovery."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from diary import segmenter_cache
from diary.models import Analysis, Photo
from diary.services.analysis import photos_analyse
from segmentation.severity.baseline import BASELINE_VERSION_LABEL
from tests.conftest import celery_conf
from tests.factories import PhotoFactory, register_lraspp_checkpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(monkeypatch):
    """The photo ids and queues the recovery publishes, without a broker."""
    from diary.tasks import analyse_photo

    sent: list[tuple[int, str | None]] = []
    monkeypatch.setattr(
        analyse_photo, "apply_async", lambda args, **opts: sent.append((args[0], opts.get("queue")))
    )
    return sent


def _register(tiny_checkpoint, name="tiny", activate=True):
    return register_lraspp_checkpoint(
        tiny_checkpoint, name=name, activate=activate, training_data="random init (test)"
    )


def test_the_segmenter_is_cached_and_follows_the_active_model(tiny_checkpoint):
    baseline = segmenter_cache.segmenter_get()
    assert baseline.version_label == BASELINE_VERSION_LABEL and baseline.model is None
    assert segmenter_cache.active_version_label() == BASELINE_VERSION_LABEL
    assert segmenter_cache.segmenter_get() is baseline

    model = _register(tiny_checkpoint)
    loaded = segmenter_cache.segmenter_get()
    assert loaded.model == model and loaded.version_label == model.version_label
    assert type(loaded.segmenter).__name__ == "SegmentationPredictor"
    assert segmenter_cache.segmenter_get() is loaded
    assert segmenter_cache.active_version_label() == model.version_label


def test_a_tampered_cached_checkpoint_is_copied_again(tiny_checkpoint):
    """The local checkpoint cache is private to this user and hashed before every reuse."""
    import os
    import stat

    from segmentation.hashing import file_sha256

    model = _register(tiny_checkpoint)
    cached = segmenter_cache._local_checkpoint(model)
    assert stat.S_IMODE(cached.parent.stat().st_mode) == 0o700
    assert cached.parent.stat().st_uid == os.getuid()
    assert file_sha256(cached) == model.checkpoint_sha256

    cached.write_bytes(b"planted by someone else")
    again = segmenter_cache._local_checkpoint(model)
    assert again == cached and file_sha256(again) == model.checkpoint_sha256


def test_activation_reanalyses_every_photo_and_keeps_old_analyses(
    tiny_checkpoint, django_capture_on_commit_callbacks
):
    photos = [PhotoFactory() for _ in range(3)]
    for photo in photos:
        photos_analyse(photo_ids=[photo.pk])[0]

    with celery_conf(task_always_eager=True), django_capture_on_commit_callbacks(execute=True):
        model = _register(tiny_checkpoint)

    for photo in photos:
        versions = set(Analysis.objects.filter(photo=photo).values_list("model_version", flat=True))
        assert versions == {BASELINE_VERSION_LABEL, model.version_label}
        photo.refresh_from_db()
        assert photo.status == Photo.Status.DONE
    assert Analysis.objects.filter(model=model).count() == 3


def test_reanalysis_goes_to_the_low_priority_queue(published, tiny_checkpoint, settings):
    from diary.services.recovery import photos_reanalyse

    done = PhotoFactory()
    photos_analyse(photo_ids=[done.pk])[0]
    other = PhotoFactory()
    model = _register(tiny_checkpoint, activate=False)
    assert photos_reanalyse(version_label=BASELINE_VERSION_LABEL) == 1
    assert published == [(other.pk, settings.PIPELINE_REANALYSIS_QUEUE)]

    published.clear()
    assert photos_reanalyse(version_label=model.version_label) == 2
    low = settings.PIPELINE_REANALYSIS_QUEUE
    assert sorted(published) == sorted([(done.pk, low), (other.pk, low)])
    assert set(Photo.objects.values_list("status", flat=True)) == {Photo.Status.PENDING}


def test_reanalysis_counts_what_was_sent_when_the_broker_fails_mid_chunk(monkeypatch):
    """Chunks of two, the broker refuses the fourth photo: three were sent, not the chunk's
    start (two)."""
    from diary.services import recovery
    from diary.tasks import analyse_photo

    photos = [PhotoFactory() for _ in range(5)]
    sent: list[int] = []

    def publish(args, **options):
        if len(sent) == 3:
            raise ConnectionError("broker gone")
        sent.append(args[0])

    monkeypatch.setattr(recovery, "_CHUNK", 2)
    monkeypatch.setattr(analyse_photo, "apply_async", publish)
    assert recovery.photos_reanalyse(version_label="model:none:00000000") == 3
    assert sent == [photo.pk for photo in photos[:3]]


def _age(photo: Photo, status: str, minutes: int) -> None:
    Photo.objects.filter(pk=photo.pk).update(
        status=status, status_changed_at=timezone.now() - dt.timedelta(minutes=minutes)
    )


def test_recovery_requeues_only_stale_pending_or_processing_photos(published, settings):
    settings.PIPELINE_STALE_AFTER = dt.timedelta(minutes=30)
    stale_pending, stale_processing, fresh, done, failed = (PhotoFactory() for _ in range(5))
    _age(stale_pending, Photo.Status.PENDING, 45)
    _age(stale_processing, Photo.Status.PROCESSING, 90)
    _age(fresh, Photo.Status.PENDING, 5)
    _age(done, Photo.Status.DONE, 600)
    _age(failed, Photo.Status.FAILED, 600)

    call_command("requeue_stale_photos")

    assert sorted(published) == sorted([(stale_pending.pk, None), (stale_processing.pk, None)])
    stale_processing.refresh_from_db()
    assert stale_processing.status == Photo.Status.PENDING
    assert timezone.now() - stale_processing.status_changed_at < dt.timedelta(minutes=1)
    # Just requeued: the next run waits a full timeout before sending them again.
    published.clear()
    call_command("requeue_stale_photos")
    assert published == []


def test_recovery_dry_run_and_timeout_option(published, capsys):
    photo = PhotoFactory()
    _age(photo, Photo.Status.PENDING, 3)
    call_command("requeue_stale_photos", "--older-than-minutes", "2", "--dry-run")
    assert published == [] and f"Would requeue 1 photo(s): {photo.pk}" in capsys.readouterr().out
    call_command("requeue_stale_photos", "--older-than-minutes", "2")
    assert published == [(photo.pk, None)]


def test_the_beat_task_recovers_and_analyses(settings):
    """With eager tasks the periodic task both requeues and (in-process) analyses the photo."""
    from diary.tasks import requeue_stale_photos

    photo = PhotoFactory()
    _age(photo, Photo.Status.PENDING, 60)
    with celery_conf(task_always_eager=True):
        assert requeue_stale_photos.delay().get() == 1
    photo.refresh_from_db()
    assert photo.status == Photo.Status.DONE
    schedule = settings.CELERY_BEAT_SCHEDULE["requeue-stale-photos"]
    assert schedule["task"] == requeue_stale_photos.name
