"""Each analysed photo is registered to its site's baseline, in the pipeline (in-process)."""

from __future__ import annotations

import numpy as np
import pytest

from diary.models import Analysis, BodySite
from diary.services import alignment as alignment_service
from diary.services.alignment import body_site_baseline_set
from diary.services.analysis import Outcome, photos_analyse
from diary.services.photos import photo_delete
from segmentation.registration.synthetic import corner_error, similarity, transformed
from tests.conftest import celery_conf
from tests.factories import BodySiteFactory
from tests.registration.scenes import stored_photo, textured_skin

pytestmark = pytest.mark.django_db

SHAPE = (300, 400)
TRUTH = similarity(SHAPE, degrees=12, scale=1.1, shift=(10.0, -6.0))


@pytest.fixture(autouse=True)
def _no_cached_baselines():
    alignment_service._BASELINE_FEATURES.clear()
    yield
    alignment_service._BASELINE_FEATURES.clear()


@pytest.fixture(autouse=True)
def _eager():
    # Realignments go to the ``default`` queue; here they run in-process whatever the broker.
    with celery_conf(task_always_eager=True):
        yield


@pytest.fixture(scope="module")
def scene() -> np.ndarray:
    return textured_skin(SHAPE, seed=3)[0]


def _alignment(photo) -> dict:
    return Analysis.objects.get(photo=photo).alignment


def test_first_photo_is_the_baseline_and_the_next_is_registered_to_it(scene):
    site = BodySiteFactory()
    first = stored_photo(site, scene, day=0)
    second = stored_photo(site, transformed(scene, TRUTH), day=30)

    assert photos_analyse(photo_ids=[first.pk])[0].outcome is Outcome.DONE
    assert photos_analyse(photo_ids=[second.pk])[0].outcome is Outcome.DONE

    site.refresh_from_db()
    assert site.alignment_baseline_id == first.pk
    baseline = _alignment(first)
    assert baseline["aligned"] and baseline["baseline_photo"] == first.pk
    assert np.array_equal(baseline["matrix"], np.eye(3).tolist())
    registered = _alignment(second)
    assert registered["aligned"], registered["reason"]
    assert registered["baseline_photo"] == first.pk
    assert corner_error(np.array(registered["matrix"]), TRUTH, SHAPE) < 0.005
    assert registered["n_inliers"] >= 20 and registered["rms_error_px"] < 1.5
    for photo in (first, second):
        assert Analysis.objects.get(photo=photo).timings_ms["align"] > 0


def test_one_batch_of_a_new_site_has_one_baseline(scene):
    site = BodySiteFactory()
    photos = [
        stored_photo(site, scene, day=0),
        stored_photo(site, transformed(scene, TRUTH), day=30),
    ]
    results = photos_analyse(photo_ids=[p.pk for p in photos])
    assert [r.outcome for r in results] == [Outcome.DONE, Outcome.DONE]
    site.refresh_from_db()
    assert site.alignment_baseline_id in {p.pk for p in photos}
    alignments = [_alignment(p) for p in photos]
    assert all(a["aligned"] and a["baseline_photo"] == site.alignment_baseline_id
               for a in alignments)  # fmt: skip


def test_a_photo_of_something_else_is_stored_not_aligned_with_the_reason(scene):
    site = BodySiteFactory()
    stored_photo(site, scene, day=0)
    other = stored_photo(site, textured_skin(SHAPE, seed=99)[0], day=30)
    photos_analyse(photo_ids=[p.pk for p in site.photos.order_by("taken_at")])
    stored = _alignment(other)
    assert stored["aligned"] is False and stored["matrix"] is None
    assert stored["reason"]
    other.refresh_from_db()
    assert other.status == "done"  # the analysis itself stands


def test_a_missing_baseline_file_does_not_fail_the_analysis(scene):
    site = BodySiteFactory()
    first = stored_photo(site, scene, day=0)
    photos_analyse(photo_ids=[first.pk])
    first.image.storage.delete(first.image.name)
    second = stored_photo(site, transformed(scene, TRUTH), day=30)
    assert photos_analyse(photo_ids=[second.pk])[0].outcome is Outcome.DONE
    stored = _alignment(second)
    assert stored["aligned"] is False
    assert stored["reason"].startswith("the baseline photo could not be read")


def test_choosing_another_baseline_realigns_the_site(scene, django_capture_on_commit_callbacks):
    site = BodySiteFactory()
    first = stored_photo(site, scene, day=0)
    second = stored_photo(site, transformed(scene, TRUTH), day=30)
    photos_analyse(photo_ids=[first.pk, second.pk])

    with django_capture_on_commit_callbacks(execute=True):
        body_site_baseline_set(body_site=site, photo=second)

    site.refresh_from_db()
    assert site.alignment_baseline_id == second.pk
    assert _alignment(second)["baseline_photo"] == second.pk
    assert np.array_equal(_alignment(second)["matrix"], np.eye(3).tolist())
    realigned = _alignment(first)
    assert realigned["aligned"] and realigned["baseline_photo"] == second.pk
    # Now the first photo is the moving one: the inverse transform.
    second_shape = SHAPE
    found = np.array(realigned["matrix"])
    assert corner_error(found, np.linalg.inv(TRUTH), second_shape) < 0.005


def test_a_baseline_of_another_site_is_refused(scene):
    site, other_site = BodySiteFactory(), BodySiteFactory()
    photo = stored_photo(other_site, scene, day=0)
    with pytest.raises(ValueError, match="photo of this body site"):
        body_site_baseline_set(body_site=site, photo=photo)
    site.alignment_baseline = photo
    with pytest.raises(Exception, match="photo of this body site"):
        site.full_clean()


def test_deleting_the_baseline_realigns_to_the_earliest_remaining(
    scene, django_capture_on_commit_callbacks
):
    site = BodySiteFactory()
    first = stored_photo(site, scene, day=0)
    second = stored_photo(site, transformed(scene, TRUTH), day=30)
    turned = similarity(SHAPE, degrees=-8, scale=0.9, shift=(0.0, 5.0))
    third = stored_photo(site, transformed(scene, turned), day=60)
    photos_analyse(photo_ids=[first.pk, second.pk, third.pk])

    with django_capture_on_commit_callbacks(execute=True):
        photo_delete(photo=first)

    site.refresh_from_db()
    assert site.alignment_baseline_id == second.pk
    assert _alignment(third)["aligned"] and _alignment(third)["baseline_photo"] == second.pk


def test_a_site_analysed_before_alignment_existed_is_realigned(
    scene, django_capture_on_commit_callbacks
):
    site = BodySiteFactory()
    older = stored_photo(site, scene, day=0)
    photos_analyse(photo_ids=[older.pk])
    # As after migrating: an analysis without alignment, a site without baseline.
    Analysis.objects.filter(photo=older).update(alignment=None)
    BodySite.objects.filter(pk=site.pk).update(alignment_baseline=None)

    newer = stored_photo(site, transformed(scene, TRUTH), day=30)
    with django_capture_on_commit_callbacks(execute=True):
        photos_analyse(photo_ids=[newer.pk])

    site.refresh_from_db()
    assert site.alignment_baseline_id == older.pk
    assert _alignment(older)["aligned"] and _alignment(newer)["aligned"]
    assert _alignment(newer)["baseline_photo"] == older.pk
