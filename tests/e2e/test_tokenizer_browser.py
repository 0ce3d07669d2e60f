"""The tokenizer tab in Debian's Chromium at 1440 and 390 px, in English and Chinese (tiny profile): the main
comparison follows the prefix and α sliders, the plots are wide enough to read with their titles in view, the
metrics table fits the page, the dataset evaluation says once why rFID is missing, and RobustTok's A/B is one click."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.ux_helpers import VIEW_IDS, VIEWS, browser, fits_the_width, open_page, open_tab, shot

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
__all__ = ["browser"]  # the module's browser fixture
EXAMPLES = Path(__file__).resolve().parents[2] / "assets" / "examples"
PLOTS = ("spectrum", "prefix_curve", "robust_curve")

TEXT = {
    "en": {"measure": "Measure", "full": "original / reconstruction", "prefix": "original / first 8 tokens",
           "alpha": "α = 0.35", "plots": ("Power spectrum", "Quality vs tokens", "Quality vs perturbation"),
           "eval": "Dataset evaluation", "not_computed": "rFID / pFID are not computed here"},
    "zh-CN": {"measure": "指标", "full": "原图 / 重建", "prefix": "原图 / 前 8 个 token", "alpha": "α = 0.35",
              "plots": ("功率谱", "质量与 token 数", "质量与扰动"), "eval": "数据集评测",
              "not_computed": "此处未计算 rFID / pFID"},
}


def label(page, elem_id: str) -> str:
    return page.locator(f"#{elem_id} [data-testid=block-label]").first.inner_text()


def shown_image(page, elem_id: str) -> str:
    """The file a main slider sets against the original (its second picture)."""
    return page.locator(f"#{elem_id} img").nth(1).get_attribute("src") or ""


def move(page, elem_id: str, key: str, presses: int) -> None:
    """Move a slider by keyboard, then release it (the release re-renders)."""
    slider = page.locator(f"#{elem_id} input[type=range]")
    slider.focus()
    for _ in range(presses):
        page.keyboard.press(key)
    slider.dispatch_event("mouseup")
    slider.dispatch_event("pointerup")


def table_fits(page, elem_id: str) -> bool:
    """The table shows every column inside its own box: no sideways scrolling, in the table or the page."""
    inside = page.evaluate(f"() => {{ const v = document.querySelector('#{elem_id} .virtual-table-viewport');"
                           "return v.scrollWidth <= v.clientWidth + 1; }")
    return inside and fits_the_width(page)


def load_pictures(page) -> None:
    """Load the lazily loaded pictures below the fold, so a full-page screenshot shows them."""
    page.evaluate("() => document.querySelectorAll('img[loading=lazy]').forEach(i => { i.loading = 'eager'; })")
    page.wait_for_function("() => [...document.querySelectorAll('img')].every(i => i.complete)", timeout=30_000)


def compare(page, image: str) -> None:
    page.locator("#tok-image input[type=file]").set_input_files(str(EXAMPLES / image))
    page.wait_for_selector("#tok-image img", timeout=30_000)
    page.locator("#tok-run").click()
    page.wait_for_function("() => document.querySelectorAll('#tok-slider-1 img').length >= 2 && "
                           "document.querySelector('#tok-table table')", timeout=180_000)


@pytest.mark.parametrize(("locale", "width"), VIEWS, ids=VIEW_IDS)
def test_the_comparison_follows_the_sliders(browser, studio, locale: str, width: int) -> None:
    words = TEXT[locale]
    page = open_page(browser, studio.url, locale, width)
    open_tab(page, "tok")
    assert not page.locator("#tok-table").is_visible()  # no empty English table before there are results
    compare(page, "astronaut.png")
    assert words["full"] in label(page, "tok-slider-0") and words["full"] in label(page, "tok-slider-1")
    table = page.locator("#tok-table").inner_text()
    assert words["measure"] in table and "tok/pca" in table and "tok/vq" in table and "(k=16)" in table
    assert table_fits(page, "tok-table")
    # Two readable plots side by side on a desktop, one to a row on a phone, each with its title in view above it.
    boxes = [page.locator(f"#tok-plot-{name}").bounding_box() for name in PLOTS]
    assert all(box["width"] >= 300 for box in boxes), boxes
    assert (boxes[0]["y"] == boxes[1]["y"]) == (width > 600)
    for name, title in zip(PLOTS, words["plots"], strict=True):
        heading = page.locator(f"#tok-plot-{name} [data-testid=block-label]")
        assert heading.is_visible() and heading.inner_text().strip() == title
        top, figure = heading.bounding_box(), page.locator(f"#tok-plot-{name} img").bounding_box()
        assert top["y"] + top["height"] <= figure["y"] + 1 and top["x"] + top["width"] <= width

    # The prefix slider moves the main comparison (not a thumbnail far below): PCA now shows its first 8 tokens.
    before = shown_image(page, "tok-slider-0")
    move(page, "tok-prefix", "ArrowLeft", 8)  # k 16 -> 8
    page.wait_for_function("(t) => document.querySelector('#tok-slider-0 [data-testid=block-label]')"
                           ".innerText.includes(t)", arg=words["prefix"], timeout=180_000)
    assert shown_image(page, "tok-slider-0") != before and "(k=8)" in page.locator("#tok-table").inner_text()
    assert page.locator("#tok-view input[value=prefix]").is_checked()
    load_pictures(page)
    shot(page, "tokenizer_prefix", locale, width)

    # The α slider does the same for the discrete tokenizer (VQ), with α in the label.
    before = shown_image(page, "tok-slider-1")
    move(page, "tok-alpha", "ArrowRight", 2)  # 0.25 -> 0.35
    page.wait_for_function("(t) => document.querySelector('#tok-slider-1 [data-testid=block-label]')"
                           ".innerText.includes(t)", arg=words["alpha"], timeout=180_000)
    assert shown_image(page, "tok-slider-1") != before
    assert page.locator("#tok-view input[value=perturbed]").is_checked()
    # Back to the plain reconstruction without running again.
    page.locator("#tok-view input[value=full]").check()
    page.wait_for_function("(t) => document.querySelector('#tok-slider-1 [data-testid=block-label]')"
                           ".innerText.includes(t)", arg=words["full"], timeout=30_000)
    page.context.close()


@pytest.mark.parametrize(("locale", "width"), VIEWS, ids=VIEW_IDS)
def test_the_dataset_evaluation_says_once_why_rfid_is_missing(browser, studio, locale: str, width: int) -> None:
    words = TEXT[locale]
    page = open_page(browser, studio.url, locale, width)
    open_tab(page, "tok")
    page.locator("#tok-eval").get_by_text(words["eval"]).first.click()
    page.locator("#tok-eval-files input[type=file]").set_input_files([str(EXAMPLES / "coffee.png"),
                                                                     str(EXAMPLES / "chelsea.png")])
    page.wait_for_function("() => document.querySelector('#tok-eval-files').innerText.includes('chelsea')",
                           timeout=30_000)
    page.locator("#tok-eval-run").click()
    page.wait_for_selector("#tok-eval-table table", timeout=180_000)
    rows = page.evaluate("() => [...document.querySelectorAll('#tok-eval-table .virtual-row')]"
                         ".map(r => [...r.querySelectorAll('.body-cell')].map(c => c.innerText.trim()))")
    fid = {row[0]: row[1:] for row in rows if row and row[0] in ("rFID", "pFID")}
    assert fid == {"rFID": ["—", "—"], "pFID": ["—", "—"]}, rows
    note = page.locator("#tok-eval-note").inner_text()
    assert note.count(words["not_computed"]) == 1 and note.count("pip install") == 1
    assert page.locator("body").inner_text().count("pip install 'torchmetrics[image]'") == 1  # once, not per cell
    assert words["measure"] in page.locator("#tok-eval-table").inner_text()
    assert table_fits(page, "tok-eval-table")
    shot(page, "tokenizer_eval", locale, width)
    page.context.close()


def test_robustness_ab_in_one_click(browser, studio) -> None:
    page = open_page(browser, studio.url, "en", 1440)
    open_tab(page, "tok")
    page.locator("#tok-image input[type=file]").set_input_files(str(EXAMPLES / "coffee.png"))
    page.wait_for_selector("#tok-image img", timeout=30_000)
    page.locator("#tok-ab").click()
    page.wait_for_function("() => document.querySelector('#tok-table')?.innerText.includes('tok/robusttok')",
                           timeout=180_000)
    table = page.locator("#tok-table").inner_text()
    assert "tok/xqgan-4096" in table and "α=0.5, δ=50" in table
    tokens = page.locator("#tok-tokenizers .token").all_inner_texts()
    assert [t.strip() for t in tokens] == ["XQGAN-4096 (RobustTok's control)", "RobustTok (RobustTok-zero)"]
    # The A/B is about perturbation: both main sliders show the perturbed tokens against the original.
    assert page.locator("#tok-slider-1 img").count() >= 2
    assert all("α = 0.5, δ = 50" in label(page, f"tok-slider-{i}") for i in (0, 1))
    load_pictures(page)
    shot(page, "tokenizer_robustness_ab", "en", 1440)
    page.context.close()
