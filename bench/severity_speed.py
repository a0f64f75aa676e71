"""Time measure_severity, the baseline segmenter and the overlays on a phone-sized photo.

    nice -n 10 .venv/bin/python bench/severity_speed.py --size 4032 3024 --repeat 3

Synthetic photo (skin, background, pale lesions, noise); prints the median wall time of each step
and the peak resident memory of the process. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from segmentation.severity import (
    ColourThresholdSegmenter,
    measure_severity,
    render_mask,
    render_overlay,
)


def _photo(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[:height, :width]
    image = np.empty((height, width, 3), np.float32)
    image[:] = (60, 90, 170)
    image[height // 8 : -height // 8, width // 8 : -width // 8] = (176, 122, 95)
    lesion = np.zeros((height, width), bool)
    for cy, cx, r in ((0.4, 0.4, 0.12), (0.6, 0.65, 0.08), (0.3, 0.7, 0.05)):
        lesion |= (rows - cy * height) ** 2 + (cols - cx * width) ** 2 <= (r * height) ** 2
    image[lesion] = (236, 214, 200)
    image += rng.normal(0, 4, image.shape).astype(np.float32)
    return np.clip(image, 0, 255).astype(np.uint8), lesion


def _median_time(step, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, nargs=2, default=(4032, 3024), metavar=("W", "H"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    image, lesion = _photo(*args.size)
    pil = Image.fromarray(image)
    segmenter = ColourThresholdSegmenter()
    steps = {
        "measure_severity (grey_world)": lambda: measure_severity(image, lesion),
        "measure_severity (no normalisation)": lambda: measure_severity(
            image, lesion, normalisation=None
        ),
        "ColourThresholdSegmenter.predict": lambda: segmenter.predict(pil),
        "render_overlay": lambda: render_overlay(pil, lesion),
        "render_mask": lambda: render_mask(lesion),
    }
    print(f"photo {args.size[0]} x {args.size[1]}, median of {args.repeat} runs\n")
    print("| step | seconds |\n|---|---|")
    for name, step in steps.items():
        print(f"| {name} | {_median_time(step, args.repeat):.2f} |")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak resident memory of the process: {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
