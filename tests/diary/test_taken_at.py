"""When a photo was taken: plausible dates only, camera times in the patient's time zone, and
duplicate uploads that say what they did not apply."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from diary.models import Photo
from diary.services.people import patient_create
from tests.conftest import client_for
from tests.factories import BodySiteFactory, PatientFactory
from tests.images import photo_bytes

pytestmark = pytest.mark.django_db

SEOUL = ZoneInfo("Asia/Seoul")


def _upload(client, site, content: bytes, name: str = "photo.jpg", **extra):
    data = {"image": SimpleUploadedFile(name, content), "body_site": site.pk, **extra}
    return client.post(reverse("api:photo-list"), data, format="multipart")


@pytest.fixture
def seoul_site(clinician):
    patient = PatientFactory(clinicians=[clinician], time_zone="Asia/Seoul", birth_year=2000)
    return BodySiteFactory(patient=patient)


def _iso(value: dt.datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(
    ("taken_at", "code"),
    [
        (lambda now: now + dt.timedelta(days=30), "in_future"),
        (lambda now: now + dt.timedelta(minutes=11), "in_future"),
        (lambda now: dt.datetime(1989, 12, 31, 12, tzinfo=dt.UTC), "too_early"),
        # Born in 2000 in Seoul: 1999-12-31 20:00 UTC is already 2000 there, 14:00 UTC is not.
        (lambda now: dt.datetime(1999, 12, 31, 14, tzinfo=dt.UTC), "before_birth"),
    ],
)
def test_implausible_taken_at_is_a_400_on_taken_at_and_stores_nothing(
    seoul_site, taken_at, code, _media_root
):
    when = taken_at(timezone.now())
    response = _upload(
        client_for(seoul_site.patient.user), seoul_site, photo_bytes(), taken_at=_iso(when)
    )
    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["code"] == "invalid"
    assert list(body["errors"]) == ["taken_at"]
    [error] = body["errors"]["taken_at"]
    assert when.isoformat()[:16] in error["message"]
    assert {"in_future": "future", "too_early": "1990", "before_birth": "birth"}[code] in error[
        "message"
    ]
    assert Photo.objects.count() == 0
    stored = _media_root / "photos"
    assert not stored.exists() or not any(stored.rglob("*.*"))


@pytest.mark.parametrize(
    "taken_at",
    [
        lambda now: now + dt.timedelta(minutes=9),  # a phone clock a little ahead
        lambda now: dt.datetime(1999, 12, 31, 20, tzinfo=dt.UTC),  # 2000-01-01 05:00 in Seoul
    ],
)
def test_plausible_edges_are_accepted(seoul_site, taken_at, django_capture_on_commit_callbacks):
    when = taken_at(timezone.now()).replace(microsecond=0)
    with django_capture_on_commit_callbacks(execute=False):
        response = _upload(
            client_for(seoul_site.patient.user), seoul_site, photo_bytes(), taken_at=_iso(when)
        )
    assert response.status_code == 201, response.json()
    assert Photo.objects.get().taken_at == when


def test_the_clock_skew_allowance_is_a_setting(seoul_site, settings):
    settings.PHOTO_TAKEN_AT_CLOCK_SKEW = dt.timedelta(0)
    when = timezone.now() + dt.timedelta(minutes=2)
    response = _upload(
        client_for(seoul_site.patient.user), seoul_site, photo_bytes(), taken_at=_iso(when)
    )
    assert response.status_code == 400 and "taken_at" in response.json()["errors"]


def test_a_client_time_without_offset_is_the_patients_local_time(
    seoul_site, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        response = _upload(
            client_for(seoul_site.patient.user),
            seoul_site,
            photo_bytes(),
            taken_at="2026-05-01T10:00:00",
        )
    assert response.status_code == 201, response.json()
    assert Photo.objects.get().taken_at == dt.datetime(2026, 5, 1, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("offset", "expected_utc"),
    [
        (None, dt.datetime(2025, 12, 24, 0, 30, tzinfo=dt.UTC)),  # Seoul, UTC+9
        ("-05:00", dt.datetime(2025, 12, 24, 14, 30, tzinfo=dt.UTC)),  # the camera said so
    ],
)
def test_exif_time_uses_its_offset_else_the_patients_time_zone(
    seoul_site, offset, expected_utc, django_capture_on_commit_callbacks
):
    content = photo_bytes(
        fmt="JPEG", taken_at=dt.datetime(2025, 12, 24, 9, 30), taken_at_offset=offset
    )
    with django_capture_on_commit_callbacks(execute=False):
        response = _upload(client_for(seoul_site.patient.user), seoul_site, content)
    assert response.status_code == 201, response.json()
    photo = Photo.objects.get()
    assert photo.taken_at_source == "exif"
    assert photo.taken_at == expected_utc


def test_an_implausible_exif_date_gives_way_to_the_clients(
    seoul_site, django_capture_on_commit_callbacks
):
    # A camera whose clock was never set: 1980 is before 1990 and before the patient's birth.
    content = photo_bytes(fmt="JPEG", taken_at=dt.datetime(1980, 1, 1, 0, 0))
    with django_capture_on_commit_callbacks(execute=False):
        response = _upload(
            client_for(seoul_site.patient.user),
            seoul_site,
            content,
            taken_at="2026-03-02T08:00:00+09:00",
        )
    assert response.status_code == 201, response.json()
    photo = Photo.objects.get()
    assert photo.taken_at_source == "client"
    assert photo.taken_at == dt.datetime(2026, 3, 1, 23, tzinfo=dt.UTC)


def test_same_bytes_again_say_the_new_taken_at_was_not_applied(
    seoul_site, django_capture_on_commit_callbacks
):
    client = client_for(seoul_site.patient.user)
    other_site = BodySiteFactory(patient=seoul_site.patient)
    content = photo_bytes(colour_shift=11)
    with django_capture_on_commit_callbacks(execute=False):
        first = _upload(client, seoul_site, content, taken_at="2026-01-05T10:00:00Z")
        again = _upload(client, other_site, content, taken_at="2026-02-05T10:00:00Z")
    assert first.status_code == 201
    assert "duplicate_of" not in first.json()
    assert again.status_code == 200
    body = again.json()
    assert body["id"] == body["duplicate_of"] == first.json()["id"]
    assert "taken_at" in body["detail"] and "not applied" in body["detail"]
    assert body["taken_at"] == first.json()["taken_at"]
    assert body["body_site"] == seoul_site.pk
    photo = Photo.objects.get()
    assert photo.taken_at == dt.datetime(2026, 1, 5, 10, tzinfo=dt.UTC)


def test_time_zone_defaults_to_the_sites_and_must_be_an_iana_name(settings):
    settings.TIME_ZONE = "Europe/Paris"
    patient = patient_create(username="tz1", password="x", validate=False)
    assert patient.time_zone == "Europe/Paris"
    with pytest.raises(ValidationError):
        patient_create(username="tz2", password="x", validate=False, time_zone="Mars/Olympus")
    patient.time_zone = "../../etc/passwd"
    with pytest.raises(ValidationError) as raised:
        patient.full_clean()
    assert "time_zone" in raised.value.message_dict


def test_time_zone_is_in_the_patient_api(seoul_site):
    patient = seoul_site.patient
    body = client_for(patient.user).get(reverse("api:patient-detail", args=[patient.pk])).json()
    assert body["time_zone"] == "Asia/Seoul"


def test_staff_set_a_time_zone_in_the_admin_and_a_wrong_one_is_refused(client, staff):
    patient = PatientFactory()
    client.force_login(staff)
    url = reverse("admin:diary_patient_change", args=[patient.pk])
    form = {
        "user": patient.user.pk,
        "sex": patient.sex,
        "birth_year": patient.birth_year,
        "fitzpatrick_skin_type": patient.fitzpatrick_skin_type,
        **{
            f"{prefix}-{key}": value
            for prefix in ("body_sites", "treatments")
            for key, value in {
                "TOTAL_FORMS": 0,
                "INITIAL_FORMS": 0,
                "MIN_NUM_FORMS": 0,
                "MAX_NUM_FORMS": 1000,
            }.items()
        },
    }
    refused = client.post(url, {**form, "time_zone": "Mars/Olympus"})
    assert refused.status_code == 200
    assert "is not an IANA time zone name" in refused.content.decode()
    saved = client.post(url, {**form, "time_zone": "America/Sao_Paulo"})
    assert saved.status_code == 302, saved.content.decode()[:2000]
    patient.refresh_from_db()
    assert patient.time_zone == "America/Sao_Paulo"
