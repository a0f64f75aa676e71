"""Clinicians' corrections of lesion masks: validate, measure, store, score the models' masks.

A correction is a new row every time (diary.models.Correction), measured by the same severity
code as a model's mask; the newest one is the mask in force for the photo's series point, charts,
exports and the mask endpoint. Saving one scores every model mask of the photo against it
(CorrectionScore), and a later analysis by another model is scored against it too
(:func:`correction_score_new_analysis`, called by the analysis service): that is how the clinic
learns how accurate its model is on its own patients (docs/corrections.md).
"""

from __future__ import annotations

import io

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from PIL import Image, UnidentifiedImageError

from segmentation.severity.agreement import MaskAgreement, mask_agreement
from segmentation.severity.catalog import MEASURES

from ..audit import audit_touch
from ..models import Analysis, AuditEvent, Correction, CorrectionScore, Photo, User
from .alignment import stored_mask
from .errors import ServiceError
from .files import files_delete
from .images import upload_read_limited
from .quality import photo_quality_with_lesion
from .renderings import mask_png_bytes, overlay_png_bytes

#: The label a clinician's mask carries where a model's version label would be.
CLINICIAN_SEGMENTER = "clinician"
#: A mask is black (0, skin) and white (255, lesion); mid-grey pixels are thresholded at 128 but
#: more than this share of them means the file is not a mask (a photo sent by mistake).
MAX_GREY_SHARE = 0.02
_MASK_FORMATS = ("PNG", "WEBP", "JPEG")


def correction_allowed(user: User) -> bool:
    """Clinicians (for the patients assigned to them, which ``visible_to`` already narrows to)
    and staff may correct masks; patients may not."""
    return bool(user.is_authenticated and (user.is_clinician or user.sees_all_patients))


def corrected_mask_decode(data: bytes, *, width: int, height: int) -> np.ndarray:
    """A mask file as a (height, width) bool array, or ``ServiceError`` 400 saying what is wrong.

    Lesion is where the image, composited over black, is at least 128 bright: an opaque
    black-and-white PNG and white strokes on a transparent canvas read the same.
    """
    if not data:
        raise ServiceError("The mask file is empty.", code="empty_file", field="mask")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in _MASK_FORMATS:
                raise ServiceError(
                    f"Unsupported mask format {image.format!r}: send a PNG.",
                    code="unsupported_format",
                    field="mask",
                )
            if image.size != (width, height):
                raise ServiceError(
                    f"The mask is {image.width}x{image.height} pixels; the photo is "
                    f"{width}x{height}. Send a mask of the photo's size.",
                    code="mask_size_mismatch",
                    field="mask",
                )
            image.load()
            grey = _grey_over_black(image)
    except ServiceError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ServiceError(
            "The mask is not a readable image: send a black-and-white PNG of the photo's size.",
            code="invalid_image",
            field="mask",
        ) from error
    grey_share = float(np.count_nonzero((grey >= 32) & (grey < 224))) / grey.size
    if grey_share > MAX_GREY_SHARE:
        raise ServiceError(
            f"{grey_share:.0%} of the mask's pixels are neither black nor white: a mask is black "
            "(skin) and white (lesion).",
            code="mask_not_binary",
            field="mask",
        )
    return grey >= 128


def _grey_over_black(image: Image.Image) -> np.ndarray:
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, (0, 0, 0, 255)), rgba)
    return np.asarray(image.convert("L"))


def correction_create(*, photo: Photo, user: User, upload: UploadedFile) -> Correction:
    """Store ``user``'s corrected mask of ``photo`` with its measures, and score the models.

    ``photo`` comes from ``Photo.objects.visible_to(user)``; a user who may not correct gets the
    same 404 as for a photo they cannot see. Nothing is stored unless everything succeeds.
    """
    if not correction_allowed(user):
        raise ServiceError("Not found.", code="not_found", status=404)
    analysis = photo.latest_analysis
    if analysis is None:
        raise ServiceError(
            "This photo has not been analysed yet: there is no mask to correct.",
            code="not_analysed",
            status=409,
        )
    data = upload_read_limited(upload, settings.PHOTO_MAX_UPLOAD_BYTES)
    corrected = corrected_mask_decode(data, width=photo.width, height=photo.height)
    image = _photo_rgb(photo)

    from segmentation.severity import measure_severity, render_mask, render_overlay

    try:
        report = measure_severity(np.asarray(image), corrected, segmenter=CLINICIAN_SEGMENTER)
    except ValueError as error:
        raise ServiceError(
            f"The severity of this mask cannot be measured ({error}).",
            code="unmeasurable_mask",
            field="mask",
        ) from error
    correction = Correction(
        photo=photo,
        analysis=analysis,
        model_version=analysis.model_version,
        corrected_by=user,
        measures=report.as_dict(),
        **{m.column: getattr(report, m.key) for m in MEASURES if m.column is not None},
        grade=report.grade or "",
    )
    scores = _scores_of(photo, corrected)
    name = f"photo-{photo.pk}-correction.png"
    mask_png = mask_png_bytes(render_mask(corrected))
    correction.mask.save(name, ContentFile(mask_png), save=False)
    overlay_png = overlay_png_bytes(render_overlay(image, corrected))
    correction.overlay.save(name, ContentFile(overlay_png), save=False)
    try:
        with transaction.atomic():
            correction.save()
            for scored, agreement in scores:
                _score_save(correction, scored, agreement)
            if photo.quality_checks is not None:
                # The lesion-at-the-border check follows the mask in force.
                quality = photo_quality_with_lesion(photo.quality_checks, corrected, baseline=False)
                Photo.objects.filter(pk=photo.pk).update(**quality)
    except BaseException:
        files_delete([correction.mask, correction.overlay])
        raise
    audit_touch(patient_ids=[photo.patient_id], action=AuditEvent.Action.CREATE)
    return correction


def correction_score_new_analysis(
    *, analysis: Analysis, mask: np.ndarray
) -> CorrectionScore | None:
    """Score a new model mask against the photo's correction in force, if it has one.

    Called by the analysis service inside the transaction that stores ``analysis``: the
    clinician's mask stays in force, the model's mask is kept beside it and measured against it.
    """
    correction = (
        Correction.objects.filter(photo_id=analysis.photo_id).order_by("-created_at", "-id").first()
    )
    if correction is None:
        return None
    return _score_save(correction, analysis, mask_agreement(mask, stored_mask(correction)))


def _scores_of(photo: Photo, corrected: np.ndarray) -> list[tuple[Analysis, MaskAgreement]]:
    """Every model mask of ``photo`` against the correction (read before any write)."""
    return [
        (analysis, mask_agreement(stored_mask(analysis), corrected))
        for analysis in Analysis.objects.filter(photo=photo).order_by("created_at", "id")
        if analysis.mask
    ]


def _score_save(
    correction: Correction, analysis: Analysis, agreement: MaskAgreement
) -> CorrectionScore:
    return CorrectionScore.objects.create(
        correction=correction,
        analysis=analysis,
        model_version=analysis.model_version,
        true_positive=agreement.true_positive,
        false_positive=agreement.false_positive,
        false_negative=agreement.false_negative,
        true_negative=agreement.true_negative,
        f1=agreement.f1,
        iou=agreement.iou,
        area_difference=agreement.area_difference,
    )


def _photo_rgb(photo: Photo) -> Image.Image:
    with photo.image.open("rb") as handle, Image.open(handle) as image:
        image.load()
        return image.convert("RGB")
