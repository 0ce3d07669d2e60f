"""The Models tab as a person meets it, in Chromium at 1440 and 390 px, in English and Chinese: the registry table
with its headers and answers in the page's language, nothing cut off (long text wraps; on a phone the table scrolls
in its own box), models that cannot run here saying why, and freeing memory saying what it did (an empty password
asked for, not called wrong)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e.ux_helpers import CHINESE, VIEW_IDS, VIEWS, browser, field, fits_the_width, open_page, open_tab, shot

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
__all__ = ["browser"]  # the module's browser fixture

PHOTO = Path(__file__).resolve().parents[1] / "fixtures" / "photos" / "hagrid_call_044768ad.jpg"
TEXT = {"en": {"no": "no", "yes": "yes", "enter": "enter the admin password", "freed": "Freed:",
               "loaded": "Loaded:"},
        "zh-CN": {"no": "否", "yes": "是", "enter": "请输入管理员密码", "freed": "已释放", "loaded": "已加载"}}
KEY_CONTROLS = ("#models-refresh", "#models-password [data-testid=block-info]",
                "#models-to-free [data-testid=block-info]", "#models-free", "#models-free-all")
NEUTRAL = re.compile(r"^[\sA-Z0-9().（）]*$")  # "VRAM (GB)" may keep its acronym


def row_of(page, key: str) -> list[str]:
    """The cells of the table row whose first cell is ``key``."""
    return page.evaluate("""(key) => {
        const row = [...document.querySelectorAll('#models-table [role=row]')].find(r =>
            r.querySelector('[role=gridcell]')?.innerText.trim() === key);
        return row ? [...row.querySelectorAll('[role=gridcell]')].map(c => c.innerText.trim()) : [];
    }""", key)


def loaded_to_free(page) -> list[str]:
    """The choices of "loaded models to free" (the models loaded now)."""
    page.locator("#models-to-free input").click()
    page.wait_for_timeout(300)
    options = page.locator("#models-to-free [role=option], ul.options li").all_inner_texts()
    page.keyboard.press("Escape")
    return [o.strip() for o in options]


def open_models(page) -> None:
    open_tab(page, "models")
    page.wait_for_function("() => [...document.querySelectorAll('#models-table [role=gridcell]')]"
                           ".some(c => c.innerText.trim() === 't2i/kolors')", timeout=30_000)


@pytest.mark.parametrize(("locale", "width"), VIEWS, ids=VIEW_IDS)
def test_the_registry_table_in_the_readers_language(browser, studio, locale: str, width: int) -> None:
    words = TEXT[locale]
    page = open_page(browser, studio.url, locale, width)
    open_models(page)
    labels = [page.locator(selector).first.inner_text().strip() for selector in KEY_CONTROLS]
    headers = [h.strip() for h in page.locator("#models-table thead th").all_inner_texts() if h.strip()]
    assert len(headers) == 12, headers
    if locale == "zh-CN":
        english = [t for t in labels + headers if not CHINESE.search(t) and not NEUTRAL.match(t)]
        assert not english, f"English left on a Chinese page: {english}"
    else:
        assert not any(CHINESE.search(t) for t in labels + headers), labels + headers
    # A model that cannot run here says so, and why, in the reader's language.
    seedream = row_of(page, "t2i/seedream")
    assert seedream and seedream[3] == words["no"] and "ARK_API_KEY" in seedream[4], seedream
    assert row_of(page, "t2i/kolors")[3] == words["yes"]
    # Nothing is cut off: long keys, names and reasons wrap inside their cells.
    cut = page.evaluate("() => [...document.querySelectorAll('#models-table [role=gridcell] .cell-wrap')]"
                        ".filter(c => c.scrollWidth > c.clientWidth + 1).map(c => c.innerText)")
    assert not cut, f"cells cut off: {cut[:5]}"
    widths = page.evaluate("() => [...document.querySelectorAll('#models-table [role=gridcell][data-col=\"0\"]')]"
                           ".map(c => c.getBoundingClientRect().width)")
    assert widths and min(widths) >= 200, "keys are readable"
    # The table may scroll sideways in its own box, never the page.
    box = page.locator("#models-table").bounding_box()
    assert box["x"] + box["width"] <= width + 1 and fits_the_width(page)
    assert words["loaded"] in page.locator("#models-summary").inner_text()  # the memory line
    shot(page, "models", locale, width)
    page.context.close()


@pytest.mark.parametrize(("locale", "width"), VIEWS, ids=VIEW_IDS)
def test_freeing_memory_says_what_it_did(browser, studio, locale: str, width: int) -> None:
    from gradio_client import Client, handle_file

    from tests.e2e.conftest import ADMIN_PASSWORD

    words = TEXT[locale]
    Client(studio.url, verbose=False).predict(handle_file(str(PHOTO)), 0, api_name="/face_analyze")  # loads one
    page = open_page(browser, studio.url, locale, width)
    open_models(page)
    assert "face/mediapipe" in loaded_to_free(page), "the model just used is offered to free"
    page.locator("#models-free-all").click()  # no password yet: asked for, not called wrong
    page.wait_for_selector(".toast-body", timeout=30_000)
    assert words["enter"] in page.locator(".toast-body").first.inner_text()
    page.locator(".toast-close").first.click()
    field(page, "models-password").fill(ADMIN_PASSWORD)
    page.locator("#models-free-all").click()
    page.wait_for_function("(t) => document.querySelector('#models-freed').innerText.includes(t)",
                           arg=words["freed"], timeout=60_000)
    assert "face/mediapipe" in page.locator("#models-freed").inner_text()
    page.wait_for_timeout(1000)  # the table and the list refresh after the message
    assert "face/mediapipe" not in loaded_to_free(page)
    assert fits_the_width(page)
    shot(page, "models_freed", locale, width)
    page.context.close()
