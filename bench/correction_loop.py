"""The correction loop on real photos, end to end: a clinic's corrections measure the model and
train the next one (issue 21; docs/corrections.md, docs/results.md "The correction loop").

Not a test (CI tests the same path on small synthetic images). In one run, on its own SQLite
database and media folder under ``--out``:

1. the data's groups (``source_group``: one photo and its copies) are split by ``--seed`` into a
   "shared" half (a folder of links) and a "clinic" half, one patient per clinic group;
2. a model is trained on the shared half (``train_model``, the recommended preset at
   ``--epochs``) and activated;
3. the clinic half is uploaded through the API (``POST /api/v1/photos/``) by its patients and
   analysed by that model; all but one patient give research consent through the API;
4. a clinician submits the photos' true masks as corrections through the endpoint the mask
   editor posts to (``POST /api/v1/photos/{id}/corrections/``);
5. the accuracy figures (the selector behind the admin page and ``evaluate_model
   --corrections``) are checked against an independent computation from the stored masks and the
   true masks; any difference stops the run;
6. ``export_annotations`` writes the consenting patients' corrected photos; the patient without
   consent must be absent;
7. cross-validation over the union of the shared half and the export (``union_folder``, folds
   that hold out whole groups; the export's folds come from its pseudonymous patient groups):
   each fold is trained twice, on the shared photos of its training groups only and on shared +
   clinic, and both are scored on the same held-out photos at the final epoch.

    .venv/bin/python bench/correction_loop.py ../shared/data/vitiligo --out var/correction-loop \\
        --epochs 15 --seed 0

Prints each step's figures and the table of step 7; writes ``OUT/report.json``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import secrets
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")


def _setup(out: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{out / 'loop.sqlite3'}"
    os.environ["DJANGO_MEDIA_ROOT"] = str(out / "media")
    os.environ.pop("CELERY_BROKER_URL", None)  # the embedded default: analyses run in-process
    # The export's pseudonymous groups need a key; this run's own clinic draws one.
    os.environ.setdefault("RESEARCH_EXPORT_KEY", secrets.token_urlsafe(32))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def split_groups(data: Path, seed: int) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """The data's groups shuffled by ``seed`` and cut in two halves of about equal image count:
    {group: [names]} for the shared half and for the clinic half."""
    from segmentation.core.data import read_metadata

    members: dict[str, list[str]] = {}
    for name, row in sorted(read_metadata(data).items()):
        members.setdefault(row["source_group"], []).append(name)
    groups = sorted(members)
    random.Random(seed).shuffle(groups)
    shared, clinic, count = {}, {}, 0
    total = sum(len(v) for v in members.values())
    for group in groups:
        half = shared if count < total / 2 else clinic
        half[group] = members[group]
        count += len(members[group]) if half is shared else 0
    return shared, clinic


def _link_folder(data: Path, names: list[str], dest: Path) -> Path:
    """A data folder of links to ``names`` of ``data`` with their metadata rows."""
    from segmentation.core.data import list_pairs

    wanted = set(names)
    (dest / "images").mkdir(parents=True)
    (dest / "masks").mkdir()
    for name, image, mask in list_pairs(data):
        if name in wanted:
            os.symlink(image.resolve(), dest / "images" / image.name)
            os.symlink(mask.resolve(), dest / "masks" / mask.name)
    with (
        open(data / "metadata.csv", newline="") as source,
        open(dest / "metadata.csv", "w", newline="") as target,
    ):
        reader = csv.DictReader(source)
        writer = csv.DictWriter(target, fieldnames=reader.fieldnames)
        writer.writeheader()
        writer.writerows(row for row in reader if row["name"] in wanted)
    return dest


def _true_mask(data: Path, name: str) -> np.ndarray:
    with Image.open(data / "masks" / f"{name}.png") as mask:
        return np.asarray(mask.convert("L")) >= 128


def _png(mask: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.where(mask, 255, 0).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def run_clinic(data: Path, clinic: dict[str, list[str]], model_label: str) -> dict:
    """Steps 3-5: upload, correct, and check the accuracy figures; returns them."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from rest_framework.test import APIClient

    from diary.models import BodySite, Patient, Photo, User
    from diary.selectors.accuracy import model_accuracy
    from segmentation.core.data import list_pairs
    from segmentation.severity.agreement import mask_agreement, pooled_agreement

    images = {name: image for name, image, _ in list_pairs(data)}
    clinician = User.objects.create(username="loop-clinician", role="clinician", is_staff=True)
    doctor = APIClient()
    doctor.force_authenticate(clinician)
    uploaded: dict[int, str] = {}
    refusing = sorted(clinic)[0]  # one patient keeps research consent off
    for index, (group, names) in enumerate(tqdm(sorted(clinic.items()), desc="clinic patients")):
        user = User.objects.create(username=f"loop-patient-{index}", role="patient")
        patient = Patient.objects.create(user=user)
        patient.clinicians.add(clinician)
        site = BodySite.objects.create(patient=patient, region="other", label="tracked skin")
        client = APIClient()
        client.force_authenticate(user)
        if group != refusing:
            consent = client.put(
                f"/api/v1/patients/{patient.pk}/research-consent/",
                {"research_consent": True},
                format="json",
            )
            assert consent.status_code == 200, consent.content
        for name in names:
            upload = SimpleUploadedFile(images[name].name, images[name].read_bytes())
            response = client.post(
                "/api/v1/photos/", {"image": upload, "body_site": site.pk}, format="multipart"
            )
            assert response.status_code in (200, 201), response.content
            uploaded[response.json()["id"]] = name
    statuses = set(Photo.objects.values_list("status", flat=True))
    assert statuses == {"done"}, f"photos not all analysed: {statuses}"

    started = time.perf_counter()
    for photo_id, name in tqdm(uploaded.items(), desc="corrections"):
        mask = SimpleUploadedFile("mask.png", _png(_true_mask(data, name)))
        response = doctor.post(
            f"/api/v1/photos/{photo_id}/corrections/", {"mask": mask}, format="multipart"
        )
        assert response.status_code == 201, response.content
    correction_ms = (time.perf_counter() - started) * 1000 / max(1, len(uploaded))

    # The same figures, computed here from the stored model masks and the true masks.
    agreements = []
    for photo in Photo.objects.filter(pk__in=uploaded):
        analysis = photo.analyses.get(model_version=model_label)
        with analysis.mask.open("rb") as handle, Image.open(handle) as stored:
            predicted = np.asarray(stored.convert("L")) >= 128
        agreements.append(mask_agreement(predicted, _true_mask(data, uploaded[photo.pk])))
    pooled = pooled_agreement(agreements)
    shown = model_accuracy(model_version=model_label).as_dict()  # what the admin page shows
    printed = io.StringIO()
    call_command(
        "evaluate_model", corrections=True, model_version=model_label, json=True, stdout=printed
    )
    independent = {
        "photos": len(agreements),
        "pooled_f1": pooled.f1,
        "pooled_iou": pooled.iou,
        "mean_f1": statistics.fmean(a.f1 for a in agreements),
        "mean_iou": statistics.fmean(a.iou for a in agreements),
    }
    return {
        "uploaded": len(uploaded),
        "correction_ms_per_photo": round(correction_ms, 1),
        "refusing_group": refusing,
        "accuracy_page": shown,
        "evaluate_model": json.loads(printed.getvalue()),
        "independent": independent,
    }


