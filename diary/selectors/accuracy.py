"""How accurate a model is on the clinic's own patients: its masks against clinicians' corrections.

The one rule (docs/corrections.md, "The model's accuracy in the clinic"): a photo counts for a
model version when it has a correction in force (its newest ``Correction``) and an analysis by
that version (a version analyses a photo once: ``analysis_photo_version_unique``); its score is
that analysis's ``CorrectionScore`` against the correction in force. Older corrections of a photo
are history and never count, so a photo corrected twice counts once.

Pooled figures sum the pixel counts of every photo first (micro F1 / IoU: large lesions weigh
more); per-photo figures average each photo's own F1 / IoU (every photo weighs the same). The
admin page (diary/admin/accuracy.py) and ``manage.py evaluate_model --corrections`` both print
:func:`model_accuracy`'s figures, nothing else.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass

from django.db.models import OuterRef, QuerySet, Subquery

from segmentation.severity.agreement import MaskAgreement, pooled_agreement

from ..models import BodySite, Correction, CorrectionScore, Photo

#: How many of the worst photos the page and the command list.
WORST_PHOTOS = 10


@dataclass(frozen=True)
class PhotoScore:
    """One corrected photo's score: the model's mask against the correction in force."""

    photo_id: int
    patient_id: int
    patient: str
    region: str
    body_site: str
    correction_id: int
    analysis_id: int
    f1: float
    iou: float
    area_difference: float
    agreement: MaskAgreement


@dataclass(frozen=True)
class AccuracyFigures:
    """The figures of a set of corrected photos; F1 / IoU / areas are None without photos."""

    photos: int
    pooled_f1: float | None
    pooled_iou: float | None
    mean_f1: float | None
    median_f1: float | None
    mean_iou: float | None
    median_iou: float | None
    # The model's lesion share of the photo minus the clinician's (0-1): the mean says whether
    # the model over- or under-draws, the absolute mean how far off it is either way.
    mean_area_difference: float | None
    mean_absolute_area_difference: float | None
    true_positive: int
    false_positive: int
    false_negative: int
    true_negative: int


@dataclass(frozen=True)
class RegionAccuracy:
    region: str
    label: str
    figures: AccuracyFigures


@dataclass(frozen=True)
class ModelAccuracy:
    model_version: str
    overall: AccuracyFigures
    by_region: list[RegionAccuracy]
    worst: list[PhotoScore]

    def as_dict(self) -> dict:
        """Plain JSON-able figures (the command's ``--json``), without the mask counts per photo."""
        return {
            "model_version": self.model_version,
            "overall": asdict(self.overall),
            "by_region": [
                {"region": r.region, "label": r.label, **asdict(r.figures)} for r in self.by_region
            ],
            "worst": [
                {k: v for k, v in asdict(score).items() if k != "agreement"} for score in self.worst
            ],
        }


def photo_scores(*, model_version: str, user=None) -> list[PhotoScore]:
    """One score per corrected photo analysed by ``model_version`` (the rule in the module's
    docstring), ordered by photo id; ``user`` narrows to the patients they may see (None: all)."""
    rows = (
        _scores_in_force(user)
        .filter(model_version=model_version)
        .select_related("correction__photo__body_site", "correction__photo__patient__user")
        .order_by("correction__photo_id")
    )
    return [_photo_score(score) for score in rows]


def _photo_score(score: CorrectionScore) -> PhotoScore:
    photo = score.correction.photo
    return PhotoScore(
        photo_id=photo.pk,
        patient_id=photo.patient_id,
        patient=str(photo.patient),
        region=photo.body_site.region,
        body_site=str(photo.body_site),
        correction_id=score.correction_id,
        analysis_id=score.analysis_id,
        f1=score.f1,
        iou=score.iou,
        area_difference=score.area_difference,
        agreement=MaskAgreement(
            score.true_positive, score.false_positive, score.false_negative, score.true_negative
        ),
    )


def accuracy_figures(scores: list[PhotoScore]) -> AccuracyFigures:
    """Pooled (summed counts) and per-photo (mean, median) figures of ``scores``."""
    pooled = pooled_agreement(score.agreement for score in scores)
    counts = {
        "true_positive": pooled.true_positive,
        "false_positive": pooled.false_positive,
        "false_negative": pooled.false_negative,
        "true_negative": pooled.true_negative,
    }
    if not scores:
        empty = dict.fromkeys(
            (
                "pooled_f1",
                "pooled_iou",
                "mean_f1",
                "median_f1",
                "mean_iou",
                "median_iou",
                "mean_area_difference",
                "mean_absolute_area_difference",
            )
        )
        return AccuracyFigures(photos=0, **empty, **counts)
    f1s = [score.f1 for score in scores]
    ious = [score.iou for score in scores]
    areas = [score.area_difference for score in scores]
    return AccuracyFigures(
        photos=len(scores),
        pooled_f1=pooled.f1,
        pooled_iou=pooled.iou,
        mean_f1=statistics.fmean(f1s),
        median_f1=statistics.median(f1s),
        mean_iou=statistics.fmean(ious),
        median_iou=statistics.median(ious),
        mean_area_difference=statistics.fmean(areas),
        mean_absolute_area_difference=statistics.fmean(abs(a) for a in areas),
        **counts,
    )


def model_accuracy(*, model_version: str, user=None, worst: int = WORST_PHOTOS) -> ModelAccuracy:
    """``model_version``'s figures on the corrected photos ``user`` may see (None: every
    patient's, for the command): overall, per body region (in the regions' order), and the
    ``worst`` photos by F1 (lowest first; ties by IoU, then photo id)."""
    scores = photo_scores(model_version=model_version, user=user)
    labels = dict(BodySite.Region.choices)
    by_region = [
        RegionAccuracy(region, labels[region], accuracy_figures(in_region))
        for region in labels
        if (in_region := [s for s in scores if s.region == region])
    ]
    ranked = sorted(scores, key=lambda s: (s.f1, s.iou, s.photo_id))
    return ModelAccuracy(model_version, accuracy_figures(scores), by_region, ranked[:worst])


def scored_model_versions(*, user=None) -> list[str]:
    """Every model version with a score against a correction in force of a photo ``user`` may
    see (None: any), sorted: the versions :func:`model_accuracy` has figures for."""
    versions = _scores_in_force(user).values_list("model_version", flat=True)
    return sorted(set(versions))


def _scores_in_force(user) -> QuerySet[CorrectionScore]:
    """Scores against the newest correction of their photo, of the patients ``user`` may see."""
    newest_correction = Subquery(
        Correction.objects.filter(photo_id=OuterRef("correction__photo_id"))
        .order_by("-created_at", "-id")
        .values("id")[:1]
    )
    scores = CorrectionScore.objects.filter(correction_id=newest_correction)
    if user is not None:
        scores = scores.filter(correction__photo__in=Photo.objects.visible_to(user))
    return scores
