"""The mask editor in a real browser (issue 21 part 1): a clinician opens a photo from the
progression timeline, paints and erases its mask with the mouse (and with a finger), saves, and the
series and the trend verdict then use the corrected measures. Unassigned clinicians get 404s;
malformed masks posted from the page get a clear 400 and store nothing. Photos are analysed by the
colour baseline in-process; screenshots go to test-artifacts/.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from PIL import Image

from diary.models import Analysis, Correction, CorrectionScore
from diary.progression.display import CLINICAL_MEASURES, VERDICTS
from diary.services.analysis import photos_analyse
from tests.browser.test_progression_page import ARTIFACTS, _loaded, _log_in, browser  # noqa: F401
from tests.conftest import client_for
from tests.diary.test_corrections_api import mask_png, post_correction
from tests.factories import BodySiteFactory, PhotoFactory
from tests.images import photo_image
from tests.progression.conftest import START

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

W, H = 400, 300
EXTENT = CLINICAL_MEASURES[0]  # the depigmented area, first row of the page's trend table
assert EXTENT.key == "lesion_skin_fraction"


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def series(patient_a):
    """Four photos of a shrinking pale patch, analysed by the colour baseline (real masks)."""
    site = BodySiteFactory(patient=patient_a, label="left forearm")
    photos = [
        PhotoFactory(
            body_site=site,
            taken_at=START + dt.timedelta(days=30 * i),
            width=W,
            height=H,
            image=ContentFile(_png(photo_image((W, H), lesion_box=box)), name="p.png"),
        )
        for i, box in enumerate([0.50, 0.45, 0.40, 0.35])
    ]
    photos_analyse(photo_ids=[p.pk for p in photos])
    assert Analysis.objects.filter(photo__in=photos).count() == 4
    return site, photos


def _stored(settings) -> list[Path]:
    return sorted(p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file())


def _mask_of(field_file) -> np.ndarray:
    with field_file.open("rb") as handle, Image.open(handle) as image:
        return np.asarray(image.convert("L")) >= 128


class View:
    """Photo pixels to page coordinates, for the editor's canvas at a given zoom (about the
    canvas's centre, as the zoom buttons do)."""

    def __init__(self, page, zoom: float = 1.0):
        box = page.locator(".mask-editor-canvas").bounding_box()
        self.fit = min(box["width"] / W, box["height"] / H)
        self.scale = self.fit * zoom
        self.cx, self.cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

    def __call__(self, x: float, y: float) -> tuple[float, float]:
        return self.cx + (x - W / 2) * self.scale, self.cy + (y - H / 2) * self.scale


def _open_editor(page, selector: str) -> None:
    page.click(selector)
    page.wait_for_url("**/mask-editor/")
    page.wait_for_selector("#mask-editor[data-state=ready]")


def _drag(page, view: View, points: list[tuple[float, float]], steps: int = 1) -> None:
    page.mouse.move(*view(*points[0]))
    page.mouse.down()
    for point in points[1:]:
        page.mouse.move(*view(*point), steps=steps)
    page.mouse.up()


def _set_size(page, size: int) -> None:
    """The size slider moved with the keyboard, as a user without a mouse would."""
    slider = page.locator("input[name=size]")
    slider.focus()
    current = int(slider.input_value())
    for _ in range(abs(size - current)):
        slider.press("ArrowRight" if size > current else "ArrowLeft")
    assert page.inner_text(".mask-editor-size-value") == f"{size} px"


def _extent_cells(page, site) -> list[str]:
    row = page.locator(f"section[data-body-site='{site.pk}'] tr[data-measure='{EXTENT.key}']")
    return row.locator("td").all_inner_texts()


