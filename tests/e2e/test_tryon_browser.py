"""The try-on tab as a person meets it, in Chromium at 1440 and 390 px, in English and Chinese: both methods side by
side with their captions under the pictures (and the mask the mask-based one used), a slider per method that ran
and no empty box for the one that did not, labels not covered by the image toolbars, the mask preview, and a photo
without a person as a clear error in the reader's language. Nothing pushes the page wider than a phone."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.ux_helpers import CHINESE, VIEW_IDS, VIEWS, browser, field, fits_the_width, open_page, open_tab, shot

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
__all__ = ["browser"]  # the module's browser fixture

ROOT = Path(__file__).resolve().parents[2]
PERSON = ROOT / "tests" / "fixtures" / "photos" / "hagrid_four_06aa70cc.jpg"
TSHIRT = ROOT / "assets" / "examples" / "garments" / "tshirt.png"
TEXT = {"en": {"mask_used": "mask used", "no_person": "person: no person found"},
        "zh-CN": {"mask_used": "所用掩码", "no_person": "person: 没有找到人物"}}
# What a person reads to run a comparison: in the page's language.
KEY_CONTROLS = ("#tryon-person [data-testid=block-label]", "#tryon-garment [data-testid=block-label]",
                "#tryon-category [data-testid=block-info]", "#tryon-methods [data-testid=block-info]",
                "#tryon-steps [data-testid=block-info]", "#tryon-run", "#tryon-gallery [data-testid=block-label]",
                "#tryon-mask")


def assert_in_the_language(page, locale: str) -> None:
    labels = [page.locator(selector).first.inner_text().strip() for selector in KEY_CONTROLS]
    if locale == "zh-CN":
        english = [label for label in labels if not CHINESE.search(label)]
        assert not english, f"English left on a Chinese page: {english}"
    else:
        assert not any(CHINESE.search(label) for label in labels), labels


def label_clear_of_toolbar(page, elem_id: str) -> bool:
    """The component's label badge ends before its toolbar (fullscreen, remove, download) begins."""
    return page.evaluate("""(id) => {
        const root = document.getElementById(id);
        const label = root.querySelector('[data-testid=block-label]');
        const buttons = [...root.querySelectorAll('.icon-button-wrapper button')].filter(b => b.offsetParent);
        if (!label || !buttons.length) return true;
        const right = label.getBoundingClientRect().right;
        return buttons.every(b => { const r = b.getBoundingClientRect();
            return r.left >= right - 1 || r.top >= label.getBoundingClientRect().bottom; });
    }""", elem_id)


def upload(page, elem_id: str, path: Path) -> None:
    page.locator(f"#{elem_id} input[type=file]").set_input_files(str(path))
    page.wait_for_selector(f"#{elem_id} img", timeout=30_000)


@pytest.mark.parametrize(("locale", "width"), VIEWS, ids=VIEW_IDS)
def test_mask_free_and_mask_based_side_by_side(browser, studio, locale: str, width: int) -> None:
    page = open_page(browser, studio.url, locale, width)
    open_tab(page, "tryon")
    page.wait_for_selector("#tryon-person input[type=file]", state="attached", timeout=30_000)
    assert "CC BY-NC-SA 4.0" in page.locator("#tryon-license").inner_text()
    assert_in_the_language(page, locale)
    # Before a run no empty comparison slider takes room.
    assert page.locator("[id^=tryon-slider-]:visible").count() == 0
    upload(page, "tryon-person", PERSON)
    upload(page, "tryon-garment", TSHIRT)
    assert label_clear_of_toolbar(page, "tryon-person") and label_clear_of_toolbar(page, "tryon-garment")
    field(page, "tryon-steps").fill("2")
    page.locator("#tryon-run").click()
    # two results and the mask the mask-based model used, side by side in one gallery
    page.wait_for_function("() => document.querySelectorAll('#tryon-gallery img').length >= 3", timeout=180_000)
    captions = page.locator("#tryon-gallery .caption-label").all_inner_texts()
    assert captions[:2] == ["CatVTON-MaskFree", "CatVTON (mask-based)"], captions
    assert captions[2].endswith(TEXT[locale]["mask_used"]), captions
    items = page.locator("#tryon-gallery .thumbnail-item").all()
    boxes = [item.locator("img").bounding_box() for item in items]
    assert abs(boxes[0]["y"] - boxes[1]["y"]) < 5 and boxes[1]["x"] > boxes[0]["x"] + boxes[0]["width"] / 2
    for item, image in zip(items, boxes, strict=True):  # each caption under its picture, whole
        caption = item.locator(".caption-label")
        assert caption.bounding_box()["y"] >= image["y"] + image["height"] - 1, "the caption sits under the picture"
        assert caption.evaluate("e => e.scrollWidth <= e.clientWidth + 1"), caption.inner_text()
    # A slider per method that ran, none for the one that did not.
    page.wait_for_function("() => document.querySelectorAll('#tryon-slider-catvton-maskfree img').length >= 1 && "
                           "document.querySelectorAll('#tryon-slider-catvton img').length >= 1", timeout=30_000)
    assert not page.locator("#tryon-slider-omnitry").is_visible()
    assert label_clear_of_toolbar(page, "tryon-slider-catvton-maskfree")
    assert label_clear_of_toolbar(page, "tryon-slider-catvton")
    recipes = page.locator("body").inner_text()
    assert "tryon/catvton-maskfree" in recipes and "zero garment latent" in recipes
    assert fits_the_width(page)
    shot(page, "tryon", locale, width)
    page.context.close()


@pytest.mark.parametrize(("locale", "width"), VIEWS, ids=VIEW_IDS)
def test_the_mask_preview(browser, studio, locale: str, width: int) -> None:
    page = open_page(browser, studio.url, locale, width)
    open_tab(page, "tryon")
    page.locator("#tryon-mask > button, #tryon-mask .label-wrap").first.click()
    upload(page, "tryon-person", PERSON)
    page.locator("#tryon-preview").click()
    page.wait_for_function("() => document.querySelector('#tryon-mask-info').innerText.includes('area_fraction')",
                           timeout=60_000)
    assert "garment vs skin" in page.locator("#tryon-mask-info").inner_text()  # what it cannot tell
    assert fits_the_width(page)
    shot(page, "tryon_mask", locale, width)
    page.context.close()


@pytest.mark.parametrize(("locale", "width"), VIEWS, ids=VIEW_IDS)
def test_a_photo_without_a_person_is_a_clear_error(browser, studio, tmp_path, locale: str, width: int) -> None:
    from PIL import Image

    wall = tmp_path / "wall.png"
    Image.new("RGB", (300, 400), (190, 190, 180)).save(wall)
    page = open_page(browser, studio.url, locale, width)
    open_tab(page, "tryon")
    page.locator("#tryon-mask > button, #tryon-mask .label-wrap").first.click()
    upload(page, "tryon-person", wall)
    page.locator("#tryon-preview").click()
    page.wait_for_selector(".toast-body", timeout=60_000)
    assert TEXT[locale]["no_person"] in page.locator(".toast-body").first.inner_text()
    page.context.close()
