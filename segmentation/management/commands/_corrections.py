"""``evaluate_model --corrections``: a model version's masks against the clinic's corrections.

The figures are the diary's selector's (``diary.selectors.accuracy.model_accuracy``), the same as
the admin's accuracy page shows, over every patient. This is the one place the segmentation app
reads the diary: the corrections are the diary's rows, and the command is where staff score
models (imported inside the function, so loading the command for its other modes reads nothing
of the diary).
"""

from __future__ import annotations

import json
from typing import TextIO

from django.core.management.base import CommandError

#: Columns of the figures table: (heading, AccuracyFigures field, format).
FIGURE_COLUMNS = [
    ("photos", "photos", "{}"),
    ("pooled F1", "pooled_f1", "{:.4f}"),
    ("pooled IoU", "pooled_iou", "{:.4f}"),
    ("mean F1", "mean_f1", "{:.4f}"),
    ("median F1", "median_f1", "{:.4f}"),
    ("mean IoU", "mean_iou", "{:.4f}"),
    ("median IoU", "median_iou", "{:.4f}"),
    ("mean area diff", "mean_area_difference", "{:+.4f}"),
    ("mean abs area diff", "mean_absolute_area_difference", "{:.4f}"),
]


def corrections_report(stdout: TextIO, options: dict) -> None:
    """Print the accuracy of the chosen version (``--model-version``, ``--model``, ``--baseline``,
    else the version analysing photos now) as tables, or as JSON with ``--json``."""
    from diary.selectors.accuracy import model_accuracy

    accuracy = model_accuracy(model_version=_version(options), user=None)
    if options["json"]:
        stdout.write(json.dumps(accuracy.as_dict(), indent=2))
        return
    overall = accuracy.overall
    stdout.write(
        f"{accuracy.model_version} against clinicians' corrections "
        f"({overall.photos} corrected photos)"
    )
    stdout.write("| region | " + " | ".join(h for h, _, _ in FIGURE_COLUMNS) + " |")
    stdout.write("|---" * (len(FIGURE_COLUMNS) + 1) + "|")
    stdout.write(_figures_row("all", overall))
    for region in accuracy.by_region:
        stdout.write(_figures_row(region.region, region.figures))
    if not accuracy.worst:
        return
    stdout.write("")
    stdout.write("Worst photos, lowest F1 first:")
    stdout.write("| photo | patient | region | body site | F1 | IoU | area diff |")
    stdout.write("|---|---|---|---|---|---|---|")
    for score in accuracy.worst:
        stdout.write(
            f"| {score.photo_id} | {score.patient} | {score.region} | {score.body_site} "
            f"| {score.f1:.4f} | {score.iou:.4f} | {score.area_difference:+.4f} |"
        )


def _figures_row(name: str, figures) -> str:
    cells = []
    for _, field, fmt in FIGURE_COLUMNS:
        value = getattr(figures, field)
        cells.append("-" if value is None else fmt.format(value))
    return f"| {name} | " + " | ".join(cells) + " |"


def _version(options: dict) -> str:
    from diary.versions import active_version_label, version_label_of
    from segmentation.models import SegmentationModel

    if options["model_version"] is not None:
        return options["model_version"]
    if options["baseline"]:
        return version_label_of(None)
    if options["model"] is not None:
        model = SegmentationModel.objects.filter(name=options["model"]).first()
        if model is None:
            raise CommandError(f"no registered model named {options['model']!r}")
        return model.version_label
    return active_version_label()
