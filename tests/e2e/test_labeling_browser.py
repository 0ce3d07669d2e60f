"""Labeling as LMArena users expect it, in Chromium at 1440 and 390 px, in English and Chinese: the voted pair keeps
its names until Next (button or key), the pairs left are in view, A and B are both on screen on a phone, a
finished session thanks the annotator with their own figures, and an empty session or no session disables voting
and says why (no red error badges)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from tests.e2e.ux_helpers import VIEW_IDS, VIEWS, browser, field, fits_the_width, open_page, open_tab, shot

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
__all__ = ["browser"]  # the module's browser fixture

TEXT = {
    "en": {"left": "Pairs left for you", "recorded": "Vote recorded. A was", "next": "Next pair", "done":
           "You have judged every pair", "thanks": "Thank you!", "empty": "no pairs yet",
           "choose": "Choose a session"},
    "zh-CN": {"left": "你还剩", "recorded": "已记录投票。A 是", "next": "下一组", "done": "你已评完该会话中的每一组",
              "thanks": "谢谢！", "empty": "还没有可比较的图片", "choose": "请选择会话"},
}


def big_pool(root: Path) -> Path:
    """The test pool (3 models, 2 items: 6 pairs) with images large enough to look at."""
    from tests.arena.pools import make_pool

    make_pool(root, items=2)
    for png in root.glob("*/*.png"):
        Image.open(png).resize((320, 240), Image.Resampling.NEAREST).save(png)
    return root


def create_session(url: str, name: str, folder: Path | None) -> str:
    from gradio_client import Client

    from tests.e2e.conftest import ADMIN_PASSWORD

    client = Client(url, verbose=False)
    created = client.predict(ADMIN_PASSWORD, name, "t2i", "pool", [], "aesthetics", ["left", "right", "both_good",
                             "both_bad", "skip"], "after_vote", 0.0, 0.0, 0.0, 100, 5, "", 0, 512, 512, 4, "name", 0,
                             api_name="/arena_create_session")
    if folder is not None:
        client.predict(ADMIN_PASSWORD, created["session"], str(folder), api_name="/arena_import_pool")
    return created["session"]


def choose_session(page, session: str, annotator: str) -> None:
    page.locator("#arena-session input").fill(session)
    page.locator("#arena-session input").press("Enter")
    field(page, "arena-annotator").fill(annotator)
    page.locator("body").click(position={"x": 2, "y": 2})


def vote_buttons_enabled(page) -> list[bool]:
    return page.evaluate("() => [...document.querySelectorAll('#arena-votes button')].map(b => !b.disabled)")


@pytest.mark.parametrize(("locale", "width"), VIEWS, ids=VIEW_IDS)
def test_vote_reveal_next_and_the_end(browser, studio, tmp_path: Path, locale: str, width: int) -> None:
    words = TEXT[locale]
    session = create_session(studio.url, f"labeling {locale} {width}", big_pool(tmp_path / "pool"))
    page = open_page(browser, studio.url, locale, width)
    open_tab(page, "arena")
    # Before a session is chosen nothing can be pressed, and the page says what to do.
    assert words["choose"] in page.locator("#arena-prompt").inner_text()
    assert page.locator("#arena-next").is_disabled() and not any(vote_buttons_enabled(page))
    choose_session(page, session, f"browser {locale} {width}")
    page.wait_for_function("() => !document.querySelector('#arena-next').disabled", timeout=30_000)
    page.locator("#arena-next").click()
    page.wait_for_function("() => document.querySelectorAll('#arena-image-left img, #arena-image-right img')"
                           ".length === 2", timeout=60_000)
    assert words["left"] in page.locator("#arena-progress").inner_text() and "5" in page.locator(
        "#arena-progress").inner_text()
    # A and B side by side, both in view at once, also on a phone.
    left, right = page.locator("#arena-image-left").bounding_box(), page.locator("#arena-image-right").bounding_box()
    assert abs(left["y"] - right["y"]) < 2 and left["x"] + left["width"] <= right["x"] + 1
    assert fits_the_width(page)

    page.locator("body").click(position={"x": 2, "y": 2})
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("() => !document.querySelector('#arena-continue').disabled", timeout=30_000)
    reveal = page.locator("#arena-reveal").inner_text()
    assert words["recorded"] in reveal and words["next"] in reveal
    labels = page.locator("#arena-pair [data-testid=block-label]").all_inner_texts()
    assert sum(any(m in label for m in ("alpha", "beta", "gamma")) for label in labels) == 2, labels
    assert page.locator("#arena-image-left.arena-picked").count() == 1
    assert not any(vote_buttons_enabled(page)), "the voted pair cannot be voted again"
    page.keyboard.press("ArrowRight")  # ignored: only Next is live
    assert page.locator("#arena-image-left.arena-picked").count() == 1
    shot(page, "labeling_voted", locale, width)

    for _ in range(5):  # the other five pairs, Next by key
        page.keyboard.press("n")
        page.wait_for_function("() => !document.querySelector('#arena-vote-left').disabled", timeout=30_000)
        page.keyboard.press("ArrowUp")
        page.wait_for_function("() => !document.querySelector('#arena-continue').disabled", timeout=30_000)
    page.keyboard.press("n")
    page.wait_for_function("(t) => document.querySelector('#arena-prompt').innerText.includes(t)",
                           arg=words["done"], timeout=30_000)
    end = page.locator("#arena-prompt").inner_text()
    assert words["thanks"] in end and "6" in end
    assert not any(vote_buttons_enabled(page)) and page.locator("#arena-continue").is_disabled()
    page.keyboard.press("ArrowLeft")  # a key on a finished session does nothing: no error badge, no toast
    page.wait_for_timeout(500)
    assert page.locator(".toast-body.error, .error .toast-title").count() == 0
    assert page.locator("#arena-image-left .error, #arena-image-right .error").count() == 0
    shot(page, "labeling_end", locale, width)
    page.context.close()


@pytest.mark.parametrize(("locale", "width"), VIEWS, ids=VIEW_IDS)
def test_an_empty_session_says_why_instead_of_judged_every_pair(browser, studio, locale: str, width: int) -> None:
    words = TEXT[locale]
    session = create_session(studio.url, f"empty {locale} {width}", None)
    page = open_page(browser, studio.url, locale, width)
    open_tab(page, "arena")
    choose_session(page, session, "newcomer")
    page.wait_for_function("() => !document.querySelector('#arena-next').disabled", timeout=30_000)
    page.locator("#arena-next").click()
    page.wait_for_function("(t) => document.querySelector('#arena-prompt').innerText.includes(t)",
                           arg=words["empty"], timeout=30_000)
    assert words["done"] not in page.locator("#arena-prompt").inner_text()
    assert not any(vote_buttons_enabled(page))
    shot(page, "labeling_empty", locale, width)
    page.context.close()
