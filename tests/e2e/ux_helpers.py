"""Helpers of the studio's UX browser tests: a browser per module, pages at a width and in a locale, tab navigation
that also works on a phone (where most tabs sit in Gradio's overflow menu), and screenshots in tests/artifacts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
TAB_IDS = ("t2i", "hand", "face", "tryon", "tok", "arena", "leaderboard", "admin", "models")
# Every (locale, width) a person uses: desktop and phone, English and Simplified Chinese.
VIEWS = [("en", 1440), ("zh-CN", 1440), ("en", 390), ("zh-CN", 390)]
VIEW_IDS = [f"{locale}-{width}" for locale, width in VIEWS]


@pytest.fixture(scope="module")
def browser() -> Iterator:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: `make test` installs it (scripts/ensure-browser.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield chromium
        chromium.close()


def open_page(browser, url: str, locale: str, width: int):
    """A fresh page (own context, so no shared storage) at ``width`` px in ``locale``, the studio loaded."""
    context = browser.new_context(viewport={"width": width, "height": 900 if width > 600 else 844}, locale=locale)
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("#t2i-prompt textarea", timeout=60_000)
    return page


def open_tab(page, tab_id: str) -> None:
    """Switch tabs by id, through the overflow menu when the tab bar does not show the tab."""
    direct = page.locator(f"button[role=tab][data-tab-id='{tab_id}']")
    if direct.count() and direct.first.is_visible():
        direct.first.click()
        return
    label = page.locator(".tab-container.visually-hidden button").nth(TAB_IDS.index(tab_id)).inner_text()
    page.locator(".overflow-menu > button").click()
    page.locator(".overflow-dropdown button", has_text=label).first.click()


def shot(page, name: str, locale: str, width: int) -> Path:
    """A full-page screenshot ``tests/artifacts/<name>_<locale>_<width>.png``."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}_{locale}_{width}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def fits_the_width(page) -> bool:
    """Nothing pushes the page wider than the window (tables may scroll inside their own box)."""
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")


def field(page, elem_id: str):
    """The input or textarea of a Gradio text or number field."""
    return page.locator(f"#{elem_id} textarea, #{elem_id} input").first


CHINESE = re.compile(r"[\u4e00-\u9fff]")
