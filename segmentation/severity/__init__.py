"""Severity measures of vitiligo photos, the training-free baseline segmenter and overlays.

Pure numpy / scipy / scikit-image / Pillow: no Django and no torch imports. See docs/severity.md.
"""

from .baseline import ColourThresholdSegmenter
from .grading import DEFAULT_THRESHOLDS, PAPER_THRESHOLDS, GradeThresholds
from .measures import measure_severity
from .normalisation import ColourCardPatch, normalise_colours
from .overlay import render_mask, render_overlay
from .report import Reason, SeverityReport
from .skin import SkinRule, skin_mask

__all__ = [
    "DEFAULT_THRESHOLDS",
    "PAPER_THRESHOLDS",
    "ColourCardPatch",
    "ColourThresholdSegmenter",
    "GradeThresholds",
    "Reason",
    "SeverityReport",
    "SkinRule",
    "measure_severity",
    "normalise_colours",
    "render_mask",
    "render_overlay",
    "skin_mask",
]
