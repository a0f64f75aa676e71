"""Per-photo inference latency: the paper's DeepLabV3-ResNet101 against the recommended model.

Not a test. Both models run through ``SegmentationPredictor`` (the worker's code: stretch to the
input size, normalise, forward, resize the probabilities back) in one process, on the same
decoded photos, interleaved photo by photo so that the load of a shared machine hits every
option alike; each option's figure is the median over photos and repeats.

- ``paper``: DeepLabV3-ResNet101, fp32, 512x512, no test-time augmentation (random weights:
  they do not change the work per photo).
- ``eager``: the recommended preset's U-Net over EfficientNet-Lite0 at its inference size (224),
  with flip test-time augmentation (3 forward passes) when the checkpoint says so. With
  ``--checkpoint`` a trained checkpoint, else the ImageNet encoder with a random decoder.
- CPU options on the recommended model: ``channels_last``, ``compile`` (``torch.compile``),
  ``int8-dynamic`` (``quantize_dynamic`` on Linear/LSTM layers), ``onnxruntime``. Each option's
  masks are compared with eager's on every validation photo of ``--fold`` (Dice, pooled pixels
  and the worst photo).

Peak memory is measured in a fresh process per option that loads the model and predicts the
timed photos: its peak resident set (``VmHWM``, which exec resets; ``ru_maxrss`` would carry the
parent's peak into the child) and that peak above the process's size before the model was loaded
(torch imported, photos decoded), which is what the model itself costs; on CUDA also
``torch.cuda.max_memory_allocated``.

    .venv/bin/python bench/inference.py ../shared/data/vitiligo --checkpoint var/model.pth
    .venv/bin/python bench/inference.py --device cuda --options eager --batch-size 8   # a GPU host
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OPTIONS = ("eager", "channels_last", "compile", "int8-dynamic", "onnxruntime")


def validation_names(data: Path, fold: str) -> list[str]:
    with (data / "metadata.csv").open(newline="") as handle:
        return [row["name"] for row in csv.DictReader(handle) if row["suggested_fold"] == fold]


def load_images(data: Path, names: list[str]) -> list:
    from PIL import Image

    images = []
    for name in names:
        path = next((data / "images").glob(f"{name}.*"))
        with Image.open(path) as image:
            image.load()
            images.append(image.copy())
    return images


def random_checkpoint(
    folder: Path,
    arch: str,
    backbone: str,
    *,
    resize_size: int,
    crop_size: int,
    flip_tta: bool = False,
    pretrained: str | None = None,
) -> Path:
    """A checkpoint of an untrained (arch, backbone) as the predictor reads it: the weights do
    not change the work per photo, so latency needs no training."""
    from segmentation.core import (
        build_model,
        make_header,
        model_normalization,
        output_convention,
        save_checkpoint,
    )

    mean, std = model_normalization(arch, backbone)
    header = make_header(arch=arch, backbone=backbone, num_classes=2, resize_size=resize_size,
                         crop_size=crop_size, mean=mean, std=std,
                         output_convention=output_convention(arch, backbone),
                         flip_tta=flip_tta)  # fmt: skip
    model = build_model(arch, backbone, pretrained=pretrained)
    return save_checkpoint(folder / f"{arch}-{backbone}-{resize_size}.pth", model=model,
                           header=header)  # fmt: skip


def _paper_checkpoint(folder: Path) -> Path:
    return random_checkpoint(folder, "deeplabv3", "resnet101", resize_size=512, crop_size=512)


def _recommended_checkpoint(folder: Path) -> Path:
    from segmentation.core import preset

    config = preset("recommended")
    return random_checkpoint(
        folder,
        config["arch"],
        config["backbone"],
        resize_size=config["resize_size"],
        crop_size=config["crop_size"],
        flip_tta=config["flip_tta"],
        pretrained=config["pretrained"],
    )


def _predictor(option: str, checkpoint: Path, device: str, batch_size: int):
    """The worker's predictor; the options not adopted in it swap its runner here, bench-only."""
    import torch

    from segmentation.core import SegmentationPredictor, predict_probabilities

    backend = "onnxruntime" if option == "onnxruntime" else "eager"
    predictor = SegmentationPredictor(checkpoint, device=device, backend=backend,
                                      batch_size=batch_size)  # fmt: skip
    model, tta = predictor.model, predictor._flip_tta
    if option == "channels_last":
        model.to(memory_format=torch.channels_last)
        predictor._runner = lambda batch: predict_probabilities(
            model, batch.contiguous(memory_format=torch.channels_last), flip_tta=tta
        )
    elif option == "compile":
        compiled = torch.compile(model)
        predictor._runner = lambda batch: predict_probabilities(compiled, batch, flip_tta=tta)
    elif option == "int8-dynamic":
        quantised = torch.ao.quantization.quantize_dynamic(
            copy.deepcopy(model), {torch.nn.Linear, torch.nn.LSTM}, dtype=torch.qint8
        )
        changed = sum(
            type(module).__module__.startswith("torch.ao.nn.quantized")
            for module in quantised.modules()
        )
        print(f"int8-dynamic: {changed} layers quantised", file=sys.stderr)
        predictor._runner = lambda batch: predict_probabilities(quantised, batch, flip_tta=tta)
    return predictor


