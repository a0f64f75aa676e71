"""A Python client generated from the served schema works unedited (issue 11, section 2).

The path a mobile team takes: run the generator from PyPI (``openapi-python-client``, pinned in
requirements-dev.txt) on ``/api/v1/schema/`` of a running server, import every module it wrote, and
use it for the whole diary flow: login, body site, treatment, upload, poll, mask, series, trend.

With the embedded default (SQLite, tasks run in-process on commit) the upload is analysed before
its 201 answers; under CI (PostgreSQL and Redis) a live Celery worker analyses it, as in
production, and the client polls.
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import io
import pkgutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from tests.factories import ClinicianFactory, PatientFactory
from tests.images import photo_bytes

PACKAGE = "diary_api_client"
GENERATOR = Path(sys.executable).with_name("openapi-python-client")
PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def analyses_uploads(request):
    """Eager in-process tasks need nothing; a real broker needs a live worker (fails under CI
    without PostgreSQL and Redis, like the pipeline tests)."""
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        request.getfixturevalue("start_worker")(batch_size=1)


@pytest.fixture
def generated_client(live_server, tmp_path):
    """Generate the client from the live server's schema and import every module of it."""
    output = tmp_path / PACKAGE
    run = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--url",
            f"{live_server.url}/api/v1/schema/",
            "--output-path",
            str(output),
            "--meta",
            "none",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    log = run.stdout + run.stderr
    assert run.returncode == 0, log
    # Warnings are allowed (the generator has no parser for image/*, see README); errors are not.
    assert "Error(s) encountered" not in log, log
    sys.path.insert(0, str(tmp_path))
    try:
        package = importlib.import_module(PACKAGE)
        modules = [
            importlib.import_module(info.name)
            for info in pkgutil.walk_packages(package.__path__, prefix=f"{PACKAGE}.")
        ]
        assert len(modules) > 60  # every operation and model, not a stub
        yield package
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def _api(package, dotted: str):
    return importlib.import_module(f"{package.__name__}.api.{dotted}")


def test_the_generated_client_drives_the_diary(live_server, generated_client, analyses_uploads):
    pkg = generated_client
    models = importlib.import_module(f"{pkg.__name__}.models")
    types = importlib.import_module(f"{pkg.__name__}.types")
    patient = PatientFactory()
    clinician = ClinicianFactory()
    patient.clinicians.add(clinician)

    login = _api(pkg, "auth.auth_token_create")
    token = login.sync(
        client=pkg.Client(base_url=live_server.url),
        body=models.LoginRequest(username=patient.user.username, password=PASSWORD),
    )
    assert isinstance(token, models.Token), token
    client = pkg.AuthenticatedClient(base_url=live_server.url, token=token.token, prefix="Token")
    assert token.user.patient_id == patient.pk

    # A clinician has no patient id: the schema says so, or User.from_dict would fail here.
    staff_token = login.sync(
        client=pkg.Client(base_url=live_server.url),
        body=models.LoginRequest(username=clinician.username, password=PASSWORD),
    )
    assert staff_token.user.patient_id is None
    assert "None" in str(inspect.get_annotations(models.User)["patient_id"])

    site = _api(pkg, "body_sites.body_sites_create").sync(
        client=client,
        body=models.BodySiteRequest(region=models.RegionEnum.HANDS, label="left hand"),
    )
    assert isinstance(site, models.BodySite), site

    treatments_create = _api(pkg, "treatments.treatments_create")
    for body_site in (site.id, None):  # None is JSON null, not the string "None"
        treatment = treatments_create.sync(
            client=client,
            body=models.TreatmentEntryRequest(
                date=dt.date.today(),
                kind=models.KindEnum.PHOTOTHERAPY,
                body_site=body_site,
                dose="NB-UVB 0.3 J/cm2",
            ),
        )
        assert isinstance(treatment, models.TreatmentEntry), treatment
        assert treatment.body_site == body_site

    upload = _api(pkg, "photos.photos_create").sync_detailed(
        client=client,
        body=models.PhotoUploadRequest(
            image=types.File(payload=io.BytesIO(photo_bytes()), file_name="hand.png"),
            body_site=site.id,
        ),
    )
    assert upload.status_code == 201, upload.content
    photo = upload.parsed
    assert isinstance(photo, models.Photo)

    retrieve = _api(pkg, "photos.photos_retrieve")
    deadline = time.monotonic() + 120
    while photo.status not in (models.StatusEnum.DONE, models.StatusEnum.FAILED):
        assert time.monotonic() < deadline, f"photo still {photo.status}"
        time.sleep(0.5)
        photo = retrieve.sync(client=client, id=photo.id)
    assert photo.status == models.StatusEnum.DONE, photo.error_message

    mask = _api(pkg, "photos.photos_mask_retrieve").sync_detailed(client=client, id=photo.id)
    assert mask.status_code == 200
    assert mask.headers["content-type"] == "image/png"
    assert mask.content.startswith(PNG_SIGNATURE)

    series = _api(pkg, "patients.patients_series_retrieve").sync(
        client=client, id=patient.pk, body_site=site.id
    )
    assert isinstance(series, models.Series), series
    [site_series] = series.sites
    assert [point.photo_id for point in site_series.points] == [photo.id]

    trends = _api(pkg, "patients.patients_series_trends_retrieve").sync(
        client=client, id=patient.pk, body_site=site.id
    )
    assert isinstance(trends, models.Trends), trends
    assert trends.sites[0].status == models.TrendStatus.INSUFFICIENT_DATA  # one photo

    # The chart needs a body site, and the generated function says so by requiring it.
    chart = _api(pkg, "patients.patients_series_chart_png")
    required = inspect.signature(chart.sync_detailed).parameters["body_site"]
    assert required.default is inspect.Parameter.empty
    png = chart.sync_detailed(client=client, id=patient.pk, body_site=site.id)
    assert png.status_code == 200 and png.content.startswith(PNG_SIGNATURE)
