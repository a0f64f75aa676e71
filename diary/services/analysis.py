"""Analysis of photos: segmentation, severity measures, mask and overlay files, Analysis rows.

Idempotent on (photo, model version): a photo that already has an analysis by the current
segmenter is not analysed again, and two workers racing on the same photo end with one row (the
unique constraint decides; the loser removes its files). Errors come in two kinds:

* a bad photo (undecodable, missing file, unmeasurable) ends ``failed`` with a readable reason;
  it is never retried, since it would fail the same way;
* transient errors (database, storage I/O) leave the photo ``processing`` and are reported as
  :attr:`Outcome.RETRY` for the task to retry with backoff.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Sequence

import numpy as np
from celery.exceptions import SoftTimeLimitExceeded
from django.core.files.base import ContentFile
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from PIL import Image, UnidentifiedImageError

from config.storage import storage_errors
from segmentation.severity.catalog import MEASURES

from ..models import Analysis, Photo
from ..segmenter_cache import LoadedSegmenter, segmenter_get
from .alignment import photo_alignment
from .claims import photo_attempt_count, photos_claim
from .corrections import correction_score_new_analysis
from .files import files_delete
from .outcomes import Outcome, PhotoResult
from .photo_states import photo_fail, photos_transition
from .quality import photo_quality_with_lesion
from .renderings import mask_png_bytes, overlay_png_bytes

logger = logging.getLogger(__name__)

#: Errors worth retrying: the database or the storage (local disk or S3) was briefly unavailable.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    OSError,
    *storage_errors(),
)


class _BadPhoto(Exception):
    """The photo itself cannot be analysed; the message is shown to the user."""


def photos_analyse(*, photo_ids: Sequence[int]) -> list[PhotoResult]:
    """Analyse photos with one forward pass of the current segmenter, one result per photo id.

    Errors that concern the whole batch (the database is down, the model cannot be loaded)
    propagate; per-photo problems become that photo's result.
    """
    loaded = segmenter_get()
    results: dict[int, PhotoResult] = {}
    started = time.perf_counter()
    fresh, suspects = photos_claim(
        photo_ids=photo_ids, version_label=loaded.version_label, out=results
    )
    claim_ms = _ms_since(started) / max(1, len(fresh) + len(suspects))
    _photos_run(fresh, loaded, results, claim_ms)
    for photo in suspects:
        # An earlier analysis of this photo never reported back (its worker died): it runs alone,
        # counted before it starts, so a photo that kills the worker takes no other photo down
        # with it and ends ``failed`` after PIPELINE_MAX_ANALYSIS_ATTEMPTS.
        photo_attempt_count(photo=photo)
        _photos_run([photo], loaded, results, claim_ms)
    return [results[photo_id] for photo_id in dict.fromkeys(photo_ids)]


def _photos_run(
    photos: list[Photo],
    loaded: LoadedSegmenter,
    results: dict[int, PhotoResult],
    claim_ms: float = 0.0,
) -> None:
    """Decode, segment (one forward pass), measure and store ``photos``; a result for each."""
    if not photos:
        return
    spent = {"read": 0.0, "decode": 0.0}
    images: dict[int, Image.Image] = {}
    for photo in photos:
        try:
            images[photo.pk] = _photo_image(photo, spent)
        except _BadPhoto as error:
            results[photo.pk] = photo_fail(photo_id=photo.pk, reason=str(error))
        except TRANSIENT_ERRORS as error:
            results[photo.pk] = PhotoResult(photo.pk, Outcome.RETRY, str(error), error)

    started = time.perf_counter()
    predictions = _predict(loaded, images, results)
    segment_ms = _ms_since(started)
    forward_ms = loaded.forward_ms

    for photo in photos:
        if photo.pk not in predictions:
            continue
        # Per photo, in milliseconds: a batch's shared costs are split evenly between its photos.
        # "segment" is the whole prediction (resizing, normalisation, forward pass, resizing the
        # probabilities back); "forward" the network alone (absent for the colour baseline).
        n = len(predictions)
        timings = {
            "claim": claim_ms,
            "read": spent["read"] / len(photos),
            "decode": spent["decode"] / len(photos),
            "segment": segment_ms / n,
            "batch_size": n,
        }
        if forward_ms is not None:
            timings["forward"] = forward_ms / n
        try:
            results[photo.pk] = _analysis_create(
                photo=photo,
                image=images[photo.pk],
                mask=predictions[photo.pk],
                loaded=loaded,
                timings=timings,
            )
        except _BadPhoto as error:
            results[photo.pk] = photo_fail(photo_id=photo.pk, reason=str(error))
        except TRANSIENT_ERRORS as error:
            results[photo.pk] = PhotoResult(photo.pk, Outcome.RETRY, str(error), error)


def _photo_image(photo: Photo, spent: dict[str, float]) -> Image.Image:
    """The stored photo decoded as RGB; adds the milliseconds of each step to ``spent``."""
    started = time.perf_counter()
    try:
        with photo.image.open("rb") as handle:
            data = handle.read()
    except FileNotFoundError as error:
        raise _BadPhoto("The photo's file is missing from storage.") from error
    # Storage errors other than "not found" propagate: they are transient.
    spent["read"] += _ms_since(started)
    started = time.perf_counter()
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            return image.convert("RGB")
    except SoftTimeLimitExceeded:
        raise
    except UnidentifiedImageError as error:
        # Pillow's message would only name the in-memory buffer (``<_io.BytesIO ...>``).
        raise _BadPhoto("The stored photo is not a readable image (unknown format).") from error
    except Exception as error:
        raise _BadPhoto(f"The stored photo is not a readable image ({error}).") from error
    finally:
        spent["decode"] += _ms_since(started)


def _predict(
    loaded: LoadedSegmenter, images: dict[int, Image.Image], results: dict[int, PhotoResult]
) -> dict[int, np.ndarray]:
    """One forward pass for the batch; if it fails, one image at a time to isolate the culprit."""
    if not images:
        return {}
    ids = list(images)
    try:
        predictions = loaded.predict_batch([images[i] for i in ids])
        return {i: p.mask for i, p in zip(ids, predictions, strict=True)}
    except (*TRANSIENT_ERRORS, SoftTimeLimitExceeded):
        raise
    except Exception:
        if len(ids) > 1:
            logger.exception("Batch of %d failed; falling back to single images", len(ids))
    masks = {}
    for photo_id in ids:
        try:
            masks[photo_id] = loaded.predict_batch([images[photo_id]])[0].mask
        except (*TRANSIENT_ERRORS, SoftTimeLimitExceeded):
            raise
        except Exception as error:
            results[photo_id] = photo_fail(
                photo_id=photo_id, reason=f"The segmentation of this photo failed ({error})."
            )
    return masks


def _analysis_create(
    *,
    photo: Photo,
    image: Image.Image,
    mask: np.ndarray,
    loaded: LoadedSegmenter,
    timings: dict,
) -> PhotoResult:
    from segmentation.severity import measure_severity, render_mask, render_overlay

    started = time.perf_counter()
    pixels = np.asarray(image)  # once, for the measures and the overlay
    try:
        report = measure_severity(pixels, mask, segmenter=loaded.version_label)
    except ValueError as error:
        raise _BadPhoto(f"The severity of this photo cannot be measured ({error}).") from error
    measures = report.as_dict()
    timings["measure"] = _ms_since(started)
    started = time.perf_counter()
    alignment = photo_alignment(photo=photo, image=image, mask=mask)
    timings["align"] = _ms_since(started)

    started = time.perf_counter()
    analysis = Analysis(
        photo=photo,
        model=loaded.model,
        model_version=loaded.version_label,
        measures=measures,
        **{m.column: getattr(report, m.key) for m in MEASURES if m.column is not None},
        grade=report.grade or "",
        alignment=alignment,
    )
    renderings = render_mask(mask), render_overlay(image, mask, pixels=pixels)
    timings["render"] = _ms_since(started)
    started = time.perf_counter()
    mask_png, overlay_png = mask_png_bytes(renderings[0]), overlay_png_bytes(renderings[1])
    timings["encode"] = _ms_since(started)
    started = time.perf_counter()
    # Files first (storage cannot join the transaction); removed again if the row is not kept.
    analysis.mask.save(f"photo-{photo.pk}.png", ContentFile(mask_png), save=False)
    analysis.overlay.save(f"photo-{photo.pk}.png", ContentFile(overlay_png), save=False)
    timings["write"] = _ms_since(started)
    timings["store"] = timings["render"] + timings["encode"] + timings["write"]
    started = time.perf_counter()
    try:
        with transaction.atomic():
            analysis.timings_ms = _rounded(timings)
            analysis.save()
            # A clinician's correction stays the mask in force: this mask is only scored against
            # it (docs/corrections.md), and the lesion-at-the-border check keeps following it.
            corrected = correction_score_new_analysis(analysis=analysis, mask=mask) is not None
            # Otherwise the lesion-at-the-border check needs this mask; the upload's checks are
            # kept (the claim loaded them with the photo's row: no second read).
            photos_transition(
                "store",
                photo_ids=[photo.pk],
                also=None
                if corrected
                else photo_quality_with_lesion(
                    photo.quality_checks or [], mask, baseline=loaded.model is None
                ),
            )
        # The row cannot hold the time of its own insert: it goes to the log (bench/pipeline.py).
        timings["db"] = _ms_since(started) + timings.get("claim", 0.0)
        logger.info("Photo %s analysed; milliseconds %s", photo.pk, json.dumps(_rounded(timings)))
    except IntegrityError:
        files_delete([analysis.mask, analysis.overlay])
        # Another delivery of the same task won the race, or the photo was deleted meanwhile.
        label = analysis.model_version
        if Analysis.objects.filter(photo_id=photo.pk, model_version=label).exists():
            return PhotoResult(photo.pk, Outcome.SKIPPED, "Already analysed.")
        return PhotoResult(photo.pk, Outcome.SKIPPED, "The photo no longer exists.")
    except BaseException:
        files_delete([analysis.mask, analysis.overlay])
        raise
    return PhotoResult(photo.pk, Outcome.DONE)


def _rounded(timings: dict) -> dict:
    return {key: round(value, 1) for key, value in timings.items()}


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
