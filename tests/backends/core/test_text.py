from __future__ import annotations

import pytest

from backends.core.errors import InvalidInput
from backends.core.text import char_accuracy, check_prompt, detect_language, extract_quoted, infix_edit_distance


@pytest.mark.parametrize(
    "prompt, language",
    [
        ("一幅水墨画，描绘江南水乡", "zh"),
        ("A cozy ramen shop at night", "en"),
        ("一只穿着汉服的柴犬 sitting in a bamboo forest", "mixed"),
        ("春节海报，上面写着“HAPPY NEW YEAR”", "zh"),  # quoted text does not count
        ('A poster that says "恭喜发财"', "en"),
        ("4K 高清 风景", "zh"),  # one Latin letter is not an English word
        ("“你好”", "zh"),
    ],
)
def test_detect_language(prompt: str, language: str) -> None:
    assert detect_language(prompt) == language


def test_extract_quoted_handles_every_quote_style() -> None:
    prompt = 'a sign "OPEN" and “营业中”, 「花好月圆」 and 『福』, plus \'SALE\' but not don\'t'
    assert extract_quoted(prompt) == ["OPEN", "营业中", "花好月圆", "福", "SALE"]
    assert extract_quoted("no quotes here") == []
    assert extract_quoted('empty "  " quotes') == []


@pytest.mark.parametrize(
    "value, message",
    [
        ("", "prompt: must not be empty"),
        ("   \n\t ", "prompt: must not be empty"),
        ("x" * 20_000, "prompt: 20,000 characters is longer than the limit"),
        ("bell\x07", "prompt: control character U[+]0007 at position 4"),
        ("nul\x00", "control character U[+]0000"),
        (None, "prompt: expected text"),
        (42, "prompt: expected text"),
    ],
)
def test_bad_prompts_name_the_field(value, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        check_prompt(value)


def test_good_prompts_pass_trimmed() -> None:
    assert check_prompt("  a cat\n on a mat\t ") == "a cat\n on a mat"
    assert check_prompt(None, "negative_prompt", required=False) == ""


def test_infix_edit_distance() -> None:
    assert infix_edit_distance("花好月圆", "中秋快乐花好月圆团圆") == 0
    assert infix_edit_distance("花好月圆", "花好日圆") == 1
    assert infix_edit_distance("open", "") == 4
    assert infix_edit_distance("", "anything") == 0


def test_char_accuracy() -> None:
    assert char_accuracy("VISIT CHINA", "visit china 1935") == 1.0  # case and spaces folded
    assert char_accuracy("VISIT CHINA", "VISLT CHINA") == pytest.approx(0.9)
    assert char_accuracy("花好月圆", "") == 0.0
    assert char_accuracy("恭喜发财", "恭喜發財") == pytest.approx(0.5)  # traditional forms are different characters
    assert char_accuracy("!!!", "anything") == 1.0
