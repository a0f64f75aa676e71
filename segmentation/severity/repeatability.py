"""How much a severity measure moves when nothing about the skin changed: the minimal
detectable change (MDC) of a segmenter.

The vitiligo data set holds augmented copies of each photo (rotations, flips, pasted patches,
grouped by ``source_group``). Measured on each copy with a segmenter's own masks, a measure should
not move; its pooled within-photo SD is the standard error of measurement (SEM), and
MDC95 = 1.96 x sqrt(2) x SEM is the smallest change between two photos that exceeds that noise
with 95 % confidence (docs/progression.md). A better segmenter gives smaller MDCs, so trends are
judged against the MDC of the model that measured them.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from segmentation.segmenter import Segmenter

from .catalog import MEASURES
from .measures import measure_severity

__all__ = ["MDC_MEASURES", "minimal_detectable_change", "pooled_within_sd", "segmenter_mdc"]

#: The measures trends are judged on (the stored analysis keys).
MDC_MEASURES = tuple(m.key for m in MEASURES if m.repeatability)
MDC95_FACTOR = 1.96 * math.sqrt(2)


def pooled_within_sd(values: Sequence[float | None], groups: Sequence[str]) -> tuple[float, int]:
    """Pooled within-group SD over groups with at least two defined values, and their count."""
    by_group: dict[str, list[float]] = defaultdict(list)
    for value, group in zip(values, groups, strict=True):
        if value is not None and math.isfinite(value):
            by_group[group].append(float(value))
    samples = [np.array(v) for v in by_group.values() if len(v) >= 2]
    if not samples:
        return float("nan"), 0
    squares = sum(((s - s.mean()) ** 2).sum() for s in samples)
    degrees = sum(len(s) - 1 for s in samples)
    return float(np.sqrt(squares / degrees)), len(samples)


def minimal_detectable_change(
    rows: Iterable[dict[str, float | None]], groups: Sequence[str], measures: Sequence[str]
) -> dict[str, float]:
    """MDC95 per measure from one dict of measures per photo copy."""
    rows = list(rows)
    out = {}
    for measure in measures:
        sd, n_groups = pooled_within_sd([row.get(measure) for row in rows], groups)
        if n_groups >= 3:  # fewer photos with copies say nothing about the noise
            out[measure] = round(MDC95_FACTOR * sd, 4)
    return out


def segmenter_mdc(
    segmenter: Segmenter,
    data_root: Path | str,
    *,
    names: Sequence[str] | None = None,
    measures: Sequence[str] = MDC_MEASURES,
    group_column: str = "source_group",
    progress: bool = True,
) -> dict[str, float]:
    """MDC95 of each measure, measured with ``segmenter``'s masks on the augmented copies in
    ``data_root`` (``metadata.csv`` names each image's ``group_column``)."""
    data_root = Path(data_root)
    with (data_root / "metadata.csv").open(newline="") as handle:
        metadata = {row["name"]: row for row in csv.DictReader(handle)}
    chosen = sorted(metadata) if names is None else list(names)
    if not chosen or group_column not in metadata[chosen[0]]:
        raise ValueError(f"{data_root}/metadata.csv needs a {group_column!r} column")
    rows, groups = [], []
    for name in tqdm(chosen, desc="minimal detectable change", unit="img", disable=not progress):
        path = next((data_root / "images").glob(f"{name}.*"))
        with Image.open(path) as opened:
            image = opened.convert("RGB")
        mask = segmenter.predict(image).mask
        report = measure_severity(np.asarray(image), mask).as_dict()
        rows.append({key: report.get(key) for key in measures})
        groups.append(metadata[name][group_column])
    return minimal_detectable_change(rows, groups, measures)