def test_clinician_draws_erases_and_saves_a_correction_from_the_timeline(
    live_server,
    browser,  # noqa: F811
    clinician,
    patient_a,
    series,
):
    site, photos = series
    latest = photos[-1]
    model_mask = _mask_of(latest.latest_analysis.mask)
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    _log_in(page, live_server, clinician)
    page.goto(live_server.url + reverse("admin:diary_patient_progression", args=[patient_a.pk]))
    before = _extent_cells(page, site)
    assert page.locator(".mask-source-clinician").count() == 0

    _open_editor(page, f"#photo-{latest.pk} a.mask-editor-link")
    ARTIFACTS.mkdir(exist_ok=True)
    assert "the model's mask" in page.inner_text(".mask-editor-loaded")
    assert "0 corrections saved so far" in page.inner_text(".mask-editor-history")
    page.screenshot(path=str(ARTIFACTS / "mask-editor-loaded.png"), full_page=True)

    # A fast brush stroke along the top of the photo, on skin: three mouse events 140 photo
    # pixels apart, far more than the 20-pixel brush, so any gap would show in the saved mask.
    _set_size(page, 20)
    view = View(page)
    _drag(page, view, [(40, 40), (180, 40), (360, 40)])
    assert page.get_attribute("#mask-editor", "data-edited") == "true"
    page.screenshot(path=str(ARTIFACTS / "mask-editor-drawn.png"), full_page=True)

    # The eraser cuts the stroke in two; undo brings the cut back, redo erases it again.
    page.click("button[data-tool=eraser]")
    assert page.get_attribute("button[data-tool=eraser]", "aria-pressed") == "true"
    _drag(page, view, [(200, 10), (200, 70)], steps=4)
    assert page.get_attribute("#mask-editor", "data-undo") == "2"
    page.click("button[data-action=undo]")
    page.click("button[data-action=redo]")
    assert page.get_attribute("#mask-editor", "data-undo") == "2"

    # Zoomed in for a small lesion: a 4-pixel stroke near the patch, then the view moved and
    # fitted again.
    page.click("button[data-tool=brush]")
    page.click("button[data-action=zoom-in]")
    page.click("button[data-action=zoom-in]")
    assert float(page.get_attribute("#mask-editor", "data-zoom")) == pytest.approx(2.25)
    _set_size(page, 4)
    _drag(page, View(page, zoom=2.25), [(118, 88), (138, 88)], steps=3)
    page.screenshot(path=str(ARTIFACTS / "mask-editor-zoomed.png"), full_page=True)
    page.click("button[data-tool=pan]")
    zoomed = View(page, zoom=2.25)
    _drag(page, zoomed, [(115, 205), (125, 210), (135, 215)])  # over skin: paints nothing
    page.click("button[data-action=zoom-fit]")
    assert page.get_attribute("#mask-editor", "data-zoom") == "1.000"

    page.click("button[data-action=save]")
    page.wait_for_selector("#mask-editor[data-state=saved]")
    page.screenshot(path=str(ARTIFACTS / "mask-editor-saved.png"), full_page=True)
    correction = Correction.objects.get()
    assert correction.photo_id == latest.pk and correction.corrected_by == clinician
    assert page.get_attribute("#mask-editor", "data-correction") == str(correction.pk)
    assert "1 correction saved so far" in page.inner_text(".mask-editor-history")
    score = CorrectionScore.objects.get(correction=correction)
    assert page.inner_text("[data-result=f1]") == f"{score.f1:.3f}"
    assert page.inner_text("[data-result=lesion_skin_fraction]") == EXTENT.format(
        correction.lesion_skin_fraction
    )

    # The saved mask is the model's, plus the strokes, minus the erased cut, pixel for pixel.
    # Away from the strokes' rounded ends and borders, where a pointer position rounded to a
    # screen pixel moves the edge by a photo pixel.
    saved = _mask_of(correction.mask)
    assert saved.shape == (H, W)
    assert saved[33:48, 45:189].all() and saved[33:48, 212:356].all()  # the stroke, both sides
    assert not saved[33:48, 193:208].any()  # the eraser's cut
    assert saved[87:89, 121:136].all()  # the small stroke drawn zoomed in
    touched = np.zeros((H, W), bool)
    touched[26:55, 26:375] = True  # the stroke and its ends
    touched[5:76, 186:215] = True  # the cut
    touched[83:94, 113:144] = True  # the small stroke
    assert np.array_equal(saved[~touched], model_mask[~touched])  # panning painted nothing
    assert np.count_nonzero(saved & ~model_mask) > 0.9 * np.count_nonzero(
        ~model_mask[33:48, 45:356]
    )

    # The API: the series point and the trends use the correction's measures.
    api = client_for(clinician)
    points = api.get(reverse("api:patient-series", args=[patient_a.pk])).json()["sites"][0]
    point = next(p for p in points["points"] if p["photo_id"] == latest.pk)
    assert point["mask_source"] == "clinician"
    assert point["lesion_skin_fraction"] == pytest.approx(correction.lesion_skin_fraction)
    assert point["lesion_skin_fraction"] != pytest.approx(
        latest.latest_analysis.lesion_skin_fraction
    )
    trends = api.get(reverse("api:patient-trends", args=[patient_a.pk])).json()["sites"][0]
    extent = trends["measures"][EXTENT.key]
    assert extent["latest"] == pytest.approx(correction.lesion_skin_fraction)

    # Back on the progression page (the editor's own link): the verdict reads the correction.
    page.click("a.mask-editor-back")
    page.wait_for_selector(".progression-chart")
    after = _extent_cells(page, site)
    assert after[1] == EXTENT.format(correction.lesion_skin_fraction) != before[1]
    assert after[2] == EXTENT.format(extent["change_since_baseline"], signed=True)
    assert after[-1] == VERDICTS[extent["status"]][0]
    verdict = page.inner_text(f"section[data-body-site='{site.pk}'] .site-verdict span")
    assert verdict == VERDICTS[trends["status"]][0]
    item = page.locator(f"#photo-{latest.pk}")
    assert item.locator(".mask-source-clinician").inner_text() == "mask: corrected by a clinician"
    assert page.locator(".mask-source-clinician").count() == 1
    assert all(width > 0 for width in _loaded(page, "img.progression-chart"))
    page.screenshot(path=str(ARTIFACTS / "mask-editor-progression-after.png"), full_page=True)
    page.close()


