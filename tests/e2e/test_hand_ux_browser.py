"""Hand repair as a person meets it, in Chromium at 1440 and 390 px, in English and Chinese: per-hand details
(box, confidence, handedness with its convention, anatomical checks), a mask editor that shows the detected hands
with the brush ready, sliders with short labels and whole numbers, both methods' files told apart."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.e2e.ux_helpers import VIEW_IDS, VIEWS, browser, field, fits_the_width, open_page, open_tab, shot

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
__all__ = ["browser"]

PHOTO = Path(__file__).resolve().parents[1] / "fixtures" / "photos" / "hagrid_four_06aa70cc.jpg"
TEXT = {"en": {"person": "person's left hand", "note": "mirrored-selfie", "plausible": "plausible"},
        "zh-CN": {"person": "此人的左手", "note": "镜像自拍", "plausible": "合理"}}


@pytest.mark.parametrize(("locale", "width"), VIEWS, ids=VIEW_IDS)
def test_detect_shows_each_hand_and_the_mask_editor_starts_from_it(browser, studio, locale: str, width: int) -> None:
    words = TEXT[locale]
    page = open_page(browser, studio.url, locale, width)
    open_tab(page, "hand")
    page.locator("#hand-image input[type=file]").set_input_files(str(PHOTO))
    page.wait_for_selector("#hand-image img", timeout=30_000)
    page.locator("#hand-detect").click()
    page.wait_for_selector("#hand-hands table", timeout=60_000)
    details = page.locator("#hand-hands").inner_text()
    assert "Right" in details and words["person"] in details and words["plausible"] in details
    assert words["note"] in page.locator("#hand-note").inner_text()

    page.locator("#hand-mask > button, #hand-mask .label-wrap").first.click()
    page.wait_for_selector("#hand-editor canvas", timeout=30_000)
    page.wait_for_timeout(1500)  # the canvas draws its picture
    picture = np.asarray(Image.open(BytesIO(page.locator("#hand-editor").screenshot())).convert("RGB")).astype(int)
    tinted = (picture[..., 0] > 180) & (picture[..., 2] > 120) & (picture[..., 1] < 140)  # the magenta hand tint
    assert tinted.sum() > 50, "the editor shows the detected-hand region"
    brush = page.locator("#hand-editor button[aria-label='Brush']")
    assert "highlight" in (brush.get_attribute("class") or ""), "the brush is the tool in hand"

    # Slider labels stay on one or two lines; their maxima are whole ("10", not "1(").
    heights = page.evaluate("() => [...document.querySelectorAll('.gradio-slider [data-testid=block-info], "
                            "[data-testid=block-info]')].filter(e => e.closest('#hand-mask') === null)"
                            ".map(e => e.getBoundingClientRect().height)")
    assert heights and max(heights) < 60, heights
    assert fits_the_width(page)
    shot(page, "hand_detect", locale, width)
    page.context.close()


@pytest.mark.parametrize(("locale", "width"), VIEWS, ids=VIEW_IDS)
def test_repair_results_are_told_apart_and_in_view(browser, studio, locale: str, width: int) -> None:
    page = open_page(browser, studio.url, locale, width)
    open_tab(page, "hand")
    page.locator("#hand-image input[type=file]").set_input_files(str(PHOTO))
    page.wait_for_selector("#hand-image img", timeout=30_000)
    field(page, "hand-steps").fill("4")
    page.locator("#hand-repair").click()
    page.wait_for_selector("#hand-table table", timeout=240_000)
    sources = page.evaluate("() => [...document.querySelectorAll('#hand-slider-inpaint img, #hand-slider-mghand img')]"
                            ".map(i => i.src)")
    assert any(s.endswith("_inpaint.png") for s in sources) and any(s.endswith("_mghand.png") for s in sources)
    table = page.locator("#hand-table")
    assert "→" in table.inner_text()
    right_edge = table.bounding_box()["x"] + table.bounding_box()["width"]
    assert right_edge <= width + 1 and fits_the_width(page), "the per-hand column is on screen"
    shot(page, "hand_repair_results", locale, width)
    page.context.close()
