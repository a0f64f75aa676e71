"""What one photo costs, stage by stage, and the cheaper encodings (docs/performance.md)."""

from __future__ import annotations

import io
import json
import logging
import re

import numpy as np
import pytest
from django.core.files.base import ContentFile
from PIL import Image

from diary import segmenter_cache
from diary.models import Analysis, Photo
from diary.services.analysis import Outcome, photos_analyse
from segmentation.severity import render_mask, render_overlay
from tests.factories import PhotoFactory, register_lraspp_checkpoint
from tests.images import photo_bytes

pytestmark = pytest.mark.django_db

STAGES = {"claim", "read", "decode", "segment", "measure", "render", "encode", "write", "store"}


@pytest.fixture(autouse=True)
def _fresh_segmenter():
    segmenter_cache.segmenter_cache_clear()
    yield
    segmenter_cache.segmenter_cache_clear()


def _logged(caplog) -> dict[int, dict]:
    found = {}
    for record in caplog.records:
        match = re.fullmatch(r"Photo (\d+) analysed; milliseconds (\{.*\})", record.getMessage())
        if match:
            found[int(match[1])] = json.loads(match[2])
    return found


def test_each_photo_records_its_stages_and_logs_its_database_writes(caplog):
    photos = [PhotoFactory(image=ContentFile(photo_bytes((160, 120)), name="p.png"))]
    photos.append(PhotoFactory(image=ContentFile(photo_bytes((96, 72)), name="q.png")))
    with caplog.at_level(logging.INFO, logger="diary.services.analysis"):
        results = photos_analyse(photo_ids=[p.pk for p in photos])
    assert [r.outcome for r in results] == [Outcome.DONE, Outcome.DONE]
    logged = _logged(caplog)
    assert set(logged) == {p.pk for p in photos}
    for photo in photos:
        timings = Analysis.objects.get(photo=photo).timings_ms
        assert set(timings) >= STAGES and timings["batch_size"] == 2
        assert "forward" not in timings  # the colour baseline has no network
        assert all(timings[key] >= 0 for key in STAGES)
        # Rounded to 0.1 ms, so the parts may exceed their rounded sum by a rounding step.
        parts = timings["render"] + timings["encode"] + timings["write"]
        assert abs(timings["store"] - parts) <= 0.2
        # The row cannot hold its own insert: the log line has it, on top of the claim.
        line = logged[photo.pk]
        assert line["db"] >= line["claim"] > 0
        assert {k: v for k, v in line.items() if k != "db"} == timings


def test_a_network_reports_its_forward_pass_apart(tiny_checkpoint, caplog):
    register_lraspp_checkpoint(tiny_checkpoint, training_data="random init (test)")
    photos = PhotoFactory.create_batch(3)
    photos_analyse(photo_ids=[p.pk for p in photos])
    for photo in photos:
        timings = Analysis.objects.get(photo=photo).timings_ms
        assert 0 < timings["forward"] <= timings["segment"]
    loaded = segmenter_cache.segmenter_get()
    loaded.clock.total_ms = 1e9
    loaded.predict_batch([Image.new("RGB", (80, 60))])
    assert 0 < loaded.forward_ms < 1e9  # counted afresh for every batch


def test_the_stored_overlay_is_lossless_and_the_mask_unchanged():
    photo = PhotoFactory(image=ContentFile(photo_bytes((160, 120)), name="p.png"))
    photos_analyse(photo_ids=[photo.pk])
    analysis = Analysis.objects.get(photo=photo)
    with analysis.mask.open("rb") as handle:
        mask = np.asarray(Image.open(handle)) > 0
    with photo.image.open("rb") as handle:
        image = Image.open(io.BytesIO(handle.read())).convert("RGB")
    with analysis.overlay.open("rb") as handle:
        stored_overlay = np.asarray(Image.open(handle).convert("RGB"))
    with analysis.mask.open("rb") as handle:
        stored_mask = np.asarray(Image.open(handle))
    assert 0 < mask.sum() < mask.size
    assert np.array_equal(stored_overlay, np.asarray(render_overlay(image, mask)))
    assert np.array_equal(stored_mask, np.asarray(render_mask(mask)))
    assert Photo.objects.get(pk=photo.pk).status == Photo.Status.DONE