def _touch(cdp, kind: str, points: list[tuple[float, float]]) -> None:
    """A touch event through the DevTools protocol: Playwright's touchscreen only taps."""
    touch_points = [{"x": x, "y": y, "id": i} for i, (x, y) in enumerate(points)]
    cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": touch_points})


def test_a_correction_drawn_with_a_finger_from_the_photo_page(
    live_server,
    browser,  # noqa: F811
    clinician,
    series,
):
    _, photos = series
    photo = photos[0]
    model_mask = _mask_of(photo.latest_analysis.mask)
    context = browser.new_context(viewport={"width": 1024, "height": 1200}, has_touch=True)
    page = context.new_page()
    _log_in(page, live_server, clinician)
    page.goto(live_server.url + reverse("admin:diary_photo_change", args=[photo.pk]))
    assert "none: the model's mask is in force" in page.inner_text(".field-corrections_history")
    _open_editor(page, ".field-mask_editor_link a.mask-editor-link")
    assert (
        page.evaluate("getComputedStyle(document.querySelector('.mask-editor-canvas')).touchAction")
        == "none"
    )

    _set_size(page, 12)
    view = View(page)
    cdp = context.new_cdp_session(page)
    # One finger drags along the bottom of the photo, over skin, in four big jumps.
    stroke = [view(x, 262) for x in (40, 140, 240, 360)]
    _touch(cdp, "touchStart", stroke[:1])
    for point in stroke[1:]:
        _touch(cdp, "touchMove", [point])
    _touch(cdp, "touchEnd", [])
    page.touchscreen.tap(*view(380, 20))  # a tap paints one brush-sized dot
    page.screenshot(path=str(ARTIFACTS / "mask-editor-touch.png"), full_page=True)
    # Two fingers pinch apart: the view zooms, and the mask is left as it was.
    a, b = view(30, 150), view(60, 150)
    _touch(cdp, "touchStart", [a, b])
    _touch(cdp, "touchMove", [(a[0] - 60, a[1]), (b[0] + 60, b[1])])
    _touch(cdp, "touchEnd", [])
    assert float(page.get_attribute("#mask-editor", "data-zoom")) > 1.5
    page.screenshot(path=str(ARTIFACTS / "mask-editor-touch-pinched.png"), full_page=True)
    page.click("button[data-action=zoom-fit]")

    page.click("button[data-action=save]")
    page.wait_for_selector("#mask-editor[data-state=saved]")
    saved = _mask_of(Correction.objects.get(photo=photo).mask)
    assert saved[258:267, 50:351].all()  # the finger's stroke, without gaps
    assert saved[17:24, 377:384].all()  # the tap
    touched = np.zeros((H, W), bool)
    touched[250:275, 30:372] = True
    touched[12:29, 372:389] = True
    assert np.array_equal(saved[~touched], model_mask[~touched])  # the pinch painted nothing

    page.goto(live_server.url + reverse("admin:diary_photo_change", args=[photo.pk]))
    history = page.inner_text(".field-corrections_history")
    assert f"by {clinician.username}, model baseline:colour-threshold-v1: F1 " in history
    assert "(in force: a clinician's correction)" in page.inner_text(".field-mask_editor_link")
    context.close()


