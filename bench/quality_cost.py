"""What the cheap photo quality checks add to an upload: their time against the upload's own
decoding and re-encoding of the same photo, measured in the same run.

    nice -n 10 .venv/bin/python bench/quality_cost.py ../shared/data/vitiligo --repeat 5

A photo of the folder (its first, or ``--photo NAME``) is enlarged to phone sizes and encoded as
the phone would send it (JPEG quality 92). For each size, medians of:

* the whole ``POST /api/v1/photos/`` through Django's test client (authentication, decoding,
  re-encoding, the checks, the file write, the row; SQLite and local media in a temporary folder;
  the analysis is only queued, on an in-memory broker);
* ``decode_photo`` alone (decode, orient upright, re-encode without metadata, hash): the pixel
  work every upload does;
* ``check_photo`` on the decoded image: what the checks add to the request.

The checks' share is reported against the request without them (request - checks) and against
the decoding alone.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _django(workdir: Path) -> None:
    """SQLite and media in ``workdir``, tasks queued on an in-memory broker (the request is
    measured, not the analysis)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ["DJANGO_MEDIA_ROOT"] = str(workdir / "media")
    os.environ["CELERY_BROKER_URL"] = "memory://"
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"
    import django

    django.setup()


SIZES = ((416, 416), (1600, 1200), (4032, 3024))


def _median_ms(step, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return 1000.0 * float(np.median(times))


def _client_and_site():
    from django.core.management import call_command
    from rest_framework.test import APIClient

    from diary.models import BodySite, Patient, User

    call_command("migrate", verbosity=0)
    user = User.objects.create(username="bench-patient", role=User.Role.PATIENT)
    patient = Patient.objects.create(user=user, birth_year=1980)
    client = APIClient()
    client.force_authenticate(user)
    return client, BodySite.objects.create(patient=patient, region="hands", label="left hand")


def _variants(image: Image.Image, n: int) -> list[bytes]:
    """``n`` JPEGs of the same photo that differ in a comment (an upload of the same bytes is
    answered as a duplicate, without the work)."""
    out = []
    for k in range(n):
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=92, comment=f"upload {k}")
        out.append(buffer.getvalue())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", type=Path, help="folder with images/ and metadata.csv")
    parser.add_argument("--photo", default=None, help="the photo's name (default: the first)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="quality-cost-"))
    try:
        _run(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _run(args: argparse.Namespace, workdir: Path) -> None:
    _django(workdir)
    from django.urls import reverse

    from diary.services.images import decode_photo
    from segmentation.severity.photo_quality import check_photo

    name = args.photo or next(csv.DictReader((args.data / "metadata.csv").open()))["name"]
    source = Image.open(next((args.data / "images").glob(f"{name}.*"))).convert("RGB")
    client, site = _client_and_site()
    url = reverse("api:photo-list")
    rows = []
    for width, height in tqdm(SIZES, desc="sizes"):
        uploads = iter(_variants(source.resize((width, height), Image.Resampling.BICUBIC), 99))
        data = next(uploads)
        decoded = decode_photo(data, max_pixels=50_000_000)

        def post(uploads=uploads):
            image = io.BytesIO(next(uploads))
            image.name = "photo.jpg"
            response = client.post(url, {"image": image, "body_site": site.pk}, format="multipart")
            assert response.status_code == 201, response.content

        request_ms = _median_ms(post, args.repeat)
        decode_ms = _median_ms(lambda data=data: decode_photo(data, max_pixels=50_000_000), 3)
        checks_ms = _median_ms(lambda image=decoded.image: check_photo(image), args.repeat)
        rows.append((width, height, request_ms, decode_ms, checks_ms))
    print(f"\nphoto {name}, medians of {args.repeat} runs, one process; milliseconds\n")
    print(
        "| size | POST /photos/ | of which decode + re-encode | of which checks | "
        "checks / (request - checks) | checks / decode |"
    )
    print("|---|---|---|---|---|---|")
    for width, height, request_ms, decode_ms, checks_ms in rows:
        print(
            f"| {width}x{height} | {request_ms:.0f} | {decode_ms:.0f} | {checks_ms:.0f} | "
            f"{checks_ms / (request_ms - checks_ms):.2f} | {checks_ms / decode_ms:.2f} |"
        )


if __name__ == "__main__":
    main()
