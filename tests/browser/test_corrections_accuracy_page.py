"""The model's accuracy in the clinic in a real browser: a clinician reaches it from the photo
list, sees their patients' corrected photos only, every link on it opens; screenshot kept under
test-artifacts/."""

from __future__ import annotations

import pytest
from django.urls import reverse

from segmentation.severity.baseline import BASELINE_VERSION_LABEL
from tests.browser.test_progression_page import (  # noqa: F401
    ARTIFACTS,
    _broken_links,
    _loaded,
    _log_in,
    browser,
)
from tests.diary.test_corrections_accuracy import clinic  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_correction_accuracy_page_in_a_browser(live_server, browser, clinic, clinician):  # noqa: F811
    page = browser.new_page(viewport={"width": 1400, "height": 1200})
    _log_in(page, live_server, clinician)
    page.goto(live_server.url + reverse("admin:diary_photo_changelist"))
    page.click(f"a[href='{reverse('admin:diary_accuracy_index')}']")
    version_url = reverse("admin:diary_model_accuracy", args=[BASELINE_VERSION_LABEL])
    page.click(f"#accuracy-versions a[href='{version_url}']")
    page.wait_for_selector("#accuracy-worst")

    shown = page.eval_on_selector_all(
        "#accuracy-worst tr[data-photo]", "rows => rows.map(r => Number(r.dataset.photo))"
    )
    assert sorted(shown) == sorted([clinic["large"].pk, clinic["small"].pk])
    assert page.inner_text("#accuracy-overall td[data-figure=photos]") == "2"
    assert all(width > 0 for width in _loaded(page, "#accuracy-worst img"))
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "accuracy-page.png"), full_page=True)
    assert _broken_links(page) == {}
    page.close()
