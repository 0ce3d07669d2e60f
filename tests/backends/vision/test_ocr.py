"""Text-rendering check with RapidOCR's bundled models (offline)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from backends.core.errors import InvalidInput
from backends.core.settings import Settings
from backends.models.registry import default_registry
from backends.vision.ocr import OCRRequest, RapidOCRBackend

CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


@pytest.fixture(scope="module")
def ocr() -> RapidOCRBackend:
    backend = RapidOCRBackend(default_registry()["ocr/rapidocr"], Settings())
    backend.load()
    return backend


def poster(text: str, font: ImageFont.ImageFont, size=(420, 140)) -> Image.Image:
    image = Image.new("RGB", size, "white")
    ImageDraw.Draw(image).text((20, 40), text, fill="black", font=font)
    return image


def test_rendered_english_text_scores_high_and_missing_text_low(ocr: RapidOCRBackend) -> None:
    font = ImageFont.load_default(size=44)
    good = ocr(OCRRequest(poster("VISIT CHINA", font), ["VISIT CHINA"]))
    assert good.accuracy is not None and good.accuracy >= 0.9
    assert "VISIT" in good.to_dict()["text"].upper()
    wrong = ocr(OCRRequest(poster("HELLO WORLD", font), ["VISIT CHINA"]))
    assert wrong.accuracy < 0.5
    blank = ocr(OCRRequest(Image.new("RGB", (200, 100), "white"), ["VISIT CHINA"]))
    assert blank.accuracy == 0.0 and blank.lines == []


@pytest.mark.skipif(not CJK_FONT.exists(), reason="needs fonts-noto-cjk (installed by `make test`)")
def test_rendered_chinese_text_is_read(ocr: RapidOCRBackend) -> None:
    font = ImageFont.truetype(str(CJK_FONT), 56)
    result = ocr(OCRRequest(poster("花好月圆", font), ["花好月圆", "恭喜发财"]))
    per_target = dict(result.per_target)
    assert per_target["花好月圆"] >= 0.75
    assert per_target["恭喜发财"] <= 0.25
    assert 0.4 <= result.accuracy <= 0.65  # length-weighted mean of the two


def test_no_targets_reads_only(ocr: RapidOCRBackend) -> None:
    result = ocr(OCRRequest(poster("OPEN", ImageFont.load_default(size=44)), []))
    assert result.accuracy is None and result.per_target == []


def test_bad_requests(ocr: RapidOCRBackend) -> None:
    with pytest.raises(InvalidInput, match="image"):
        ocr(OCRRequest("not an image", []))  # type: ignore[arg-type]
