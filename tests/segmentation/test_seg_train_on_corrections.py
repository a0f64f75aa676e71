"""Training on the shared data plus a clinic's corrections: ``--data A --data B`` is one union
with group-aware folds across both folders (docs/corrections.md)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command

from segmentation.core import load_checkpoint, make_folds, union_folder
from segmentation.core.data import list_pairs, read_metadata
from segmentation.models import SegmentationModel

from .conftest import write_dataset

TINY = ["--epochs", "1", "--batch-size", "2", "--image-size", "32", "--no-progress"]
MODEL = ["--arch", "lraspp", "--backbone", "mobilenet_v3_large"]


def _drop_folds(root: Path) -> Path:
    """``root`` without its ``suggested_fold`` column, as a folder that names only groups."""
    rows = list(read_metadata(root).values())
    with (root / "metadata.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["name", "source_group"])
        writer.writeheader()
        writer.writerows({"name": r["name"], "source_group": r["source_group"]} for r in rows)
    return root


def _assert_no_group_split(root: Path, folds) -> None:
    groups = {name: row["source_group"] for name, row in read_metadata(root).items()}
    assert folds
    for fold in folds:
        train, val = {groups[n] for n in fold.train}, {groups[n] for n in fold.val}
        assert fold.val and not train & val, fold.name


@pytest.mark.parametrize("second_has_folds", [True, False], ids=["folds", "groups-only"])
def test_union_of_shared_data_and_corrections_keeps_every_group_on_one_side(
    tmp_path, second_has_folds
):
    # The same names and group names in both folders: the union must keep them apart.
    shared = write_dataset(tmp_path / "shared" / "vitiligo", count=12, size=32, seed=1)
    clinic = write_dataset(tmp_path / "export", count=8, size=32, seed=2)
    if not second_has_folds:
        _drop_folds(clinic)
    union = union_folder([shared, clinic], tmp_path / "union")

    names = [name for name, _, _ in list_pairs(union.root)]
    assert len(names) == 20 and "vitiligo__img_000" in names and "export__img_000" in names
    metadata = read_metadata(union.root)
    assert metadata["vitiligo__img_000"]["source_group"] == "vitiligo:g0"
    assert metadata["export__img_000"]["source_group"] == "export:g0"
    assert [s.images for s in union.sources] == [12, 8]
    assert union.has_folds is second_has_folds

    if second_has_folds:
        folds = make_folds(union.root)
        assert [fold.name for fold in folds] == ["0", "1", "2"]
        # Fold k of the union is fold k of each folder.
        assert {n for n in folds[0].val if n.startswith("export")} == {
            f"export__{name}" for name in make_folds(clinic)[0].val
        }
        for fold in folds:  # both folders on both sides of every fold
            for side in (fold.train, fold.val):
                assert {name.split("__")[0] for name in side} == {"vitiligo", "export"}
    else:
        with pytest.raises(ValueError, match="suggested_fold"):
            make_folds(union.root)
        folds = make_folds(union.root, k_folds=3)
    _assert_no_group_split(union.root, folds)


def _train(*args: str) -> str:
    out = io.StringIO()
    call_command("train_model", *MODEL, *TINY, *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_train_model_on_shared_data_and_corrections(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    shared = write_dataset(tmp_path / "vitiligo", count=12, size=32, seed=1)
    clinic = write_dataset(tmp_path / "export", count=8, size=32, seed=2)
    checkpoint = tmp_path / "union.pth"
    output = _train(
        "--data", str(shared), "--data", str(clinic), "--val-folds", "1", "--name", "union",
        "--output", str(checkpoint),
    )  # fmt: skip
    assert "registered union (inactive)" in output
    model = SegmentationModel.objects.get(name="union")
    # Fold 1 of the shared folder (groups 1, 4: 4 images) and of the export (groups 1: 2).
    assert "2 folders, trained on 14 images, validated on 6" in model.training_data
    assert f"{shared} (as vitiligo): 12 images, 8 trained on, 4 validated on" in (
        model.training_data
    )
    assert f"{clinic} (as export): 8 images, 6 trained on, 2 validated on" in model.training_data
    assert "held-out folds 1; column suggested_fold" in model.training_data
    data = load_checkpoint(checkpoint)[0]["data"]
    assert [s["folder"] for s in data["sources"]] == [str(shared), str(clinic)]
    assert {name.split("__")[0] for name in data["val_names"]} == {"vitiligo", "export"}
    # The minimal detectable change is measured on the shared folder's copies only.
    note = model.quality_notes["minimal_detectable_change"]
    assert note["images"] == 4 and note["caveat"] == "measured on photos the model did not train on"


@pytest.mark.django_db
def test_train_model_on_corrections_without_folds_uses_group_k_fold(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    shared = write_dataset(tmp_path / "vitiligo", count=12, size=32, seed=1)
    clinic = _drop_folds(write_dataset(tmp_path / "export", count=8, size=32, seed=2))
    _train("--data", str(shared), "--data", str(clinic), "--k-folds", "3", "--name", "kfold",
           "--no-mdc")  # fmt: skip
    model = SegmentationModel.objects.get(name="kfold")
    assert "held-out folds 0; 3 group k-folds" in model.training_data
    # One folder still works as before.
    _train("--data", str(shared), "--val-folds", "2", "--name", "one", "--no-mdc")
    one = SegmentationModel.objects.get(name="one")
    assert one.training_data.startswith(f"{shared}: trained on 8 images, validated on 4")


@pytest.mark.django_db
def test_a_clinic_exports_its_corrections_and_trains_on_them_with_the_shared_data(
    tmp_path, settings, staff
):
    """The README's path: export_annotations, then train_model on the shared data and the
    export, every consenting patient one group in one fold."""
    from tests.diary.test_corrections_api import box_mask
    from tests.diary.test_research_export_corrections import _consent, _correct, _photo
    from tests.factories import PatientFactory

    settings.RESEARCH_EXPORT_KEY = "k" * 40
    for n in range(6):
        patient = PatientFactory()
        _consent(patient)
        for _ in range(2):
            _correct(staff, _photo(patient), box_mask(4, 4 + n, 20, 30))
    export = tmp_path / "export"
    call_command("export_annotations", str(export), "--no-progress", stdout=io.StringIO())
    shared = write_dataset(tmp_path / "vitiligo", count=12, size=32, seed=1)
    # The export's folds are the shared data's numbers; fold 0 of this synthetic one is held out.
    _train("--data", str(shared), "--data", str(export), "--val-folds", "0", "--name", "clinic",
           "--no-mdc")  # fmt: skip
    model = SegmentationModel.objects.get(name="clinic")
    assert f"{export} (as export): 12 images" in model.training_data
    union_groups = {row["source_group"] for row in read_metadata(export).values()}
    assert len(union_groups) == 6


def test_evaluate_model_scores_shared_data_and_corrections_together(tmp_path):
    shared = write_dataset(tmp_path / "vitiligo", count=6, size=32, seed=1)
    clinic = write_dataset(tmp_path / "export", count=4, size=32, seed=2)
    out = io.StringIO()
    call_command("evaluate_model", "--data", str(shared), "--data", str(clinic), "--baseline",
                 "--folds", "0", "--per-image", "--json", stdout=out)  # fmt: skip
    report = json.loads(out.getvalue())
    # Fold 0 of each folder (group g0 in both: img_000, img_001), the names kept apart.
    assert report["data"] == f"{shared}, {clinic}"
    assert sorted(row["name"] for row in report["per_image"]) == [
        "export__img_000", "export__img_001", "vitiligo__img_000", "vitiligo__img_001",
    ]  # fmt: skip
    assert report["images"] == 4
