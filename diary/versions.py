"""Which model version's analyses count: the one rule, for the worker and for every reader.

Analyses are labelled with the version of what segmented the photo: the active model's
``version_label``, or the colour baseline's while no model is active. The worker labels new
analyses with it (``diary/segmenter_cache.py``) and readers pick the analyses of a series by it;
analyses by older models are kept but never mixed into a series, since two models measure the
same photo differently. Nothing here loads a model or torch.
"""

from __future__ import annotations

from segmentation.models import SegmentationModel
from segmentation.selectors import active_model_get

__all__ = ["active_version_label", "version_label_of"]


def version_label_of(model: SegmentationModel | None) -> str:
    """The label of the analyses made with ``model`` (``None``: the colour baseline)."""
    if model is not None:
        return model.version_label
    # Imported here: the baseline's module loads scikit-image, which the web process rarely needs.
    from segmentation.severity.baseline import BASELINE_VERSION_LABEL

    return BASELINE_VERSION_LABEL


def active_version_label() -> str:
    """The label analyses get now, without loading anything (for the web and light workers)."""
    return version_label_of(active_model_get())
