"""A clinician sees, in a real browser, why a photo was left out of the trends, sees it drawn
hollow on the chart, and includes it (issue 22). Screenshots go to test-artifacts/."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from diary.models import Photo
from tests.browser.test_progression_page import ARTIFACTS, _loaded, _log_in, browser  # noqa: F401
from tests.factories import BodySiteFactory
from tests.progression.conftest import START, analysed_photo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BLURRED = {
    "code": "blurred",
    "passed": False,
    "value": 0.71,
    "threshold": 0.55,
    "message": "The skin is blurred: hold the phone still and tap the skin to focus, then retake.",
}


def test_clinician_sees_the_refused_photo_and_includes_it(
    live_server,
    browser,  # noqa: F811
    clinician,
    patient_a,
):
    site = BodySiteFactory(patient=patient_a, label="left hand, dorsum")
    analyses = [
        analysed_photo(
            body_site=site, taken_at=START + dt.timedelta(days=30 * i), lesion_skin_fraction=f
        )
        for i, f in enumerate([0.40, 0.38, 0.70, 0.34, 0.32])
    ]
    refused = analyses[2].photo
    Photo.objects.filter(pk=refused.pk).update(quality_checks=[BLURRED], quality_ok=False)

    page = browser.new_page(viewport={"width": 1280, "height": 1800})
    _log_in(page, live_server, clinician)
    url = live_server.url + reverse("admin:diary_patient_progression", args=[patient_a.pk])
    page.goto(url)
    section = page.locator(f"section[data-body-site='{site.pk}']")
    assert all(width > 0 for width in _loaded(page, "img.progression-chart"))
    assert (
        "1 photo left out: a quality check failed" in section.locator(".site-verdict").inner_text()
    )
    assert "(4 photos" in section.locator(".site-verdict").inner_text()

    item = page.locator(f"#photo-{refused.pk}")
    assert "quality-failed" in item.get_attribute("class")
    assert item.get_attribute("data-counts-in-trends") == "false"
    reasons = item.locator(".quality-reasons li").all_inner_texts()
    assert len(reasons) == 1 and BLURRED["message"] in reasons[0]
    assert page.locator(".timeline-item.quality-failed").count() == 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "progression-quality-left-out.png"), full_page=True)
    section.locator("img.progression-chart").screenshot(
        path=str(ARTIFACTS / "progression-quality-hollow-point.png")
    )
    item.screenshot(path=str(ARTIFACTS / "progression-quality-reason.png"))

    # The chart the page shows marks the refused photo as hollow (its SVG twin names it).
    svg = page.request.get(
        live_server.url
        + reverse("api:patient-chart-svg", args=[patient_a.pk])
        + f"?body_site={site.pk}",
    )
    assert svg.status == 200
    assert 'id="quality-failed-lesion_skin_fraction"' in svg.text()
    assert "quality check failed: left out" in svg.text()

    item.locator("button", has_text="Include in the trends").click()
    page.wait_for_url(f"{url}#photo-{refused.pk}")
    item = page.locator(f"#photo-{refused.pk}")
    assert item.get_attribute("data-counts-in-trends") == "true"
    assert "included in the trends by a clinician" in item.inner_text()
    assert "left out" not in section.locator(".site-verdict").inner_text()
    assert "(5 photos" in section.locator(".site-verdict").inner_text()
    assert "now counts in the trends" in page.locator(".messagelist").inner_text()
    page.screenshot(path=str(ARTIFACTS / "progression-quality-included.png"), full_page=True)
    refused.refresh_from_db()
    assert refused.quality_included_by == clinician
    page.close()
