"""Registration of serial photos of one body site, and the lesion change between two of them.

Pure numpy / scikit-image / Pillow: no Django and no torch imports. See docs/alignment.md.
"""

from .align import (
    AlignmentConfig,
    AlignmentResult,
    ImageFeatures,
    align_features,
    align_images,
    image_features,
)
from .change import LesionChange, lesion_change, render_change, warp_image, warp_mask

__all__ = [
    "AlignmentConfig",
    "AlignmentResult",
    "ImageFeatures",
    "LesionChange",
    "align_features",
    "align_images",
    "image_features",
    "lesion_change",
    "render_change",
    "warp_image",
    "warp_mask",
]
