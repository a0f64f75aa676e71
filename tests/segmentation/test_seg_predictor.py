"""The predictor honours the Segmenter protocol for any size and orientation."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segmentation.core import SegmentationFolder, SegmentationPredictor, evaluate_segmenter
from segmentation.segmenter import Prediction, Segmenter

REPO = Path(__file__).resolve().parents[2]


def test_core_imports_nothing_from_django():
    code = (
        "import sys, segmentation.core, segmentation.core.predictor, segmentation.core.compare\n"
        "leaked = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        "print(','.join(leaked))\n"
    )
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO, check=True
    )
    assert done.stdout.strip() == "", f"segmentation.core pulled in {done.stdout.strip()}"


def test_predictor_is_a_segmenter_with_a_checkpoint_label(trained_checkpoint):
    predictor = SegmentationPredictor(trained_checkpoint, device="cpu")
    assert isinstance(predictor, Segmenter)
    sha = hashlib.sha256(trained_checkpoint.read_bytes()).hexdigest()
    assert predictor.version_label == f"model:lraspp-mobilenet_v3_large:{sha[:8]}"
    labelled = SegmentationPredictor(trained_checkpoint, version_label="model:x:1234")
    assert labelled.version_label == "model:x:1234"


@pytest.mark.parametrize("size", [(64, 64), (97, 41), (33, 120)])
def test_prediction_matches_the_image_size(trained_checkpoint, size):
    predictor = SegmentationPredictor(trained_checkpoint, device="cpu", threshold=0.3)
    prediction = predictor.predict(Image.new("RGB", size, (190, 130, 100)))
    assert isinstance(prediction, Prediction)
    assert prediction.probabilities.shape == (size[1], size[0])
    assert prediction.probabilities.dtype == np.float32
    assert prediction.mask.dtype == bool
    assert 0.0 <= prediction.probabilities.min() <= prediction.probabilities.max() <= 1.0
    assert np.array_equal(prediction.mask, prediction.probabilities >= 0.3)
    assert prediction.threshold == 0.3


def test_exif_orientation_is_applied(trained_checkpoint):
    predictor = SegmentationPredictor(trained_checkpoint, device="cpu")
    rng = np.random.default_rng(0)
    upright = Image.fromarray(rng.integers(0, 255, (30, 50, 3), dtype=np.uint8))
    # Stored sideways with orientation 6 ("rotate 90 degrees clockwise to display").
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    exif = stored.getexif()
    exif[0x0112] = 6
    stored.info["exif"] = exif.tobytes()
    reloaded_path = trained_checkpoint.parent / "sideways.jpg"
    stored.save(reloaded_path, exif=exif.tobytes(), quality=100)
    with Image.open(reloaded_path) as image:
        prediction = predictor.predict(image)
    assert prediction.probabilities.shape == (30, 50)


def test_batch_equals_single_predictions(trained_checkpoint):
    predictor = SegmentationPredictor(trained_checkpoint, device="cpu", batch_size=2)
    rng = np.random.default_rng(1)
    images = [
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8))
        for h, w in [(40, 40), (50, 30), (64, 80)]
    ]
    batch = predictor.predict_batch(images)
    for image, prediction in zip(images, batch, strict=True):
        single = predictor.predict(image)
        np.testing.assert_allclose(prediction.probabilities, single.probabilities, atol=1e-5)


def test_evaluate_segmenter_scores_at_mask_resolution(trained_checkpoint, dataset_dir):
    dataset = SegmentationFolder(dataset_dir, names=["img_000", "img_001"])
    # The folder caches decoded pairs, so an oracle can find each image's mask by identity.
    masks = {id(image): np.asarray(mask) > 127 for image, mask in map(dataset.load, range(2))}

    class Oracle:
        version_label = "test:oracle"

        def predict_batch(self, images):
            return [Prediction(masks[id(i)].astype(np.float32), masks[id(i)], 0.5) for i in images]

    summary = evaluate_segmenter(Oracle(), dataset).summary(0.5)
    assert summary["micro"]["f1"] == 1.0 and summary["per_image"]["iou"] == 1.0

    trained = evaluate_segmenter(SegmentationPredictor(trained_checkpoint), dataset).summary(0.5)
    assert trained["images"] == 2 and 0.0 <= trained["micro"]["f1"] <= 1.0


def test_several_sizes_average_the_probabilities_of_each(trained_checkpoint):
    # Multi-scale test-time augmentation: the mean of the predictions at each size, each brought
    # back to the photo's size; one size equal to the checkpoint's is today's predictor exactly.
    rng = np.random.default_rng(2)
    photo = Image.fromarray(rng.integers(0, 255, (50, 70, 3), dtype=np.uint8))
    today = SegmentationPredictor(trained_checkpoint, device="cpu")
    own = SegmentationPredictor(trained_checkpoint, device="cpu", sizes=(today.size,))
    assert today.sizes == (today.size,)
    np.testing.assert_array_equal(
        own.predict(photo).probabilities, today.predict(photo).probabilities
    )
    small, large = (
        SegmentationPredictor(trained_checkpoint, device="cpu", sizes=(size,)).predict(photo)
        for size in (64, 128)
    )
    assert not np.allclose(small.probabilities, large.probabilities, atol=1e-3)
    both = SegmentationPredictor(trained_checkpoint, device="cpu", sizes=(64, 128), threshold=0.4)
    prediction = both.predict(photo)
    expected = (small.probabilities + large.probabilities) / 2
    np.testing.assert_allclose(prediction.probabilities, expected, atol=1e-6)
    assert prediction.probabilities.shape == (50, 70)
    assert np.array_equal(prediction.mask, prediction.probabilities >= 0.4)


def test_other_sizes_are_refused_by_a_fixed_size_backend(trained_checkpoint):
    with pytest.raises(ValueError, match="predicts at 72 px only"):
        SegmentationPredictor(trained_checkpoint, backend="onnxruntime", sizes=(64, 128))