def test_a_clinician_not_assigned_to_the_patient_gets_404_for_the_correction_editor_and_api(
    live_server,
    browser,  # noqa: F811
    other_clinician,
    series,
    settings,
):
    _, photos = series
    photo = photos[-1]
    before = _stored(settings)
    page = browser.new_page()
    _log_in(page, live_server, other_clinician)
    editor = live_server.url + reverse("admin:diary_photo_mask_editor", args=[photo.pk])
    assert page.goto(editor).status == 404
    page.goto(live_server.url + reverse("admin:index"))
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    answer = page.evaluate(
        """async ([url, token]) => {
            const form = new FormData();
            const canvas = Object.assign(document.createElement("canvas"), {width: 400,
                                                                             height: 300});
            form.append("mask", await new Promise(r => canvas.toBlob(r, "image/png")), "mask.png");
            const response = await fetch(url, {method: "POST", body: form,
                                               headers: {"X-CSRFToken": token}});
            return [response.status, await response.json()];
        }""",
        [reverse("api:photo-corrections", kwargs={"pk": photo.pk}), token],
    )
    assert answer == [404, {"detail": "Not found.", "code": "not_found"}]
    assert Correction.objects.count() == 0 and _stored(settings) == before
    page.close()


POST_FROM_PAGE = """async ([url, kind]) => {
    const token = document.querySelector("#mask-editor input[name=csrfmiddlewaretoken]").value;
    let file;
    if (kind === "wrong-size") {  // the editor's own export, one pixel too wide
        const canvas = Object.assign(document.createElement("canvas"), {width: 401, height: 300});
        const ctx = canvas.getContext("2d");
        ctx.fillStyle = "#000"; ctx.fillRect(0, 0, 401, 300);
        file = new File([await new Promise(r => canvas.toBlob(r, "image/png"))], "mask.png",
                        {type: "image/png"});
    } else if (kind === "not-an-image") {
        const bytes = new Uint8Array(4096).map((_, i) => (i * 7919) % 256);
        file = new File([bytes], "mask.png", {type: "image/png"});
    } else {
        file = new File(["lesion in the upper left, please\\n"], "mask.txt", {type: "text/plain"});
    }
    const form = new FormData();
    form.append("mask", file);
    const response = await fetch(url, {
        method: "POST", body: form, credentials: "same-origin",
        headers: {"X-CSRFToken": token, Accept: "application/json"},
    });
    return [response.status, await response.json()];
}"""


