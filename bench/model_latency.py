"""CPU milliseconds per photo of every model in the tables of ``docs/results.md``, at the size and
with the test-time augmentation its recipe predicts with, against the recommended model measured
in the same run.

Not a test. Each model runs through ``SegmentationPredictor`` (the worker's code) with untrained
weights (they do not change the work per photo) on the same decoded validation photos,
interleaved photo by photo so that a shared machine's load hits every model alike; the figure is
the median over photos and repeats. One thread by default: a CPU host scales out with one worker
process per core.

- smp decoders (U-Net, U-Net++, FPN, DeepLabV3+) over EfficientNet-Lite0/1/2 at the recommended
  preset's inference size (224) with flip TTA (3 forward passes), as the encoder grid trained them;
- the paper's torchvision models at its recipe's inference size (312), one pass.

    .venv/bin/python bench/model_latency.py ../shared/data/vitiligo --photos 4 --repeats 2
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from cv_grid import LITE, PAPER_MODELS, SMP_ARCHS  # noqa: E402
from inference import (  # noqa: E402
    interleaved_latency,
    load_images,
    random_checkpoint,
    validation_names,
)


def _models(config: dict, size: int | None = None) -> list[tuple[str, str, int, bool]]:
    """(arch, backbone, input size, flip TTA), the recommended model first at its own size; the
    other smp models at ``size`` (default: the recommended model's)."""
    from segmentation.core import TrainConfig

    tta = config["flip_tta"]
    size = size or config["resize_size"]
    paper_size = TrainConfig.resize_size  # the paper's recipe is TrainConfig's defaults
    ours = [(arch, backbone, size, tta) for backbone in LITE for arch in SMP_ARCHS]
    first = (config["arch"], config["backbone"], config["resize_size"], tta)
    if first in ours:
        ours.remove(first)
    return [first, *ours, *((arch, backbone, paper_size, False) for arch, backbone in PAPER_MODELS)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default_data = BENCH.parents[1] / "shared/data/vitiligo"
    parser.add_argument("data", nargs="?", type=Path, default=default_data)
    parser.add_argument("--fold", default="0", help="suggested_fold of the photos timed")
    parser.add_argument("--photos", type=int, default=4, help="photos timed (the first N)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--only", help="comma-separated arch-backbone names (default: all)")
    parser.add_argument(
        "--size", type=int, help="input size of the other smp models (default: the preset's; "
        "the recipes trained at 320 -> 256 predict at 320)"
    )  # fmt: skip
    args = parser.parse_args()

    import torch
    from tqdm import tqdm

    from segmentation.core import SegmentationPredictor, count_parameters, preset

    torch.set_num_threads(args.threads)
    images = load_images(args.data, validation_names(args.data, args.fold)[: args.photos])
    if not images:
        parser.error(f"no photo of fold {args.fold} in {args.data / 'metadata.csv'}")
    models = _models(preset("recommended"), args.size)
    if args.only:
        wanted = set(args.only.split(","))
        models = [models[0], *(m for m in models[1:] if f"{m[0]}-{m[1]}" in wanted)]

    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        predictors = {}
        for arch, backbone, size, tta in tqdm(models, desc="building"):
            path = random_checkpoint(Path(tmp), arch, backbone, resize_size=size,
                                     crop_size=size, flip_tta=tta)  # fmt: skip
            predictor = SegmentationPredictor(path, device="cpu")
            predictor.predict(images[0])  # warm-up
            predictors[arch, backbone, size, tta] = predictor
        samples = interleaved_latency(predictors, images, args.repeats)

    baseline = statistics.median(samples[models[0]])
    print(
        f"\n{len(images)} photos x {args.repeats} repeats, CPU, {args.threads} thread(s), "
        f"torch {torch.__version__}; ratio = this model's ms / the recommended model's"
    )
    print("| model | params (M) | input | ms / photo (median) | vs recommended |")
    print("|---|---|---|---|---|")
    for key, predictor in predictors.items():
        arch, backbone, size, tta = key
        ms = statistics.median(samples[key]) * 1000
        params = count_parameters(predictor.model) / 1e6
        print(f"| {arch} / {backbone} | {params:.2f} | {size} px x{3 if tta else 1} | {ms:.1f} | "
              f"{ms / (baseline * 1000):.2f}x |")  # fmt: skip


if __name__ == "__main__":
    main()
