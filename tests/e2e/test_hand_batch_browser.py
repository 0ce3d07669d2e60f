"""The hand-repair batch accordion in Chromium at 1440 and 390 px, in English and Chinese: its controls on short
rows, each wide enough to read its label on one or two lines, nothing wider than a phone, labels in the page's
language, and no empty file box before there is a CSV."""

from __future__ import annotations

import pytest

from tests.e2e.ux_helpers import CHINESE, VIEW_IDS, VIEWS, browser, fits_the_width, open_page, open_tab, shot

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
__all__ = ["browser"]  # the module's browser fixture

CONTROLS = ("#hand-batch-folder", "#hand-batch-run")


@pytest.mark.parametrize(("locale", "width"), VIEWS, ids=VIEW_IDS)
def test_the_batch_form_is_not_cramped(browser, studio, locale: str, width: int) -> None:
    page = open_page(browser, studio.url, locale, width)
    open_tab(page, "hand")
    page.locator("#hand-batch > button, #hand-batch .label-wrap").first.click()
    page.wait_for_selector("#hand-batch-run", state="visible", timeout=30_000)
    boxes = {selector: page.locator(selector).bounding_box() for selector in CONTROLS}
    assert all(box["width"] >= min(240, width - 60) for box in boxes.values()), boxes
    labels = page.evaluate("() => [...document.querySelectorAll('#hand-batch [data-testid=block-info]')]"
                           ".map(e => [e.innerText.trim(), e.getBoundingClientRect().height])")
    assert len(labels) >= 3 and all(height < 60 for _, height in labels), labels  # one or two lines each
    if locale == "zh-CN":
        assert all(CHINESE.search(text) for text, _ in labels), labels
        assert CHINESE.search(page.locator("#hand-batch-run").inner_text())
    assert not page.locator("#hand-batch-csv").is_visible(), "no empty file box before a CSV"
    assert fits_the_width(page)
    page.locator("#hand-batch").scroll_into_view_if_needed()
    shot(page, "hand_batch", locale, width)
    page.context.close()
