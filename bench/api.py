"""Latency and query count of the series endpoint and the photo list, against naive baselines.

Not a test. Builds a patient with N analysed photos (default 2,000, over 4 body sites) in the
database named by DATABASE_URL (default: a temporary SQLite file; for PostgreSQL give it a
database of its own, which it migrates and fills), then times, in the same run:

- ``GET /api/v1/patients/{id}/series/`` (the selector: a constant number of queries);
- the same series built naively: one query per photo for its analysis (what a plain
  ModelSerializer with a nested analysis does), serialized to the same dicts;
- ``GET /api/v1/photos/?patient={id}`` (one page; analyses prefetched);
- the same page with one analysis query per photo (no prefetch).

    .venv/bin/python bench/api.py --photos 2000 --repeats 30
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/progression_bench .venv/bin/python bench/api.py

Prints median and p95 latency (ms), the query count and the naive/optimised ratio.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")


def _setup(workdir: Path) -> None:
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}")
    os.environ["DJANGO_MEDIA_ROOT"] = str(workdir / "media")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _fill(n_photos: int, n_sites: int):
    """A clinician and one patient with ``n_photos`` analysed photos; bulk inserts, no files."""
    from django.utils import timezone

    from diary.models import Analysis, BodySite, Patient, Photo, TreatmentEntry, User
    from diary.selectors.series import series_model_version

    User.objects.filter(username__startswith="bench-").delete()
    clinician = User.objects.create(username="bench-clinician", role="clinician", is_staff=True)
    patient = Patient.objects.create(user=User.objects.create(username="bench-patient"))
    patient.clinicians.add(clinician)
    sites = BodySite.objects.bulk_create(
        BodySite(patient=patient, region="hands", label=f"site {i}") for i in range(n_sites)
    )
    start = timezone.now() - dt.timedelta(days=n_photos)
    photos = Photo.objects.bulk_create(
        Photo(
            patient=patient,
            body_site=sites[i % n_sites],
            taken_at=start + dt.timedelta(days=i),
            taken_at_source="client",
            image=f"photos/{patient.pk}/{i}.png",
            sha256=f"{i:064x}",
            width=640,
            height=480,
            status="done",
        )
        for i in range(n_photos)
    )
    version = series_model_version()
    Analysis.objects.bulk_create(
        Analysis(
            photo=photo,
            model_version=version,
            mask=f"masks/{photo.pk}.png",
            overlay=f"overlays/{photo.pk}.png",
            lesion_skin_fraction=0.4 - 0.0001 * i,
            delta_e2000=12.0,
            ita_difference=30.0,
            rgb_mean_difference=25.0,
            grade="medium",
        )
        for i, photo in enumerate(photos)
    )
    TreatmentEntry.objects.bulk_create(
        TreatmentEntry(
            patient=patient, date=(start + dt.timedelta(days=7 * i)).date(), kind="phototherapy"
        )
        for i in range(n_photos // 7)
    )
    return clinician, patient


def _naive_series(patient, user) -> list[dict]:
    """One query per photo for its analysis: the N+1 pattern the selector avoids."""
    from diary.models import Photo
    from diary.selectors.series import series_model_version

    version = series_model_version()
    points = []
    for photo in Photo.objects.visible_to(user).filter(patient=patient).order_by("taken_at"):
        analysis = photo.analyses.filter(model_version=version).first()
        if analysis is None:
            continue
        points.append(
            {
                "body_site": photo.body_site_id,
                "photo_id": photo.pk,
                "analysis_id": analysis.pk,
                "taken_at": photo.taken_at.isoformat(),
                "lesion_skin_fraction": analysis.lesion_skin_fraction,
                "delta_e2000": analysis.delta_e2000,
                "ita_difference": analysis.ita_difference,
                "rgb_mean_difference": analysis.rgb_mean_difference,
                "grade": analysis.grade,
                "model_version": analysis.model_version,
            }
        )
    return points


def _serialize_photo_page(photos, user) -> list[dict]:
    """The first page of ``photos`` through the API's photo serializer."""
    from rest_framework.test import APIRequestFactory

    from diary.api.serializers import PhotoSerializer

    request = APIRequestFactory().get("/api/v1/photos/")
    request.user = user
    return PhotoSerializer(photos[:20], many=True, context={"request": request}).data


def _naive_photo_page(patient, user) -> list[dict]:
    """The photo list's first page, serialized without the analyses' prefetch."""
    from diary.models import Photo

    photos = Photo.objects.visible_to(user).filter(patient=patient).select_related("body_site")
    return _serialize_photo_page(photos, user)


class _QueryCounter:
    """Counts every query through an execute wrapper (the debug query log is capped at 9,000)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def _measure(name: str, call, repeats: int) -> dict:
    from django.db import connection
    from tqdm import tqdm

    call()  # warm-up: caches, first-query costs
    times = []
    counter = _QueryCounter()
    for _ in tqdm(range(repeats), desc=name, leave=False):
        counter.count = 0
        with connection.execute_wrapper(counter):
            started = time.perf_counter()
            call()
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return {"name": name, "median": statistics.median(times), "p95": p95, "queries": counter.count}


def _series_in_process(patient, user):
    from diary.api.series_serializers import SeriesSerializer
    from diary.selectors.series import series_for_patient

    return SeriesSerializer(series_for_patient(patient=patient, user=user)).data


def _photo_page(patient, user):
    from diary.selectors.photos import photo_list

    return _serialize_photo_page(photo_list(user=user).filter(patient=patient), user)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=2000)
    parser.add_argument("--sites", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as workdir:
        _setup(Path(workdir))
        from django.conf import settings
        from django.db import connection
        from django.urls import reverse
        from rest_framework.test import APIClient

        settings.ALLOWED_HOSTS = ["*"]
        clinician, patient = _fill(args.photos, args.sites)
        client = APIClient()
        client.force_authenticate(clinician)
        series_url = reverse("api:patient-series", args=[patient.pk])
        photos_url = reverse("api:photo-list") + f"?patient={patient.pk}"

        def get(url):
            response = client.get(url)
            assert response.status_code == 200, response.content[:200]
            return response

        n_points = sum(len(s["points"]) for s in get(series_url).json()["sites"])
        assert n_points == len(_naive_series(patient, clinician)) == args.photos
        r = args.repeats
        results = [
            _measure("series endpoint (HTTP)", lambda: get(series_url), r),
            _measure(
                "series selector + serializer", lambda: _series_in_process(patient, clinician), r
            ),
            _measure("naive series (1 query/photo)", lambda: _naive_series(patient, clinician), r),
            _measure("photo list endpoint (HTTP, page of 20)", lambda: get(photos_url), r),
            _measure("photo page, selector (prefetch)", lambda: _photo_page(patient, clinician), r),
            _measure(
                "naive photo page (1 query/photo)", lambda: _naive_photo_page(patient, clinician), r
            ),
        ]
        print(
            f"\n{args.photos} analysed photos, {args.sites} body sites, "
            f"{connection.vendor}, {args.repeats} repeats\n"
        )
        print("| case | median ms | p95 ms | queries |")
        print("|---|---|---|---|")
        for r in results:
            print(f"| {r['name']} | {r['median']:.1f} | {r['p95']:.1f} | {r['queries']} |")
        # Same work in the same process: the naive variant against the optimised one.
        for fast, slow in ((results[1], results[2]), (results[4], results[5])):
            print(
                f"\n{slow['name']} / {fast['name']}: median x{slow['median'] / fast['median']:.1f}"
                f", queries x{slow['queries'] / fast['queries']:.0f}"
            )


if __name__ == "__main__":
    main()
