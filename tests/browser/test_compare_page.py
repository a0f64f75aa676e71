"""Before/after on the clinician's progression page, in a real browser (issue 23 §3).

Photos are analysed by the pipeline in-process (colour baseline + registration), the page asks
the API for the change with the admin session; screenshots go to test-artifacts/.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from diary.models import Analysis
from diary.services import alignment as alignment_service
from diary.services.analysis import photos_analyse
from segmentation.registration.synthetic import similarity, transformed
from tests.browser.test_progression_page import ARTIFACTS, _loaded, _log_in, browser  # noqa: F401
from tests.conftest import celery_conf
from tests.factories import BodySiteFactory
from tests.registration.scenes import stored_photo, textured_skin

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHAPE = (300, 400)


@pytest.fixture
def site_photos(patient_a):
    alignment_service._BASELINE_FEATURES.clear()
    site = BodySiteFactory(patient=patient_a, label="left hand, dorsum")
    before, _ = textured_skin(SHAPE, seed=3, lesion_radius=0.18)
    after, _ = textured_skin(SHAPE, seed=3, lesion_radius=0.12)
    moved = similarity(SHAPE, degrees=14, scale=1.1, shift=(10.0, -6.0))
    photos = [
        stored_photo(site, before, day=0),
        stored_photo(site, transformed(after, moved), day=60),
        stored_photo(site, textured_skin(SHAPE, seed=42)[0], day=120),  # another part of the body
    ]
    with celery_conf(task_always_eager=True):
        photos_analyse(photo_ids=[p.pk for p in photos])
        yield site, photos


def _compare(page, section, earlier, later) -> str:
    """Compare in the page; what it ended with (``aligned``, ``not-aligned`` or ``error``)."""
    section.locator("select[name=earlier]").select_option(str(earlier.pk))
    section.locator("select[name=later]").select_option(str(later.pk))
    section.locator(".compare-form button").click()
    selector = f"section.compare[data-compare-site='{earlier.body_site_id}']"
    page.wait_for_function(
        "s => !['loading', undefined].includes(document.querySelector(s).dataset.state)",
        arg=selector,
    )
    return section.get_attribute("data-state")


def test_clinician_compares_two_dated_photos(live_server, browser, clinician, patient_a,  # noqa: F811
                                             site_photos):  # fmt: skip
    site, (before, after, other) = site_photos
    page = browser.new_page(viewport={"width": 1280, "height": 1800})
    _log_in(page, live_server, clinician)
    page.goto(live_server.url + reverse("admin:diary_patient_progression", args=[patient_a.pk]))
    section = page.locator(f"section.compare[data-compare-site='{site.pk}']")
    assert section.locator("select[name=earlier] option").count() == 3

    assert _compare(page, section, before, after) == "aligned"
    selector = f"section.compare[data-compare-site='{site.pk}']"
    for part in ("compare-earlier", "compare-later", "compare-slider-later", "compare-overlay"):
        assert all(width > 0 for width in _loaded(page, f"{selector} img.{part}")), part
    figures = dict(
        zip(
            section.locator(".compare-figures th").all_inner_texts(),
            section.locator(".compare-figures td").all_inner_texts(),
            strict=True,
        )
    )
    repigmented = float(re.match(r"([\d.]+) %", figures["Repigmented (lesion to skin)"])[1])
    assert repigmented == pytest.approx(100 * (1 - (0.12 / 0.18) ** 2), abs=10)
    assert float(figures["New lesion (skin to lesion)"].split()[0]) < 5
    assert figures["Alignment error"].endswith(" px")
    assert "Before: 2025-01-06" in section.inner_text()

    # The slider uncovers the aligned later photo from the right.
    section.locator(".compare-slider-range").fill("20")
    clip = section.locator(".compare-slider-later").evaluate("img => img.style.clipPath")
    assert clip == "inset(0px 0px 0px 20%)" or clip == "inset(0 0 0 20%)"
    ARTIFACTS.mkdir(exist_ok=True)
    section.screenshot(path=str(ARTIFACTS / "compare-before-after.png"))

    # A photo of something else: refused in words, no figures, no change map.
    assert _compare(page, section, before, other) == "not-aligned"
    status = section.locator(".compare-status").inner_text()
    assert status.startswith("These photos could not be aligned:")
    assert section.locator(".compare-aligned").is_hidden()
    assert section.locator(".compare-figures").is_hidden()
    assert section.locator(".compare-note").is_hidden()
    later_photo = reverse("admin:diary_photo_file", args=[other.pk, "image"])
    assert section.locator("img.compare-later").get_attribute("src") == later_photo
    assert all(width > 0 for width in _loaded(page, f"{selector} img.compare-later"))
    section.screenshot(path=str(ARTIFACTS / "compare-not-aligned.png"))
    page.close()


def test_clinician_chooses_another_baseline(live_server, browser, clinician, patient_a,  # noqa: F811
                                            site_photos):  # fmt: skip
    site, (before, after, _) = site_photos
    page = browser.new_page(viewport={"width": 1280, "height": 1200})
    _log_in(page, live_server, clinician)
    page.goto(live_server.url + reverse("admin:diary_patient_progression", args=[patient_a.pk]))
    help_text = page.locator(f"section.compare[data-compare-site='{site.pk}'] .compare-help")
    assert f"photo {before.pk}" in help_text.inner_text()
    help_text.locator("a", has_text="choose another").click()
    page.wait_for_selector("#id_alignment_baseline")
    choices = page.locator("#id_alignment_baseline option").all_inner_texts()
    assert choices[1:] == [f"2025-01-06 (photo {before.pk})", f"2025-03-07 (photo {after.pk})",
                           f"2025-05-06 (photo {site_photos[1][2].pk})"]  # fmt: skip
    page.select_option("#id_alignment_baseline", str(after.pk))
    page.screenshot(path=str(ARTIFACTS / "compare-choose-baseline.png"), full_page=True)
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist")

    site.refresh_from_db()
    assert site.alignment_baseline_id == after.pk
    realigned = Analysis.objects.get(photo=before).alignment
    assert realigned["baseline_photo"] == after.pk and realigned["aligned"]
    page.goto(live_server.url + reverse("admin:diary_patient_progression", args=[patient_a.pk]))
    assert f"photo {after.pk}" in help_text.inner_text()
    page.close()
