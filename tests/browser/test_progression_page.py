"""A clinician's progression page in a real browser (Debian's Chromium through Playwright).

Checks that the chart and the mask overlays actually load (``naturalWidth > 0``), not only that
the tags are there, and keeps screenshots under test-artifacts/ (kept by CI as artifacts).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest
from django.db import connections
from django.urls import reverse

from diary.progression.display import CLINICAL_MEASURES, MIN_AXIS_SPAN_MDCS, VERDICTS
from tests.conftest import IN_CI
from tests.factories import BodySiteFactory, PhotoFactory, TreatmentEntryFactory
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
        # The ORM calls made while Playwright's loop runs open connections of their own (Django
        # keeps them per context, not per thread), which pytest-django's teardown does not see:
        # left open, the test database could not be dropped at the end of the run.
        connections.close_all()


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


def _log_in(page, live_server, user) -> None:
    page.goto(live_server.url + reverse("admin:login"))
    page.fill("#id_username", user.username)
    page.fill("#id_password", "correct-horse-battery")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")


def _broken_links(page) -> dict[str, int]:
    """Every link on the page fetched with the viewer's session: those that do not answer 200."""
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    assert hrefs, "the page has no links at all"
    statuses = {href: page.request.get(href).status for href in dict.fromkeys(hrefs)}
    return {href: status for href, status in statuses.items() if status != 200}


def test_page_reads_like_a_clinical_chart(live_server, browser, clinician, patient_a):
    """Issue 12 §4, on a page with one empty and one populated body site."""
    empty = BodySiteFactory(patient=patient_a, label="right knee")
    PhotoFactory(body_site=empty, taken_at=START)  # uploaded, never analysed
    site = BodySiteFactory(patient=patient_a, label="left hand, dorsum")
    # The extent falls by 20 points; ΔE wobbles by 0.15, far below its MDC.
    for i, (fraction, delta_e) in enumerate([(0.42, 12.0), (0.36, 12.1), (0.30, 11.95),
                                             (0.26, 12.15), (0.22, 12.05)]):  # fmt: skip
        analysed_photo(
            body_site=site,
            taken_at=START + dt.timedelta(days=30 * i),
            lesion_skin_fraction=fraction,
            delta_e2000=delta_e,
        )
    TreatmentEntryFactory(patient=patient_a, body_site=site, date=START.date())

    page = browser.new_page(viewport={"width": 1280, "height": 1600})
    _log_in(page, live_server, clinician)
    page.goto(live_server.url + reverse("admin:diary_patient_progression", args=[patient_a.pk]))
    ARTIFACTS.mkdir(exist_ok=True)

    # The empty site: its heading and one line of text; no chart, no table, no timeline.
    empty_section = page.locator(f"section[data-body-site='{empty.pk}']")
    lines = [line for line in empty_section.inner_text().splitlines() if line.strip()]
    assert lines == [str(empty), "No analysed photos of this body site yet."]
    assert empty_section.locator("img, table, canvas, svg").count() == 0
    empty_section.screenshot(path=str(ARTIFACTS / "progression-empty-site.png"))

    # The populated site: the chart loads, and names its panels as the table names its rows.
    section = page.locator(f"section[data-body-site='{site.pk}']")
    # Every picture the page shows loads; the before/after block's stay empty until a clinician
    # compares two photos (tests/browser/test_compare_page.py).
    shown = f"section[data-body-site='{site.pk}'] img:not(.compare-result img)"
    assert all(width > 0 for width in _loaded(page, shown))
    titles = [display.title for display in CLINICAL_MEASURES]
    assert "Depigmented area, % of visible skin" in titles and "Colour contrast ΔE2000" in titles
    rows = section.locator("table.progression-trend tbody tr")
    assert rows.locator("th").all_inner_texts() == titles
    alt = section.locator("img.progression-chart").get_attribute("alt")
    assert alt == f"Chart of {site}: " + "; ".join(titles)
    # One unit everywhere: the extent in % of skin, never as a 0-1 fraction, never a code name.
    extent = rows.nth(0).locator("td").all_inner_texts()
    assert extent[:3] == ["42.0 %", "22.0 %", "-20.0 %"]
    assert extent[4] == "6.0 %"  # its MDC, in the same unit
    text = page.inner_text("#content-main")
    for code in ("lesion_skin_fraction", "delta_e2000", "ita_difference", "insufficient_data"):
        assert code not in text

    # Each axis spans at least a few MDCs and keeps baseline ± MDC in view.
    for i in range(rows.count()):
        row = rows.nth(i)
        low, high, mdc = (float(row.get_attribute(f"data-{k}")) for k in ("axis-low", "axis-high",
                                                                           "mdc"))  # fmt: skip
        baseline = float(row.get_attribute("data-baseline"))
        assert high - low >= MIN_AXIS_SPAN_MDCS * mdc - 1e-6
        assert high >= baseline + mdc and (low <= baseline - mdc or low == 0.0)
    delta_e = rows.nth(1)
    assert delta_e.locator("td").last.inner_text() == "Stable"
    assert "baseline" in page.inner_text("#content-main") and "MDC" in text

    # Every verdict shown is explained on the page, in one sentence each.
    explained = dict(
        zip(
            page.locator("#verdicts dt").all_inner_texts(),
            page.locator("#verdicts dd").all_inner_texts(),
            strict=True,
        )
    )
    assert explained == {label: sentence for label, sentence in VERDICTS.values()}
    shown = set(section.locator("td[class^=status-], .site-verdict span").all_inner_texts())
    assert shown and shown <= set(explained)
    assert "Improving" in shown

    section.screenshot(path=str(ARTIFACTS / "progression-populated-site.png"))
    page.screenshot(path=str(ARTIFACTS / "progression-page.png"), full_page=True)

    # No link the clinician cannot open: on this page and on the patient's record it links to.
    assert _broken_links(page) == {}
    page.click(
        f".breadcrumbs a[href='{reverse('admin:diary_patient_change', args=[patient_a.pk])}']"
    )
    page.wait_for_selector("#patient_form")
    assert _broken_links(page) == {}
    assert patient_a.user.username in page.inner_text("#patient_form")
    page.screenshot(path=str(ARTIFACTS / "patient-record-clinician.png"), full_page=True)
    page.close()
