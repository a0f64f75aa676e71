"""The analysis service and the batch task, in-process (SQLite locally, PostgreSQL in CI)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from diary import segmenter_cache
from diary.models import Analysis, Photo
from diary.services.analysis import Outcome, photos_analyse
from segmentation.severity.baseline import BASELINE_VERSION_LABEL
from tests.conftest import celery_conf
from tests.factories import PhotoFactory
from tests.images import photo_bytes

pytestmark = pytest.mark.django_db


def _files(media: Path, folder: str) -> list[Path]:
    return sorted((media / folder).glob("*")) if (media / folder).exists() else []


def test_photo_is_segmented_measured_and_stored(_media_root):
    photo = PhotoFactory(image=ContentFile(photo_bytes((160, 120)), name="p.png"))

    result = photos_analyse(photo_ids=[photo.pk])[0]

    assert result.outcome is Outcome.DONE
    photo.refresh_from_db()
    assert (photo.status, photo.error_message) == (Photo.Status.DONE, "")
    analysis = Analysis.objects.get(photo=photo)
    assert analysis.model is None and analysis.model_version == BASELINE_VERSION_LABEL
    # The synthetic lesion is an ellipse over 40 % x 40 % of the frame: ~12.6 % of the skin.
    assert 0.08 < analysis.lesion_skin_fraction < 0.2
    assert analysis.measures["lesion_skin_fraction"] == analysis.lesion_skin_fraction
    assert analysis.delta_e2000 == analysis.measures["delta_e2000"] > 0
    assert analysis.grade == analysis.measures["grade"]
    assert {"decode", "segment", "measure", "store", "batch_size"} <= set(analysis.timings_ms)
    for field_file in (analysis.mask, analysis.overlay):
        assert default_storage.exists(field_file.name)
    from PIL import Image

    with analysis.mask.open("rb") as handle:
        assert Image.open(handle).size == (160, 120)


def test_a_second_delivery_creates_no_duplicate(_media_root):
    photo = PhotoFactory()
    assert photos_analyse(photo_ids=[photo.pk])[0].outcome is Outcome.DONE
    again = photos_analyse(photo_ids=[photo.pk])[0]
    assert again.outcome is Outcome.SKIPPED
    assert Analysis.objects.filter(photo=photo).count() == 1
    assert len(_files(_media_root, "masks")) == 1


def test_losing_the_race_removes_its_files(_media_root, monkeypatch):
    """Two deliveries past the claim at once: the unique constraint keeps one row and files.

    The second delivery runs to the end while the first is in its forward pass (the segmenter
    below starts it), so the first meets the committed analysis when it stores its own."""
    photo = PhotoFactory()
    real = segmenter_cache.segmenter_get()
    second: list = []

    class RacedSegmenter:
        version_label = real.version_label

        def predict_batch(self, images):
            if not second:
                second.append("running")
                second[0] = photos_analyse(photo_ids=[photo.pk])[0]
            return real.segmenter.predict_batch(images)

    raced = segmenter_cache.LoadedSegmenter(RacedSegmenter(), None, real.version_label)
    monkeypatch.setattr("diary.services.analysis.segmenter_get", lambda: raced)

    (first,) = photos_analyse(photo_ids=[photo.pk])

    assert (first.outcome, second[0].outcome) == (Outcome.SKIPPED, Outcome.DONE)
    assert first.detail == "Already analysed."
    assert Analysis.objects.filter(photo=photo).count() == 1
    assert len(_files(_media_root, "masks")) == len(_files(_media_root, "overlays")) == 1
    assert Analysis.objects.get(photo=photo).lesion_skin_fraction > 0
    photo.refresh_from_db()
    assert photo.status == Photo.Status.DONE


def test_a_corrupt_image_fails_with_a_reason_and_leaves_nothing(_media_root):
    photo = PhotoFactory(image=ContentFile(b"\x89PNG not really an image", name="bad.png"))

    result = photos_analyse(photo_ids=[photo.pk])[0]

    assert result.outcome is Outcome.FAILED
    photo.refresh_from_db()
    assert photo.status == Photo.Status.FAILED
    assert "not a readable image" in photo.error_message
    assert not Analysis.objects.filter(photo=photo).exists()
    assert _files(_media_root, "masks") == []


def test_a_missing_file_fails_rather_than_retrying(_media_root):
    photo = PhotoFactory()
    default_storage.delete(photo.image.name)
    assert photos_analyse(photo_ids=[photo.pk])[0].outcome is Outcome.FAILED
    photo.refresh_from_db()
    assert "missing from storage" in photo.error_message


def test_a_deleted_photo_is_skipped():
    photo = PhotoFactory()
    photo_id = photo.pk
    photo.delete()
    assert photos_analyse(photo_ids=[photo_id])[0].outcome is Outcome.SKIPPED


def test_a_failing_batch_falls_back_to_single_images(monkeypatch, _media_root):
    """A forward pass that fails for the batch is redone image by image; only the culprit fails."""
    good = [PhotoFactory(), PhotoFactory()]
    bad = PhotoFactory(image=ContentFile(photo_bytes((3, 3)), name="tiny.png"))
    real = segmenter_cache.segmenter_get()
    calls: list[int] = []

    class Picky:
        version_label = real.version_label

        def predict(self, image):
            return self.predict_batch([image])[0]

        def predict_batch(self, images):
            calls.append(len(images))
            if any(image.width < 8 for image in images):
                raise RuntimeError("input too small for the network")
            return real.segmenter.predict_batch(images)

    picky = segmenter_cache.LoadedSegmenter(Picky(), None, real.version_label)
    monkeypatch.setattr("diary.services.analysis.segmenter_get", lambda: picky)

    results = photos_analyse(photo_ids=[good[0].pk, bad.pk, good[1].pk])

    assert [r.outcome for r in results] == [Outcome.DONE, Outcome.FAILED, Outcome.DONE]
    assert calls == [3, 1, 1, 1]
    bad.refresh_from_db()
    assert "segmentation of this photo failed" in bad.error_message
    assert Analysis.objects.count() == 2


def test_transient_storage_errors_are_retried_then_fail(monkeypatch, settings):
    """Storage I/O errors retry with backoff (eager here), at most PIPELINE_MAX_RETRIES times."""
    from django.core.files.storage import FileSystemStorage

    settings.PIPELINE_MAX_RETRIES = 2
    photo = PhotoFactory()
    opened: list[str] = []

    def broken_open(self, name, mode="rb"):
        opened.append(name)
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(FileSystemStorage, "_open", broken_open)
    with celery_conf(task_always_eager=True):
        from diary.tasks import analyse_photo

        analyse_photo.delay(photo.pk)

    assert len(opened) == 3  # the first attempt and two retries
    photo.refresh_from_db()
    assert photo.status == Photo.Status.FAILED
    assert "after 3 attempts" in photo.error_message


def test_the_batch_task_analyses_each_photo_once(django_capture_on_commit_callbacks):
    """Messages of one batch that name the same photo twice (a redelivery) make one analysis."""
    from celery_batches import SimpleRequest

    from diary.tasks import analyse_photo

    photos = [PhotoFactory() for _ in range(3)]

    def request(photo_id: int) -> SimpleRequest:
        return SimpleRequest(str(photo_id), "diary.analyse_photo", (photo_id,), {}, {}, "h", True,
                             None, None, {})  # fmt: skip

    analyse_photo.run([request(p.pk) for p in [*photos, photos[0]]])

    assert Analysis.objects.filter(photo__in=photos).count() == 3
    assert {a.timings_ms["batch_size"] for a in Analysis.objects.all()} == {3}
    assert set(Photo.objects.values_list("status", flat=True)) == {Photo.Status.DONE}


def test_a_photo_whose_analyses_never_reported_back_fails_after_the_limit(settings):
    """``analysis_attempts`` is what dead workers left behind (the live test kills real ones)."""
    from diary.services.claims import POISON_PHOTO_REASON

    settings.PIPELINE_MAX_ANALYSIS_ATTEMPTS = 3
    fresh = [PhotoFactory(), PhotoFactory()]
    suspect = PhotoFactory(analysis_attempts=2, status=Photo.Status.PROCESSING)
    exhausted = PhotoFactory(analysis_attempts=3, status=Photo.Status.PROCESSING)

    results = photos_analyse(photo_ids=[exhausted.pk, suspect.pk, *(p.pk for p in fresh)])

    assert [r.outcome for r in results] == [Outcome.FAILED, *[Outcome.DONE] * 3]
    exhausted.refresh_from_db()
    assert (exhausted.status, exhausted.error_message) == (Photo.Status.FAILED, POISON_PHOTO_REASON)
    assert exhausted.analysis_attempts == 3
    # The suspect ran alone, after the fresh photos' one forward pass; all reported back.
    sizes = dict(Analysis.objects.values_list("photo_id", "timings_ms__batch_size"))
    assert sizes == {fresh[0].pk: 2, fresh[1].pk: 2, suspect.pk: 1}
    attempts = Photo.objects.exclude(pk=exhausted.pk).values_list("analysis_attempts", flat=True)
    assert set(attempts) == {0}


def test_the_attempt_limit_is_a_setting(settings):
    settings.PIPELINE_MAX_ANALYSIS_ATTEMPTS = 5
    photo = PhotoFactory(analysis_attempts=4, status=Photo.Status.PROCESSING)
    assert photos_analyse(photo_ids=[photo.pk])[0].outcome is Outcome.DONE


def test_transient_errors_are_not_counted_as_crashes(monkeypatch, settings):
    """Retries of a transient error report back each time, so they never reach the crash limit."""
    from django.core.files.storage import FileSystemStorage

    settings.PIPELINE_MAX_RETRIES = 4
    settings.PIPELINE_MAX_ANALYSIS_ATTEMPTS = 2
    photo = PhotoFactory()

    def broken_open(self, name, mode="rb"):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(FileSystemStorage, "_open", broken_open)
    with celery_conf(task_always_eager=True):
        from diary.tasks import analyse_photo

        analyse_photo.delay(photo.pk)

    photo.refresh_from_db()
    assert "after 5 attempts" in photo.error_message
