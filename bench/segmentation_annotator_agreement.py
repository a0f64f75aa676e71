"""The label-noise ceiling: second annotations (``masks_alt/``) scored against the primary masks
with the same metric code as the models, so docs/results.md compares like with like.

    .venv/bin/python bench/segmentation_annotator_agreement.py ../shared/data/vitiligo
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

# Run as a script from anywhere: the project root holds the `segmentation` package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from segmentation.core.metrics import confusion_counts, reduce_micro, reduce_per_image

logger = logging.getLogger(__name__)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    second, primary = [], []
    for alt in sorted((args.data / "masks_alt").glob("*__alt*.png")):
        original = args.data / "masks" / f"{alt.stem.split('__alt')[0]}.png"
        second.append(torch.from_numpy(np.asarray(Image.open(alt).convert("L")) > 127))
        primary.append(torch.from_numpy(np.asarray(Image.open(original).convert("L")) > 127))
    if not second:
        raise SystemExit(f"no second annotations in {args.data / 'masks_alt'}")
    counts = confusion_counts(torch.stack(second).long(), torch.stack(primary).long())
    micro, per_image = reduce_micro(counts), reduce_per_image(counts)
    logger.info("pairs: %d", len(second))
    logger.info("micro     F1 %.4f IoU %.4f", micro["f1"], micro["iou"])
    logger.info("per image F1 %.4f IoU %.4f", per_image["f1"], per_image["iou"])


if __name__ == "__main__":
    main()
