"""What a person sees: the studio in Debian's Chromium, driven with Playwright (no browser download)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser() -> Iterator:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: `make test` installs it (scripts/ensure-browser.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, studio):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
    page = context.new_page()
    page.goto(studio.url)
    page.wait_for_selector("#t2i-prompt textarea", timeout=30_000)
    yield page
    context.close()


def pick_models(page, names: list[str]) -> None:
    """Clear the model dropdown, then choose ``names`` by typing and selecting each."""
    dropdown = page.locator("#t2i-models")
    dropdown.locator(".remove-all").click()
    assert dropdown.locator(".token").count() == 0
    for name in names:
        dropdown.locator("input").click()
        dropdown.locator("input").fill(name)
        page.get_by_role("option", name=name, exact=False).first.click()
    page.locator("#t2i-prompt textarea").click()  # close the list


def test_chinese_prompt_two_models_side_by_side(page) -> None:
    page.locator("#t2i-prompt textarea").fill("春节庙会的红色灯笼下，一块木牌上写着“恭喜发财”")
    pick_models(page, ["CogView4-6B", "Qwen-Image"])
    assert page.locator("#t2i-models .token").all_inner_texts() == ["CogView4-6B", "Qwen-Image"]
    page.locator("#t2i-steps input").fill("2")
    page.locator("#t2i-run").click()
    gallery = page.locator("#t2i-gallery")
    page.wait_for_function(
        "() => document.querySelectorAll('#t2i-gallery img').length >= 2", timeout=120_000)
    page.wait_for_selector("#t2i-summary table", timeout=30_000)
    captions = gallery.inner_text()
    assert "CogView4-6B · seed" in captions and "Qwen-Image · seed" in captions
    assert captions.count("random weights") == 2
    page.get_by_text("Recipes and text-rendering check").first.click()  # the recipes sit in a closed accordion
    recipes = page.locator("#t2i-recipes").inner_text().replace("\n", "")  # the JSON viewer breaks lines per token
    assert '"t2i/cogview4"' in recipes and '"t2i/qwen-image"' in recipes and "恭喜发财" in recipes
    assert '"seed":' in recipes and '"random_weights":true' in recipes
    assert "Language:** 中文" in page.content() or "中文 (zh)" in page.locator("body").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "t2i_two_models.png"), full_page=True)


def test_bad_input_shows_an_error_and_the_page_keeps_working(page) -> None:
    page.locator("#t2i-prompt textarea").fill("   ")
    page.locator("#t2i-run").click()
    page.wait_for_selector("text=prompt: must not be empty", timeout=30_000)
    page.locator("#t2i-prompt textarea").fill("a red fox")
    pick_models(page, ["FLUX.1-schnell"])
    page.locator("#t2i-steps input").fill("1")
    page.locator("#t2i-run").click()
    page.wait_for_function("() => document.querySelectorAll('#t2i-gallery img').length >= 1", timeout=120_000)


def test_label_with_the_keyboard_then_see_the_leaderboard(page, studio, tmp_path) -> None:
    from gradio_client import Client

    from tests.arena.pools import make_pool
    from tests.e2e.test_arena_api import create_pool_session

    session = create_pool_session(Client(studio.url, verbose=False), make_pool(tmp_path / "pool", items=4),
                                  name="browser session")
    page.get_by_role("tab", name="Label (blind A/B)").click()
    page.locator("#arena-session input").fill(session)
    page.locator("#arena-session input").press("Enter")
    page.locator("#arena-annotator textarea, #arena-annotator input").first.fill("keyboard labeler")
    page.wait_for_function("() => !document.querySelector('#arena-next').disabled", timeout=30_000)
    page.locator("#arena-next").click()
    page.wait_for_function("() => document.querySelectorAll('#arena-image-left img, #arena-image-right img')"
                           ".length === 2", timeout=60_000)
    prompt = page.locator("#arena-prompt").inner_text()
    assert "Prompt:" in prompt and "alpha" not in page.locator("body").inner_text()
    page.locator("body").click(position={"x": 5, "y": 5})  # focus out of the text fields
    for votes, key in enumerate(("ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown"), start=1):
        if votes > 1:  # the voted pair stays with its names until Next (N)
            page.keyboard.press("n")
            page.wait_for_function("() => !document.querySelector('#arena-vote-left').disabled", timeout=30_000)
        page.keyboard.press(key)
        page.wait_for_function("(n) => document.querySelector('#arena-progress').innerText.includes("
                               "'your votes: ' + n)", arg=votes, timeout=30_000)
        reveal = page.locator("#arena-reveal").inner_text()
        assert "Vote recorded. A was" in reveal and any(m in reveal for m in ("alpha", "beta", "gamma"))
    assert "your votes: 4" in page.locator("#arena-progress").inner_text()
    page.get_by_role("tab", name="Leaderboard").click()
    page.locator("#lb-session input").fill(session)
    page.locator("#lb-session input").press("Enter")
    page.locator("#lb-compute").click()
    page.wait_for_selector("#lb-table table", timeout=60_000)
    page.wait_for_function("() => document.querySelector('#lb-summary').innerText.includes('4 battles')",
                           timeout=60_000)
    # the summary and the table are separate outputs: wait for the table to render this session's models
    page.wait_for_function("() => ['alpha', 'beta', 'gamma'].every("
                           "m => document.querySelector('#lb-table').innerText.includes(m))", timeout=30_000)
    table = page.locator("#lb-table").inner_text()
    assert all(model in table for model in ("alpha", "beta", "gamma"))
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "arena_leaderboard.png"), full_page=True)


def test_detect_repair_and_compare_hands(page) -> None:
    photo = Path(__file__).resolve().parents[1] / "fixtures" / "photos" / "hagrid_four_06aa70cc.jpg"
    page.get_by_role("tab", name="Hand repair").click()
    page.locator("#hand-image input[type=file]").set_input_files(str(photo))
    page.wait_for_selector("#hand-image img", timeout=30_000)
    page.locator("#hand-detect").click()
    page.wait_for_selector("#hand-overlay img", timeout=60_000)
    assert "hand" in page.locator("#hand-summary").inner_text().lower()
    page.locator("#hand-steps input").fill("4")
    page.locator("#hand-repair").click()
    page.wait_for_function("() => document.querySelectorAll('#hand-slider-mghand img').length >= 1 && "
                           "document.querySelectorAll('#hand-slider-inpaint img').length >= 1", timeout=120_000)
    page.wait_for_selector("#hand-strip img", timeout=30_000)
    table = page.locator("#hand-table").inner_text()
    assert "inpaint" in table and "mghand" in table and "→" in table
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "hand_repair.png"), full_page=True)


def test_compare_two_tokenizers_and_move_the_prefix(page) -> None:
    page.get_by_role("tab", name="Tokenizers").click()
    example = Path(__file__).resolve().parents[2] / "assets" / "examples" / "astronaut.png"
    page.locator("#tok-image input[type=file]").set_input_files(str(example))
    page.wait_for_selector("#tok-image img", timeout=30_000)
    page.locator("#tok-run").click()
    page.wait_for_function("() => document.querySelectorAll('#tok-slider-0 img').length >= 1 && "
                           "document.querySelectorAll('#tok-slider-1 img').length >= 1", timeout=120_000)
    table = page.locator("#tok-table").inner_text()
    assert "tok/pca" in table and "tok/vq" in table and "(k=16)" in table
    slider = page.locator("#tok-prefix input[type=range]")
    slider.focus()
    for _ in range(8):
        page.keyboard.press("ArrowLeft")  # k 16 -> 8; the release re-renders the prefix view
    slider.dispatch_event("mouseup")
    slider.dispatch_event("pointerup")
    page.wait_for_function("() => document.querySelector('#tok-table').innerText.includes('(k=8)')", timeout=120_000)
    assert "first 8 tokens" in page.locator("#tok-views").inner_text()
    # The main comparison follows the slider too, not only the thumbnail below it.
    assert "first 8 tokens" in page.locator("#tok-slider-0 [data-testid=block-label]").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "tokenizers.png"), full_page=True)
