"""Sessions admin and the leaderboard, in Chromium at 1440 and 390 px, in English and Chinese: one form creates and
fills a pool session, a sessions table with states and actions on the selected one, answers in words (not raw JSON),
an empty password asked for (not "wrong"), the export's full file name, invite aliases on the quality table, and
plots whose titles are not covered."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.ux_helpers import VIEW_IDS, VIEWS, browser, field, fits_the_width, open_page, open_tab, shot

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
__all__ = ["browser"]

TEXT = {"en": {"created": "created", "filled": "Filled from the pool: 2 items, 3 models", "open": "open",
               "enter": "enter the admin password", "export": "Export ready"},
        "zh-CN": {"created": "已创建会话", "filled": "已从图池导入：2 个条目，3 个模型", "open": "进行中",
                  "enter": "请输入管理员密码", "export": "导出完成"}}


def toast_text(page) -> str:
    page.wait_for_selector(".toast-body", timeout=30_000)
    return " ".join(page.locator(".toast-body").all_inner_texts())


@pytest.mark.parametrize(("locale", "width"), VIEWS, ids=VIEW_IDS)
def test_one_form_creates_and_fills_then_the_table_and_actions(browser, studio, tmp_path: Path, locale: str,
                                                               width: int) -> None:
    from tests.arena.pools import make_pool
    from tests.e2e.conftest import ADMIN_PASSWORD

    words = TEXT[locale]
    pool = make_pool(tmp_path / "pool", items=2)
    page = open_page(browser, studio.url, locale, width)
    open_tab(page, "admin")
    name = f"admin {locale} {width}"
    field(page, "admin-password").fill(ADMIN_PASSWORD)
    field(page, "admin-name").fill(name)
    field(page, "admin-folder").fill(str(pool))
    page.locator("#admin-create").click()
    page.wait_for_function("(t) => document.querySelector('#admin-summary').innerText.includes(t)",
                           arg=words["filled"], timeout=60_000)
    summary = page.locator("#admin-summary").inner_text()
    assert words["created"] in summary and "{" not in summary, "an answer in words, not JSON"
    page.wait_for_function("(n) => document.querySelector('#admin-sessions').innerText.includes(n)", arg=name,
                           timeout=30_000)
    table = " ".join(page.locator("#admin-sessions").inner_text().split())
    assert words["open"] in table and "0 / 200" in table

    # An empty password is asked for, not called wrong.
    field(page, "admin-password").fill("")
    page.locator("#admin-close").click()
    assert words["enter"] in toast_text(page)
    page.locator(".toast-close").first.click()

    field(page, "admin-password").fill(ADMIN_PASSWORD)
    page.locator("#admin-export").click()
    page.wait_for_function("(t) => document.querySelector('#admin-summary').innerText.includes(t)",
                           arg=words["export"], timeout=60_000)
    exported = page.locator("#admin-summary strong").inner_text()
    assert exported.endswith(".battles.jsonl") and len(exported) > 20, "the full file name, not '.z'"
    page.wait_for_selector("#admin-download a, #admin-download [download]", timeout=30_000)
    assert fits_the_width(page)
    shot(page, "admin_sessions", locale, width)
    page.context.close()


def label_with_invites(url: str, pool: Path, votes: int) -> tuple[str, dict[str, str]]:
    """A pool session whose annotators are invited (aliases ana and bo), with ``votes`` votes through the API."""
    from gradio_client import Client

    from tests.e2e.conftest import ADMIN_PASSWORD

    client = Client(url, verbose=False)
    session = client.predict(ADMIN_PASSWORD, "invited", "t2i", "pool", [], "", ["left", "right", "both_good",
                             "both_bad", "skip"], "after_vote", 0.0, 0.0, 0.0, 100, 5, "", 0, 512, 512, 4, "invite",
                             0, api_name="/arena_create_session")["session"]
    client.predict(ADMIN_PASSWORD, session, str(pool), api_name="/arena_import_pool")
    tokens = {t["alias"]: t["token"] for t in client.predict(ADMIN_PASSWORD, session, "ana\nbo",
                                                             api_name="/arena_create_invites")}
    for k in range(votes):
        token = tokens["ana" if k % 2 else "bo"]
        served = client.predict(session, token, "", api_name="/arena_next")[0]
        if served["battle_id"]:
            client.predict(served["battle_id"], token, ("left", "right", "both_good")[k % 3], None,
                           api_name="/arena_vote")
    return session, tokens


@pytest.mark.parametrize(("locale", "width"), VIEWS, ids=VIEW_IDS)
def test_leaderboard_of_few_votes_with_aliases(browser, studio, tmp_path: Path, locale: str, width: int) -> None:
    from tests.arena.pools import make_pool

    session, _ = label_with_invites(studio.url, make_pool(tmp_path / "pool", items=4), votes=13)
    page = open_page(browser, studio.url, locale, width)
    open_tab(page, "leaderboard")
    page.locator("#lb-session input").fill(session)
    page.locator("#lb-session input").press("Enter")
    page.locator("#lb-compute").click()
    page.wait_for_selector("#lb-quality table", timeout=120_000)
    quality = page.locator("#lb-quality").inner_text()
    assert "ana (" in quality and "bo (" in quality, "annotators by the alias their invite was given"
    for plot in ("#lb-ratings", "#lb-winrate", "#lb-counts"):
        badges = page.locator(f"{plot} [data-testid=block-label]")
        assert all(not badges.nth(i).is_visible() for i in range(badges.count())), "no badge over the title"
    assert "13" in page.locator("#lb-summary").inner_text()
    assert fits_the_width(page)
    shot(page, "leaderboard", locale, width)
    page.context.close()
