"""The management commands: thin adapters from options to the core and the registry."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from segmentation.models import SegmentationModel
from segmentation.selectors import active_model_get

TINY = ["--epochs", "1", "--batch-size", "2", "--image-size", "32", "--no-progress"]


def _run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_train_model_registers_and_activates(dataset_dir, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    output = _run(
        "train_model", "--data", str(dataset_dir), "--arch", "lraspp",
        "--backbone", "mobilenet_v3_large", "--val-folds", "1", "--name", "tiny", "--activate",
        *TINY,
    )  # fmt: skip
    assert "registered tiny (active)" in output
    model = SegmentationModel.objects.get(name="tiny")
    assert active_model_get() == model
    assert (model.architecture, model.backbone) == ("lraspp", "mobilenet_v3_large")
    assert 0.0 <= model.metrics["val"]["micro"]["f1"] <= 1.0
    assert "validated on 4" in model.training_data

    report = json.loads(_run("evaluate_model", "--data", str(dataset_dir), "--json"))
    assert report["model"] == model.version_label
    assert report["images"] == 12

    text = _run("evaluate_model", "--data", str(dataset_dir), "--model", "tiny", "--folds", "1",
                "--sweep")  # fmt: skip
    assert "(4 images)" in text and "| 0.95 | per_image |" in text


def test_train_model_without_registering(dataset_dir, tmp_path):
    checkpoint = tmp_path / "m.pth"
    output = _run(
        "train_model", "--data", str(dataset_dir), "--arch", "unet",
        "--backbone", "mobilenet_v3_large", "--val-folds", "none", "--output", str(checkpoint),
        "--no-register", *TINY,
    )  # fmt: skip
    assert checkpoint.is_file() and "registered" not in output
    report = json.loads(
        _run(
            "evaluate_model", "--data", str(dataset_dir), "--checkpoint", str(checkpoint), "--json"
        )
    )
    assert report["model"].startswith("model:unet-mobilenet_v3_large:")


def test_compare_models_prints_a_table(dataset_dir, tmp_path):
    out_dir = tmp_path / "cmp"
    table = _run(
        "compare_models", "--data", str(dataset_dir), "--archs", "lraspp-mobilenet_v3_large",
        "--folds", "0,2", "--output-dir", str(out_dir), "--baseline", *TINY,
    )  # fmt: skip
    lines = table.strip().splitlines()
    assert lines[0].startswith("| model | folds | F1 micro")
    assert lines[2].startswith("| colour threshold (no training) | 2 | ")
    assert lines[2].endswith("| - |")  # no epochs: no last-epoch score
    assert lines[3].startswith("| lraspp-mobilenet_v3_large | 2 | ")
    assert (out_dir / "table.md").read_text().strip() == table.strip()
    results = json.loads((out_dir / "results.json").read_text())
    assert [r["name"] for r in results] == [
        "colour threshold (no training)",
        "lraspp-mobilenet_v3_large",
    ]
    assert [f["fold"] for f in results[1]["folds"]] == ["0", "2"]
    assert results[1]["parameters"] > 0 and results[0]["parameters"] is None
    # One epoch: the final epoch is the best one, so both scores are the same measurement.
    for fold in results[1]["folds"]:
        assert fold["last_epoch_val"]["epoch"] == 1 == fold["best_epoch"]
    last_column = lines[3].rstrip(" |").rsplit("|", 1)[1].strip()
    best_column = lines[3].split("|")[3].strip()
    assert last_column.split(" ± ")[0] != "-" and best_column != "-"


def test_evaluate_model_lists_every_image_worst_first(dataset_dir, trained_checkpoint):
    report = json.loads(
        _run("evaluate_model", "--data", str(dataset_dir), "--checkpoint", str(trained_checkpoint),
             "--folds", "0", "--per-image", "--json")
    )  # fmt: skip
    rows = report["per_image"]
    assert sorted(row["name"] for row in rows) == ["img_000", "img_001", "img_006", "img_007"]
    assert [row["f1"] for row in rows] == sorted(row["f1"] for row in rows)
    mean_f1 = sum(row["f1"] for row in rows) / len(rows)
    assert mean_f1 == pytest.approx(report["metrics"]["per_image"]["f1"])
    assert all(0.0 < row["lesion_share"] < 1.0 for row in rows)


def test_evaluate_model_scores_the_colour_baseline(dataset_dir):
    text = _run("evaluate_model", "--data", str(dataset_dir), "--baseline", "--per-image")
    assert text.startswith("baseline:colour-threshold-v1 on ")
    assert "| image | lesion share | predicted share |" in text
    assert text.count("| img_0") == 12
    # The synthetic lesions are light patches on skin: the colour rule finds most of them.
    micro_f1 = float(text.splitlines()[3].split("|")[5])
    assert micro_f1 > 0.5


@pytest.mark.parametrize(
    "args",
    [
        ["train_model", "--arch", "lraspp", "--backbone", "mobilenet_v3_large", "--val-folds", "9"],
        ["compare_models", "--archs", "segformer-b0", "--output-dir", "/tmp/x"],
        ["compare_models", "--archs", "fcn-resnet50", "--folds", "7", "--output-dir", "/tmp/x"],
        ["train_model", "--no-register"],
        ["evaluate_model", "--baseline", "--threshold", "0.3"],
    ],
)
def test_bad_options_are_command_errors(args, dataset_dir):
    with pytest.raises(CommandError):
        call_command(*args, "--data", str(dataset_dir), *TINY, stdout=StringIO())


@pytest.mark.django_db
def test_evaluate_model_without_an_active_model(dataset_dir):
    with pytest.raises(CommandError, match="no active model"):
        call_command("evaluate_model", "--data", str(dataset_dir), stdout=StringIO())