def _check_accuracy(result: dict) -> None:
    """The accuracy page's and the command's figures must equal the independent computation."""
    independent = result["independent"]
    for source in ("accuracy_page", "evaluate_model"):
        overall = result[source]["overall"]
        for key, value in independent.items():
            if overall[key] is None or abs(overall[key] - value) > 1e-9:
                raise SystemExit(f"{source} {key}={overall[key]} != independent {value}")


def _cv(union_root: Path, union, base, out: Path, only: list[str]) -> dict:
    """Step 7: every fold trained on its shared photos only and on shared + clinic."""
    from segmentation.core import compare, make_folds
    from segmentation.core.data import Fold

    folds = make_folds(union_root, k_folds=None if union.has_folds else 4, seed=base.seed)
    if only:
        folds = [fold for fold in folds if fold.name in only]
    shared_source = union.sources[0]
    shared_only = [
        Fold(fold.name, tuple(union.names_of(shared_source, fold.train)), fold.val)
        for fold in folds
    ]
    model = [(base.arch, base.backbone)]
    rows: dict[str, list[dict]] = {"shared only": [], "shared + clinic": []}
    # Fold by fold, both trainings of a fold together: a run stopped early still compares them.
    for narrow, full in tqdm(list(zip(shared_only, folds, strict=True)), desc="folds"):
        for label, fold in (("shared only", narrow), ("shared + clinic", full)):
            [row] = compare.run_comparison(
                data_root=union_root,
                models=model,
                folds=[fold],
                base=base,
                output_dir=out / "cv" / label.replace(" ", "").replace("+", "-"),
            )
            record = row.folds[0]
            rows[label].append(
                {
                    "fold": record["fold"],
                    "train_images": record["train_images"],
                    "val_images": record["val_images"],
                    "micro_f1": record["at_threshold"]["micro"]["f1"],
                    "per_image_f1": record["at_threshold"]["per_image"]["f1"],
                }
            )
            (out / "cv-progress.json").write_text(json.dumps(rows, indent=2))
    return rows


