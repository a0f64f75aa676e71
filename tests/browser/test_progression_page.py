"""A clinician's progression page in a real browser (Debian's Chromium through Playwright).

Checks that the chart and the mask overlays actually load (``naturalWidth > 0``), not only that
the tags are there, and keeps a screenshot under test-artifacts/.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest
from django.urls import reverse

from tests.conftest import IN_CI
from tests.factories import BodySiteFactory, TreatmentEntryFactory
from tests.progression.conftest import START, analysed_photo

# Sync Playwright runs an event loop in this thread; Django's ORM refuses that without this.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def browser():
    if not CHROMIUM.exists() and not shutil.which("chromium"):
        message = "Debian's chromium is not installed (make browser)"
        if IN_CI:
            pytest.fail(message + ": CI=true requires it")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


def _loaded(page, selector: str) -> list[int]:
    """naturalWidth of every image matching ``selector``, once each has finished loading."""
    page.wait_for_function(
        "s => [...document.querySelectorAll(s)].every(img => img.complete)", arg=selector
    )
    return page.eval_on_selector_all(selector, "imgs => imgs.map(img => img.naturalWidth)")


def test_clinician_sees_chart_and_overlays(live_server, browser, clinician, patient_a, patient_b):
    site = BodySiteFactory(patient=patient_a, label="left hand, dorsum")
    for i, fraction in enumerate([0.42, 0.38, 0.33, 0.27, 0.22]):
        when = START + dt.timedelta(days=30 * i)
        analysed_photo(body_site=site, taken_at=when, lesion_skin_fraction=fraction)
    TreatmentEntryFactory(patient=patient_a, body_site=site, date=START.date())
    analysed_photo(body_site=BodySiteFactory(patient=patient_b), taken_at=START)

    page = browser.new_page(viewport={"width": 1280, "height": 1600})
    page.goto(live_server.url + reverse("admin:login"))
    page.fill("#id_username", clinician.username)
    page.fill("#id_password", "correct-horse-battery")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")

    page.goto(live_server.url + reverse("admin:diary_patient_changelist"))
    page.click(f"a[href='{reverse('admin:diary_patient_progression', args=[patient_a.pk])}']")
    page.wait_for_selector(".progression-chart")

    charts = _loaded(page, "img.progression-chart")
    overlays = _loaded(page, "img.timeline-overlay")
    photos = _loaded(page, "img.timeline-photo")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "progression-page.png"), full_page=True)
    assert charts and all(width > 0 for width in charts)
    assert len(overlays) == 5 and all(width > 0 for width in overlays)
    assert len(photos) == 5 and all(width > 0 for width in photos)
    assert "phototherapy" in page.inner_text("#treatments")

    # Another clinician's patient: not in the list, and its page is a 404.
    assert (
        page.locator(
            f"a[href='{reverse('admin:diary_patient_progression', args=[patient_b.pk])}']"
        ).count()
        == 0
    )
    response = page.goto(
        live_server.url + reverse("admin:diary_patient_progression", args=[patient_b.pk])
    )
    assert response.status == 404
    page.close()
