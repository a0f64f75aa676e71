"""Latency and query count of the series endpoint and the photo list, against naive baselines.

Not a test. Builds a patient with N analysed photos (default 2,000, over 4 body sites) in the
database named by DATABASE_URL (default: a temporary SQLite file; for PostgreSQL give it a
database of its own, which it migrates and fills), then times, in the same run:

- ``GET /api/v1/patients/{id}/series/``, for all body sites and for one (``?body_site=``);
- the selector's output through DRF's field-by-field serializers (the code before the row
  serializers of ``diary/api/series_serializers.py``);
- the same series built naively: one query per photo for its analysis (what a plain
  ModelSerializer with a nested analysis does), serialized to the same dicts;
- ``GET /api/v1/photos/?patient={id}`` (one page; analyses prefetched);
- the same page with one analysis query per photo (no prefetch).

    .venv/bin/python bench/api.py --photos 2000 --repeats 30
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/progression_bench .venv/bin/python bench/api.py
    ... bench/api.py --sites 1 --profile    # one site of 2,000 photos; EXPLAIN ANALYZE, cProfile

Prints median and p95 latency (ms), the query count and the naive/optimised ratios.
``--profile`` first prints ``EXPLAIN ANALYZE`` of each series query (PostgreSQL) and the top of a
Python profile of the selector + serializer. ``--other-patients K`` adds K patients with the same
number of photos, so that the planner sees a table where one patient is a small share.
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


def _fill(n_photos: int, n_sites: int, n_others: int = 0):
    """A clinician and one patient with ``n_photos`` analysed photos; bulk inserts, no files.

    ``n_others`` more patients get the same, under another clinician. The tables are then
    analysed, as autovacuum would after such inserts: without statistics PostgreSQL's planner
    assumes one row and picks nested loops that cost 15 ms instead of 2 ms.
    """
    from django.db import connection

    from diary.models import Patient, User

    Patient.objects.filter(user__username__startswith="bench-").delete()
    User.objects.filter(username__startswith="bench-").delete()
    clinician = User.objects.create(username="bench-clinician", role="clinician", is_staff=True)
    other = User.objects.create(username="bench-other-clinician", role="clinician", is_staff=True)
    patient = _fill_patient("bench-patient", clinician, n_photos, n_sites)
    for k in range(n_others):
        _fill_patient(f"bench-patient-{k}", other, n_photos, n_sites)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return clinician, patient


def _fill_patient(username: str, clinician, n_photos: int, n_sites: int):
    from django.utils import timezone

    from diary.models import Analysis, BodySite, Patient, Photo, TreatmentEntry, User
    from diary.selectors.series import series_model_version

    patient = Patient.objects.create(user=User.objects.create(username=username))
    patient.clinicians.add(clinician)
    sites = BodySite.objects.bulk_create(
        BodySite(patient=patient, region="hands", label=f"site {i}") for i in range(n_sites)
    )
    start = timezone.now() - dt.timedelta(days=n_photos)
    photos = Photo.objects.bulk_create(
        (
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
        ),
        batch_size=1000,
    )
    version = series_model_version()
    Analysis.objects.bulk_create(
        (
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
        ),
        batch_size=1000,
    )
    TreatmentEntry.objects.bulk_create(
        TreatmentEntry(
            patient=patient, date=(start + dt.timedelta(days=7 * i)).date(), kind="phototherapy"
        )
        for i in range(n_photos // 7)
    )
    return patient


def _naive_series(patient, user) -> list[dict]:
    """One query per photo for its analysis: the N+1 pattern the selector avoids."""
    from diary.models import Photo
    from diary.selectors.series import SERIES_MEASURES, series_model_version

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
                **{column: getattr(analysis, column) for column in SERIES_MEASURES},
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
    times, cpu_times = [], []
    counter = _QueryCounter()
    for _ in tqdm(range(repeats), desc=name, leave=False):
        counter.count = 0
        with connection.execute_wrapper(counter):
            started, cpu_started = time.perf_counter(), time.process_time()
            call()
            times.append((time.perf_counter() - started) * 1000)
            cpu_times.append((time.process_time() - cpu_started) * 1000)
    return {
        "name": name,
        "median": statistics.median(times),
        "p95": _p95(times),
        "cpu_median": statistics.median(cpu_times),
        "cpu_p95": _p95(cpu_times),
        "queries": counter.count,
    }


def _p95(values: list[float]) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]


def _series_in_process(patient, user, serializer=None):
    from diary.api.series_serializers import SeriesSerializer
    from diary.selectors.series import series_for_patient

    serializer = serializer or SeriesSerializer
    return serializer(series_for_patient(patient=patient, user=user)).data


def _photo_page(patient, user):
    from diary.selectors.photos import photo_list

    return _serialize_photo_page(photo_list(user=user).filter(patient=patient), user)


def _profile(patient, user, body_site) -> None:
    """``EXPLAIN ANALYZE`` of each query of the series (PostgreSQL), then a Python profile."""
    import cProfile
    import pstats

    from django.db import connection

    from diary.selectors.series import series_for_patient

    queries = []

    def record(execute, sql, params, many, context):
        queries.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        series_for_patient(patient=patient, user=user, body_site=body_site)
    if connection.vendor == "postgresql":
        for sql, params in queries:
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                plan = "\n".join(f"    {row[0]}" for row in cursor.fetchall())
            print(f"\n{sql[:160]}...\n{plan}")
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(10):
        _series_in_process(patient, user)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=2000)
    parser.add_argument("--sites", type=int, default=4)
    parser.add_argument("--other-patients", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--naive-repeats", type=int, default=5, help="repeats of the naive 1-query-per-photo cases"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as workdir:
        _setup(Path(workdir))
        from django.conf import settings
        from django.db import connection
        from django.urls import reverse
        from rest_framework.test import APIClient

        settings.ALLOWED_HOSTS = ["*"]
        clinician, patient = _fill(args.photos, args.sites, args.other_patients)
        site = patient.body_sites.order_by("id").first()
        if args.profile:
            _profile(patient, clinician, site)
        client = APIClient()
        client.force_authenticate(clinician)
        series_url = reverse("api:patient-series", args=[patient.pk])
        site_url = f"{series_url}?body_site={site.pk}"
        photos_url = reverse("api:photo-list") + f"?patient={patient.pk}"

        def get(url):
            response = client.get(url)
            assert response.status_code == 200, response.content[:200]
            return response

        from diary.api.series_serializers import field_by_field_series_serializer

        field_by_field = field_by_field_series_serializer()
        series = _series_in_process(patient, clinician)
        assert series == _series_in_process(patient, clinician, field_by_field)
        n_points = sum(len(s["points"]) for s in get(series_url).json()["sites"])
        assert n_points == len(_naive_series(patient, clinician)) == args.photos
        n_site = len(get(site_url).json()["sites"][0]["points"])
        r = args.repeats
        results = [
            _measure("series endpoint (HTTP)", lambda: get(series_url), r),
            _measure(f"one body site's series (HTTP, {n_site} points)", lambda: get(site_url), r),
            _measure(
                "series selector + serializer", lambda: _series_in_process(patient, clinician), r
            ),
            _measure(
                "series selector + DRF field-by-field serializer",
                lambda: _series_in_process(patient, clinician, field_by_field),
                r,
            ),
            _measure(
                "naive series (1 query/photo)",
                lambda: _naive_series(patient, clinician),
                args.naive_repeats,
            ),
            _measure("photo list endpoint (HTTP, page of 20)", lambda: get(photos_url), r),
            _measure("photo page, selector (prefetch)", lambda: _photo_page(patient, clinician), r),
            _measure(
                "naive photo page (1 query/photo)",
                lambda: _naive_photo_page(patient, clinician),
                args.naive_repeats,
            ),
        ]
        print(
            f"\n{args.photos} analysed photos, {args.sites} body sites, "
            f"{args.other_patients} other patients, {connection.vendor}, {args.repeats} repeats "
            f"({args.naive_repeats} for the naive cases)\n"
        )
        # CPU time of this process (Django, DRF, psycopg; not the database server's): on a shared
        # machine the wall clock also counts the time spent waiting for a core.
        print("| case | median ms | p95 ms | CPU median / p95 ms | queries |")
        print("|---|---|---|---|---|")
        for r in results:
            print(
                f"| {r['name']} | {r['median']:.1f} | {r['p95']:.1f} "
                f"| {r['cpu_median']:.1f} / {r['cpu_p95']:.1f} | {r['queries']} |"
            )
        # Same work in the same process: the naive variants against the optimised ones.
        for fast, slow in (
            (results[2], results[3]),
            (results[2], results[4]),
            (results[6], results[7]),
        ):
            print(
                f"\n{slow['name']} / {fast['name']}: median x{slow['median'] / fast['median']:.1f}"
                f", queries x{slow['queries'] / fast['queries']:.0f}"
            )


if __name__ == "__main__":
    main()
