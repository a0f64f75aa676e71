"""Registration of each analysed photo to its body site's baseline photo (docs/alignment.md).

The baseline is the first photo of the site that the pipeline analyses, unless a clinician
chose another (``body_site_baseline_set``, then every photo of the site is realigned on the
``default`` queue). The result is stored in ``Analysis.alignment``: the registration's figures,
its 3x3 matrix (baseline pixels -> photo pixels) when ``aligned``, and ``baseline_photo``. A
registration that cannot be done (the baseline's file is missing, too few features agree)
is stored as ``aligned: false`` with the reason; it never fails the analysis.
"""

from __future__ import annotations

import logging
from collections import OrderedDict

import numpy as np
from celery.exceptions import SoftTimeLimitExceeded
from django.db import transaction
from PIL import Image

from segmentation.registration import (
    AlignmentConfig,
    AlignmentResult,
    ImageFeatures,
    align_features,
    image_features,
)

from ..models import Analysis, BodySite, Photo
from ..task_names import REALIGN_BODY_SITE
from .queueing import task_enqueue

logger = logging.getLogger(__name__)

CONFIG = AlignmentConfig()

#: Features of recent baselines, per worker process: a batch or a realignment of one site
#: extracts its baseline's features once. Keyed by (photo id, sha256), so a changed file misses.
_BASELINE_FEATURES: OrderedDict[tuple[int, str], ImageFeatures] = OrderedDict()
_BASELINE_CACHE_SIZE = 16


def photo_alignment(*, photo: Photo, image: Image.Image, mask: np.ndarray) -> dict:
    """Register ``photo`` (its decoded ``image`` and lesion ``mask``) to its site's baseline.
    JSON-ready, for ``Analysis.alignment``.

    A site without a baseline takes its earliest analysed photo, or this one if none is; a site
    that had analysed photos but no baseline (analysed before alignment existed) is realigned."""
    sites = BodySite.objects.filter(pk=photo.body_site_id)
    if sites.filter(alignment_baseline__isnull=True).exists():
        earliest = (
            Photo.objects.filter(body_site_id=photo.body_site_id, analyses__isnull=False)
            .order_by("taken_at", "id")
            .values_list("pk", flat=True)
            .first()
        )
        chosen = sites.filter(alignment_baseline__isnull=True).update(
            alignment_baseline_id=earliest or photo.pk
        )
        if chosen and earliest is not None:
            site_id = photo.body_site_id
            transaction.on_commit(lambda: body_site_realign_enqueue(body_site_id=site_id))
    baseline_id = sites.values_list("alignment_baseline_id", flat=True).first()
    if baseline_id is None:  # the site was deleted meanwhile
        return {"aligned": False, "reason": "the body site was deleted", "baseline_photo": None}
    return _aligned_to(baseline_id, photo=photo, image=np.asarray(image), mask=mask)


def _aligned_to(baseline_id: int, *, photo: Photo, image: np.ndarray, mask: np.ndarray) -> dict:
    if baseline_id == photo.pk:
        result = AlignmentResult.identity(image.shape[:2])
        return {**result.as_dict(), "baseline_photo": baseline_id}
    try:
        reference = _baseline_features(baseline_id)
        moving = image_features(image, lesion=mask, config=CONFIG)
        result = align_features(reference, moving, config=CONFIG).as_dict()
    except SoftTimeLimitExceeded:
        raise
    except Exception as error:  # the analysis stands; the alignment says why it is missing
        logger.warning("Photo %s not aligned to photo %s: %s", photo.pk, baseline_id, error)
        result = {"aligned": False, "reason": f"the baseline photo could not be read ({error})"}
    return {**result, "baseline_photo": baseline_id}


def _baseline_features(baseline_id: int) -> ImageFeatures:
    baseline = Photo.objects.only("pk", "sha256", "image").get(pk=baseline_id)
    key = (baseline.pk, baseline.sha256)
    if key in _BASELINE_FEATURES:
        _BASELINE_FEATURES.move_to_end(key)
        return _BASELINE_FEATURES[key]
    analysis = baseline.latest_analysis
    mask = stored_mask(analysis) if analysis is not None else None
    features = image_features(stored_image(baseline), lesion=mask, config=CONFIG)
    _BASELINE_FEATURES[key] = features
    while len(_BASELINE_FEATURES) > _BASELINE_CACHE_SIZE:
        _BASELINE_FEATURES.popitem(last=False)
    return features


def stored_image(photo: Photo) -> np.ndarray:
    """The stored (upright, metadata-free) photo as 8-bit RGB."""
    with photo.image.open("rb") as handle, Image.open(handle) as opened:
        return np.asarray(opened.convert("RGB"))


def stored_mask(analysis: Analysis) -> np.ndarray:
    """The lesion mask of an analysis (or of a correction: both have `.mask`) as booleans."""
    with analysis.mask.open("rb") as handle, Image.open(handle) as opened:
        return np.asarray(opened.convert("L")) > 127


def body_site_baseline_set(*, body_site: BodySite, photo: Photo | None) -> BodySite:
    """Make ``photo`` (one of the site's, or None for "the earliest analysed") the site's
    baseline and realign the site's photos once this commits."""
    if photo is not None and photo.body_site_id != body_site.pk:
        raise ValueError("The baseline must be a photo of this body site.")
    body_site.alignment_baseline = photo
    body_site.save(update_fields=["alignment_baseline"])
    transaction.on_commit(lambda: body_site_realign_enqueue(body_site_id=body_site.pk))
    return body_site


def body_site_realign_enqueue(*, body_site_id: int) -> bool:
    return task_enqueue(REALIGN_BODY_SITE, args=(body_site_id,), queue="default")


def body_site_realign(*, body_site_id: int) -> int:
    """Register every analysed photo of the site to its (current) baseline; the number realigned.

    Without a baseline (none chosen, or it was deleted) the earliest analysed photo becomes it.
    """
    site = BodySite.objects.filter(pk=body_site_id).first()
    if site is None:
        return 0
    photos = list(
        Photo.objects.filter(body_site=site, analyses__isnull=False)
        .distinct()
        .order_by("taken_at", "id")
    )
    if not photos:
        return 0
    if site.alignment_baseline_id is None:
        BodySite.objects.filter(pk=site.pk, alignment_baseline__isnull=True).update(
            alignment_baseline=photos[0]
        )
        site.refresh_from_db(fields=["alignment_baseline"])
    baseline_id = site.alignment_baseline_id
    for photo in photos:
        analysis = photo.latest_analysis
        try:
            image, mask = stored_image(photo), stored_mask(analysis)
        except (FileNotFoundError, OSError) as error:
            alignment = {"aligned": False, "reason": f"the photo could not be read ({error})",
                         "baseline_photo": baseline_id}  # fmt: skip
        else:
            alignment = _aligned_to(baseline_id, photo=photo, image=image, mask=mask)
        # Every analysis of the photo: the registration depends on the photo, not the model.
        Analysis.objects.filter(photo=photo).update(alignment=alignment)
    logger.info("Body site %s: %d photos realigned to photo %s", site.pk, len(photos), baseline_id)
    return len(photos)


def body_site_realign_if_baseline(*, photo: Photo) -> None:
    """Before ``photo`` is deleted: if it is its site's baseline, realign the site afterwards
    (the foreign key empties itself; the earliest remaining photo becomes the baseline)."""
    if BodySite.objects.filter(pk=photo.body_site_id, alignment_baseline=photo).exists():
        site_id = photo.body_site_id
        transaction.on_commit(lambda: body_site_realign_enqueue(body_site_id=site_id))
