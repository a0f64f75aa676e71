"""What converting a photo once saves the worker: the predictor's preparation and the overlay.

Not a test. Times, on the same photos in one process, the worker's path before issue 24 (the
predictor copied the decoded photo through ``exif_transpose`` and ``convert``; the severity
measures and the overlay each converted the PIL image to an array) against the current one (an
upright RGB photo is used as is; one array serves both), and prints the ratio:

    .venv/bin/python bench/decode_once.py ../shared/data/vitiligo/images --photos 10 \\
        --sizes 640x480,4000x3000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from segmentation.severity import render_overlay

INPUT = (224, 224)  # the recommended model's input


def before(photo: Image.Image, mask: np.ndarray) -> None:
    ImageOps.exif_transpose(photo).convert("RGB").resize(INPUT, Image.Resampling.BILINEAR)
    np.asarray(photo)  # the severity measures' array
    render_overlay(photo, mask)  # converts the photo again


def after(photo: Image.Image, mask: np.ndarray) -> None:
    upright = photo if photo.getexif().get(0x0112, 1) == 1 else ImageOps.exif_transpose(photo)
    upright.resize(INPUT, Image.Resampling.BILINEAR)
    render_overlay(photo, mask, pixels=np.asarray(photo))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("images", type=Path, help="a folder of JPEG photos")
    parser.add_argument("--photos", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", default="640x480,4000x3000")
    args = parser.parse_args()
    paths = sorted(args.images.glob("*.jp*g"))[: args.photos]
    for size in [tuple(map(int, s.split("x"))) for s in args.sizes.split(",")]:
        timings: dict[str, list[float]] = {"before": [], "after": []}
        for path in paths:
            with Image.open(path) as image:
                photo = image.convert("RGB").resize(size)
            mask = np.zeros((size[1], size[0]), dtype=bool)
            mask[size[1] // 4 : size[1] // 2, size[0] // 4 : size[0] // 2] = True
            for _ in range(args.repeats):
                for name, variant in (("before", before), ("after", after)):
                    started = time.perf_counter()
                    variant(photo, mask)
                    timings[name].append((time.perf_counter() - started) * 1000)
        old, new = (statistics.median(timings[k]) for k in ("before", "after"))
        count = len(timings["after"])
        print(f"{size[0]}x{size[1]}: before {old:.1f} ms, after {new:.1f} ms (median of {count}),"
              f" {old / new:.2f}x, {old - new:.1f} ms saved per photo")  # fmt: skip


if __name__ == "__main__":
    main()
