"""The face tab as a person meets it, in Chromium at 1440 and 390 px, in English and Chinese: ask a question about a
photo and see the measured and VLM answers side by side with the overlay (a Chinese page asks and is answered in
Chinese), bad input as a clear error in the reader's language, then generate faces with attributes and see the
closed-loop check with captions under the pictures. Nothing pushes the page wider than a phone."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.ux_helpers import CHINESE, VIEW_IDS, VIEWS, browser, field, fits_the_width, open_page, open_tab, shot

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
__all__ = ["browser"]  # the module's browser fixture

PHOTO = Path(__file__).resolve().parents[1] / "fixtures" / "photos" / "hagrid_call_044768ad.jpg"
TEXT = {
    "en": {"question": "Are the eyes open?", "yes": "Yes.", "verdict": "yes", "random": " (random weights)",
           "found": "1 face found", "header": "engine", "no_image": "image: no image was given", "seed": "seed",
           "heuristic": "heuristic"},
    "zh-CN": {"question": "眼睛睁着吗？", "yes": "是的。", "verdict": "是", "random": "（随机权重）",
              "found": "找到 1 张人脸", "header": "引擎", "no_image": "image: 没有提供图片", "seed": "种子",
              "heuristic": "经验值"},
}
# The controls a person reads before asking or generating: their labels must be in the page's language.
KEY_CONTROLS = ("#face-image [data-testid=block-label]", "#face-question [data-testid=block-info]",
                "#face-engines [data-testid=block-info]", "#face-ask", "#face-measure", "#face-generate",
                "#face-seeds [data-testid=block-info]", "#face-models [data-testid=block-info]")


def labels_of(page) -> list[str]:
    return [page.locator(selector).first.inner_text().strip() for selector in KEY_CONTROLS]


def assert_in_the_language(page, locale: str) -> None:
    """Every key control's label is Chinese on a Chinese page (model names aside, they are in the choices)."""
    labels = labels_of(page)
    if locale == "zh-CN":
        english = [label for label in labels if not CHINESE.search(label)]
        assert not english, f"English left on a Chinese page: {english}"
    else:
        assert not any(CHINESE.search(label) for label in labels), labels


@pytest.mark.parametrize(("locale", "width"), VIEWS, ids=VIEW_IDS)
def test_ask_a_face_question_and_see_the_evidence(browser, studio, locale: str, width: int) -> None:
    words = TEXT[locale]
    page = open_page(browser, studio.url, locale, width)
    open_tab(page, "face")
    assert_in_the_language(page, locale)
    # The preset question starts in the page's language (and is answered in it).
    default = field(page, "face-question").input_value()
    assert bool(CHINESE.search(default)) == (locale == "zh-CN"), default
    page.locator("#face-image input[type=file]").set_input_files(str(PHOTO))
    page.wait_for_selector("#face-image img", timeout=30_000)
    field(page, "face-question").fill(words["question"])
    page.locator("#face-ask").click()
    page.wait_for_selector("#face-overlay img", timeout=120_000)
    page.wait_for_function("() => document.querySelector('#face-answers').innerText.includes('EAR')",
                           timeout=120_000)
    table = page.locator("#face-answers").inner_text()
    assert "Measured (MediaPipe face mesh)" in table and "SmolVLM-256M-Instruct" + words["random"] in table
    assert words["yes"] in table and words["verdict"] in table.split() and words["heuristic"] in table
    headers = page.locator("#face-answers thead").inner_text().lower()
    assert words["header"] in headers and (locale == "en" or not any(w in headers for w in ("answer", "verdict")))
    summary = page.locator("#face-summary").inner_text()
    assert words["found"] in summary and (locale == "en" or "Thresholds" not in summary)
    # On a phone the table scrolls in its own box: the engine names are not broken one letter per line.
    engine_cell = page.locator("#face-answers [data-testid=cell-0-0]").bounding_box()
    assert engine_cell["width"] >= 120, engine_cell
    assert fits_the_width(page)
    shot(page, "face_qa", locale, width)
    page.context.close()


@pytest.mark.parametrize(("locale", "width"), VIEWS, ids=VIEW_IDS)
def test_bad_input_shows_an_error_and_the_page_keeps_working(browser, studio, locale: str, width: int) -> None:
    page = open_page(browser, studio.url, locale, width)
    open_tab(page, "face")
    page.locator("#face-ask").click()  # no image yet
    page.wait_for_selector(".toast-body", timeout=30_000)
    assert TEXT[locale]["no_image"] in page.locator(".toast-body").first.inner_text()
    page.locator("#face-image input[type=file]").set_input_files(str(PHOTO))
    page.wait_for_selector("#face-image img", timeout=30_000)
    page.locator("#face-measure").click()
    page.wait_for_selector("#face-overlay img", timeout=120_000)
    assert TEXT[locale]["found"] in page.locator("#face-summary").inner_text()
    page.context.close()


@pytest.mark.parametrize(("locale", "width"), VIEWS, ids=VIEW_IDS)
def test_generate_faces_and_see_the_attribute_check(browser, studio, locale: str, width: int) -> None:
    words = TEXT[locale]
    page = open_page(browser, studio.url, locale, width)
    open_tab(page, "face")
    field(page, "face-seeds").fill("1")
    field(page, "face-steps").fill("1")
    page.locator("#face-generate").click()
    page.wait_for_function("() => document.querySelectorAll('#face-gallery img').length >= 2", timeout=240_000)
    page.wait_for_function("() => document.querySelector('#face-accuracy').innerText.includes('/')",
                           timeout=60_000)
    table = page.locator("#face-accuracy").inner_text()
    assert "eyes.open" in table and "action.smile" in table
    # Each caption under its picture, whole, in the page's language.
    for item in page.locator("#face-gallery .thumbnail-item").all():
        image, caption = item.locator("img").bounding_box(), item.locator(".caption-label")
        assert caption.bounding_box()["y"] >= image["y"] + image["height"] - 1, "the caption sits under the picture"
        text = caption.inner_text()
        assert words["seed"] in text and words["random"].strip(" ()（）") in text, text
        assert caption.evaluate("e => e.scrollWidth <= e.clientWidth + 1"), f"caption cut: {text}"
    # The accuracy table's columns are readable on a phone (it scrolls in its own box rather than squeezing them).
    widths = page.evaluate("() => [...document.querySelectorAll('#face-accuracy [role=gridcell]')]"
                           ".map(c => c.getBoundingClientRect().width)")
    assert widths and min(widths) >= 80, widths
    assert fits_the_width(page)
    shot(page, "face_generate", locale, width)
    page.context.close()