def interleaved_latency(predictors: dict, images: list, repeats: int) -> dict[object, list[float]]:
    """Seconds per ``predict`` of each predictor, photo by photo in turn, so that the load of a
    shared machine hits every predictor alike."""
    from tqdm import tqdm

    samples: dict[object, list[float]] = {key: [] for key in predictors}
    with tqdm(total=repeats * len(images) * len(predictors), desc="latency", unit="photo") as bar:
        for _ in range(repeats):
            for image in images:
                for key, predictor in predictors.items():
                    started = time.perf_counter()
                    predictor.predict(image)
                    samples[key].append(time.perf_counter() - started)
                    bar.update()
    return samples


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def _dice(a, b) -> float:
    total = int(a.sum()) + int(b.sum())
    return 1.0 if total == 0 else 2 * int((a & b).sum()) / total


def _status_mib(field: str) -> float:
    """``VmRSS`` or ``VmHWM`` of this process, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _memory(args: argparse.Namespace) -> None:
    """Child mode: load one option, predict the timed photos, print the peak memory as JSON."""
    import torch

    names = validation_names(args.data, args.fold)[: args.photos]
    images = load_images(args.data, names)
    before = _status_mib("VmRSS")
    predictor = _predictor(args.memory_of, Path(args.checkpoint), args.device, args.batch_size)
    for image in images:
        predictor.predict(image)
    predictor.predict_batch(images)
    peak = _status_mib("VmHWM")
    result = {"peak_rss_mib": peak, "model_mib": peak - before}
    if predictor.device.type == "cuda":
        result["cuda_max_allocated_mib"] = torch.cuda.max_memory_allocated() / 2**20
    print(json.dumps(result))


def _peak_memory(option: str, checkpoint: Path, args: argparse.Namespace) -> dict:
    command = [sys.executable, __file__, str(args.data), "--memory-of", option, "--checkpoint",
               str(checkpoint), "--device", args.device, "--fold", args.fold,
               "--photos", str(args.photos), "--batch-size", str(args.batch_size)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", nargs="?", type=Path, default=ROOT.parent / "shared/data/vitiligo")
    parser.add_argument("--checkpoint", help="a trained recommended checkpoint (else random "
                        "decoder over the ImageNet encoder)")  # fmt: skip
    parser.add_argument("--fold", default="0", help="suggested_fold of the validation photos")
    parser.add_argument("--photos", type=int, default=6, help="photos timed (the first N)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--options", default=",".join(OPTIONS),
                        help=f"recommended-model options, from {', '.join(OPTIONS)}")  # fmt: skip
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=1,
                        help="> 1 adds a batched throughput row per model")  # fmt: skip
    parser.add_argument("--no-memory", action="store_true", help="skip the fresh-process peaks")
    parser.add_argument("--memory-of", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_of:
        return _memory(args)

    import torch
    from tqdm import tqdm

    options = [o for o in args.options.split(",") if o]
    if "eager" not in options or any(o not in OPTIONS for o in options):
        parser.error(f"--options must include eager and come from {', '.join(OPTIONS)}")
    names = validation_names(args.data, args.fold)
    if not names:
        parser.error(f"no photo of fold {args.fold} in {args.data / 'metadata.csv'}")
    images = load_images(args.data, names)
    timed = images[: args.photos]

    with tempfile.TemporaryDirectory(prefix="bench-inference-") as tmp:
        folder = Path(tmp)
        paper_path = _paper_checkpoint(folder)
        ours = Path(args.checkpoint) if args.checkpoint else _recommended_checkpoint(folder)
        predictors = {"paper": _predictor("eager", paper_path, args.device, args.batch_size)}
        for option in options:
            started = time.perf_counter()
            predictors[option] = _predictor(option, ours, args.device, args.batch_size)
            predictors[option].predict(timed[0])  # warm-up (and compilation)
            print(f"{option}: ready in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        predictors["paper"].predict(timed[0])

        samples = interleaved_latency(predictors, timed, args.repeats)

        batched = {}
        if args.batch_size > 1:
            for name in ("paper", "eager"):
                predictors[name].predict_batch(timed[: args.batch_size])  # warm-up at this shape
                started = time.perf_counter()
                for _ in range(args.repeats):
                    predictors[name].predict_batch(timed)
                elapsed = time.perf_counter() - started
                batched[name] = args.repeats * len(timed) / elapsed

        reference = [p.mask for p in tqdm(predictors["eager"].predict_batch(images),
                                          desc="eager masks", total=1)]  # fmt: skip
        agreement = {}
        for option in options:
            masks = [p.mask for p in predictors[option].predict_batch(images)]
            per_photo = [_dice(a, b) for a, b in zip(masks, reference, strict=True)]
            inter = sum(int((a & b).sum()) for a, b in zip(masks, reference, strict=True))
            total = sum(int(a.sum()) + int(b.sum()) for a, b in zip(masks, reference, strict=True))
            agreement[option] = (2 * inter / total if total else 1.0, min(per_photo))

        memory = {}
        if not args.no_memory:
            for name in tqdm(["paper", *options], desc="peak memory (fresh processes)"):
                option, path = ("eager", paper_path) if name == "paper" else (name, ours)
                memory[name] = _peak_memory(option, path, args)

    paper_ms = _median_ms(samples["paper"])
    eager_ms = _median_ms(samples["eager"])
    label = "trained checkpoint" if args.checkpoint else "ImageNet encoder, random decoder"
    print(f"\n{len(timed)} photos x {args.repeats} repeats, device {args.device}, torch "
          f"{torch.__version__}, {torch.get_num_threads()} threads; recommended model: {label}; "
          f"agreement on the {len(images)} photos of fold {args.fold}")  # fmt: skip
    print(
        "| model / option | input | ms / photo (median) | vs paper | vs eager | "
        "Dice vs eager (pooled / worst photo) | peak RSS (MiB) | of which model (MiB) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name in ["paper", *options]:
        ms = _median_ms(samples[name])
        size = predictors[name].size
        passes = 3 if predictors[name]._flip_tta else 1
        dice = "-" if name == "paper" else "{:.4f} / {:.4f}".format(*agreement[name])
        rss = memory.get(name, {}).get("peak_rss_mib", float("nan"))
        own = memory.get(name, {}).get("model_mib", float("nan"))
        print(f"| {name} | {size}px x{passes} | {ms:.1f} | {paper_ms / ms:.1f}x | "
              f"{eager_ms / ms:.2f}x | {dice} | {rss:.0f} | {own:.0f} |")  # fmt: skip
    for name, rate in batched.items():
        print(f"batched {args.batch_size}: {name} {rate:.2f} photos/s")
    if any("cuda_max_allocated_mib" in m for m in memory.values()):
        for name, m in memory.items():
            print(f"{name}: CUDA max allocated {m['cuda_max_allocated_mib']:.0f} MiB")
    print(f"\npaper / recommended (eager) latency: {paper_ms / eager_ms:.1f}x (goal >= 10x)")
    for option in (o for o in options if o != "eager"):
        speed = eager_ms / _median_ms(samples[option])
        passed = speed >= 1.5 and agreement[option][0] >= 0.99
        print(
            f"{option}: {speed:.2f}x eager, Dice {agreement[option][0]:.4f} -> "
            f"{'adoptable' if passed else 'not adopted'} (needs >= 1.5x and Dice >= 0.99)"
        )


if __name__ == "__main__":
    main()
