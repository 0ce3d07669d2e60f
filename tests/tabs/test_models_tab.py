"""The Models tab's words: what freeing memory did, in the reader's language."""

from __future__ import annotations

from gradio.context import LocalContext

from tabs.models import freed_message


class ChineseRequest:
    headers = {"accept-language": "zh-CN,zh;q=0.9"}
    cookies: dict[str, str] = {}


def test_freeing_says_what_was_freed_and_what_stays() -> None:
    assert freed_message(None) == ""
    assert freed_message({"freed": [], "in_use": []}) == "Nothing was loaded, so nothing was freed."
    said = freed_message({"freed": ["t2i/kolors", "face/mediapipe"], "in_use": ["t2i/flux-schnell"]})
    assert said.startswith("**Freed:** t2i/kolors, face/mediapipe") and "**Still in use**" in said
    assert said.endswith("t2i/flux-schnell")
    token = LocalContext.request.set(ChineseRequest())
    try:
        assert freed_message({"freed": ["t2i/kolors"], "in_use": []}) == "**已释放：** t2i/kolors"
    finally:
        LocalContext.request.reset(token)