def _mean_sd(values: list[float]) -> str:
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.fmean(values):.3f} ± {spread:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="a training-data folder (vitiligo)")
    parser.add_argument("--out", type=Path, required=True, help="a new folder for everything")
    parser.add_argument("--epochs", type=int, default=15, help="of the recommended preset")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--folds",
        type=lambda text: text.split(","),
        default=[],
        help="only these comma-separated folds of step 7 (default: all)",
    )
    args = parser.parse_args()
    if args.out.exists() and any(args.out.iterdir()):
        raise SystemExit(f"{args.out} is not empty: give a new folder")
    args.out.mkdir(parents=True, exist_ok=True)
    _setup(args.out.resolve())
    from django.core.management import call_command

    from segmentation.core import TrainConfig, preset, union_folder
    from segmentation.selectors import active_model_get

    shared, clinic = split_groups(args.data, args.seed)
    shared_root = _link_folder(
        args.data, [n for names in shared.values() for n in names], args.out / "shared"
    )
    report: dict = {
        "epochs": args.epochs,
        "seed": args.seed,
        "shared": {"groups": len(shared), "images": sum(map(len, shared.values()))},
        "clinic": {"groups": len(clinic), "images": sum(map(len, clinic.values()))},
    }
    print(f"split: {report['shared']} shared, {report['clinic']} clinic", flush=True)

    started = time.perf_counter()
    call_command(
        "train_model",
        data=[shared_root],
        preset="recommended",
        epochs=args.epochs,
        seed=args.seed,
        val_folds="none",
        name=f"loop-shared-seed{args.seed}",
        activate=True,
    )
    model = active_model_get()
    report["train_shared_s"] = round(time.perf_counter() - started, 1)
    report["model"] = model.version_label

    report["clinic_run"] = run_clinic(args.data, clinic, model.version_label)
    _check_accuracy(report["clinic_run"])
    print("accuracy page = independent computation:", report["clinic_run"]["independent"])

    export = args.out / "export"
    call_command("export_annotations", str(export))
    with open(export / "metadata.csv", newline="") as handle:
        exported = list(csv.DictReader(handle))
    refusing = report["clinic_run"]["refusing_group"]
    expected = report["clinic"]["images"] - len(clinic[refusing])
    assert len(exported) == expected, (len(exported), expected)
    report["exported"] = {
        "images": len(exported),
        "left_out_without_consent": len(clinic[refusing]),
    }

    union = union_folder([shared_root, export], args.out / "union")
    base = TrainConfig(**{**preset("recommended"), "epochs": args.epochs, "seed": args.seed})
    report["cv"] = _cv(union.root, union, base, args.out, args.folds)
    for label, folds in report["cv"].items():
        micro = [f["micro_f1"] for f in folds]
        image = [f["per_image_f1"] for f in folds]
        print(
            f"{label:16s} micro F1 {_mean_sd(micro)}  per-image F1 {_mean_sd(image)}"
            f"  per fold {', '.join(f'{v:.3f}' for v in micro)}"
        )
    (args.out / "report.json").write_text(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