def test_a_malformed_correction_from_the_page_gets_a_clear_error_and_changes_nothing(
    live_server,
    browser,  # noqa: F811
    clinician,
    series,
    settings,
):
    _, photos = series
    photo = photos[-1]
    page = browser.new_page(viewport={"width": 1280, "height": 1200})
    _log_in(page, live_server, clinician)
    page.goto(live_server.url + reverse("admin:diary_photo_mask_editor", args=[photo.pk]))
    page.wait_for_selector("#mask-editor[data-state=ready]")
    url = reverse("api:photo-corrections", kwargs={"pk": photo.pk})
    before = _stored(settings)
    expected = {
        "wrong-size": ("mask_size_mismatch", "The mask is 401x300 pixels; the photo is 400x300."),
        "not-an-image": ("invalid_image", "The mask is not a readable image"),
        "text-file": ("invalid_image", "The mask is not a readable image"),
    }
    for kind, (code, message) in expected.items():
        status, body = page.evaluate(POST_FROM_PAGE, [url, kind])
        assert status == 400, (kind, body)
        assert body["code"] == code and body["detail"].startswith(message), (kind, body)
        assert body["errors"]["mask"][0]["code"] == code
    assert Correction.objects.count() == 0 and CorrectionScore.objects.count() == 0
    assert _stored(settings) == before

    # The editor shows the server's refusal: here the mask is over the upload limit.
    settings.PHOTO_MAX_UPLOAD_BYTES = 64
    _drag(page, View(page), [(40, 40), (360, 40)])
    page.click("button[data-action=save]")
    page.wait_for_selector("#mask-editor[data-state=error]")
    status = page.inner_text(".mask-editor-status")
    assert status.startswith("Not saved: The file has ") and "at most 64 are accepted" in status
    assert status.endswith("[file_too_large]")
    assert page.locator(".mask-editor-result").is_hidden()
    page.screenshot(path=str(ARTIFACTS / "mask-editor-error.png"), full_page=True)
    assert Correction.objects.count() == 0 and _stored(settings) == before

    # Nothing was lost in the browser: with the limit back, the same drawing saves.
    settings.PHOTO_MAX_UPLOAD_BYTES = 20 * 1024 * 1024
    page.click("button[data-action=save]")
    page.wait_for_selector("#mask-editor[data-state=saved]")
    assert _mask_of(Correction.objects.get().mask)[37:44, 50:351].all()  # the 8-pixel brush
    page.close()


def test_the_correction_in_force_is_reopened_and_reset_to_the_models_mask(
    live_server,
    browser,  # noqa: F811
    clinician,
    series,
):
    _, photos = series
    photo = photos[1]
    drawn = np.zeros((H, W), bool)
    drawn[100:200, 50:350] = True
    api = client_for(clinician)
    assert post_correction(api, photo, mask_png(drawn)).status_code == 201
    page = browser.new_page(viewport={"width": 1280, "height": 1200})
    _log_in(page, live_server, clinician)
    page.goto(live_server.url + reverse("admin:diary_photo_mask_editor", args=[photo.pk]))
    page.wait_for_selector("#mask-editor[data-state=ready]")
    loaded = page.inner_text(".mask-editor-loaded")
    assert loaded.startswith(f"a clinician's correction ({clinician.username}, ")
    assert page.inner_text(".mask-editor-history") == "1 correction saved so far"

    # Keyboard shortcuts: E for the eraser, Ctrl+Z to take the stroke back.
    page.keyboard.press("e")
    assert page.get_attribute("#mask-editor", "data-tool") == "eraser"
    _drag(page, View(page), [(60, 150), (340, 150)])
    page.keyboard.press("Control+z")
    assert page.get_attribute("#mask-editor", "data-undo") == "0"

    page.click("button[data-action=reset]")
    page.wait_for_selector("#mask-editor[data-state=ready][data-edited=true]")
    assert page.inner_text(".mask-editor-status").startswith("The model's mask is back")
    page.click("button[data-action=save]")
    page.wait_for_selector("#mask-editor[data-state=saved]")
    assert page.inner_text(".mask-editor-history") == "2 corrections saved so far"
    newest = Correction.objects.filter(photo=photo).order_by("-created_at", "-id").first()
    assert np.array_equal(_mask_of(newest.mask), _mask_of(photo.latest_analysis.mask))
    assert page.inner_text("[data-result=f1]") == "1.000"
    page.close()
