"""Seedream through the Ark images API, against a local HTTP server that speaks the same JSON."""

from __future__ import annotations

import base64
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from backends.core.errors import InvalidInput, ModelUnavailable
from backends.core.settings import Settings
from backends.models.registry import default_registry
from backends.tasks.t2i.seedream import SeedreamAPI
from backends.tasks.t2i.types import T2IRequest


def png_bytes(color=(200, 30, 30), size=(64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


class FakeArk:
    """Records requests; answers with the reply queued in ``self.reply`` (status, JSON body)."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.downloads: list[str | None] = []  # the Authorization header of each image download
        self.reply: tuple[int, dict] = (200, {})
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
                status, payload = fake.reply
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # image URLs
                fake.downloads.append(self.headers.get("Authorization"))
                data = png_bytes((10, 200, 10))
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/v3"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()


@pytest.fixture
def ark():
    fake = FakeArk()
    yield fake
    fake.server.shutdown()


def api(ark: FakeArk, key: str = "secret", model: str = "seedream-3-0-t2i-250415") -> SeedreamAPI:
    backend = SeedreamAPI(default_registry()["t2i/seedream"],
                          Settings(ark_api_key=key, ark_base_url=ark.url, seedream_model=model))
    backend.load()
    return backend


def success(**item) -> tuple[int, dict]:
    return 200, {"model": "seedream-3-0-t2i-250415", "created": 1, "data": [item], "usage": {"generated_images": 1}}


def test_generates_through_the_api_with_the_documented_body(ark: FakeArk) -> None:
    ark.reply = success(b64_json=base64.b64encode(png_bytes()).decode(), size="64x48")
    result = api(ark)(T2IRequest(prompt="一张海报，写着“你好”", seed=7, width=1024, height=768, guidance=3.0))
    sent = ark.requests[0]
    assert sent["path"] == "/api/v3/images/generations" and sent["auth"] == "Bearer secret"
    assert sent["body"] == {"model": "seedream-3-0-t2i-250415", "prompt": "一张海报，写着“你好”", "size": "1024x768",
                            "seed": 7, "guidance_scale": 3.0, "response_format": "b64_json", "watermark": False}
    assert result.image.size == (64, 48) and result.image.getpixel((0, 0)) == (200, 30, 30)
    r = result.recipe
    assert (r.model, r.seed, r.guidance, r.steps, r.profile, r.language) == ("t2i/seedream", 7, 3.0, None, "remote",
                                                                           "zh")
    assert r.quoted_text == ["你好"] and r.repo_id == "ark:seedream-3-0-t2i-250415"


def test_url_replies_are_downloaded_and_later_models_get_no_guidance(ark: FakeArk) -> None:
    ark.reply = success(url=f"{ark.url}/files/image.png")
    result = api(ark, model="seedream-4-0-250828")(T2IRequest(prompt="a red fox", seed=1, width=1024, height=1024))
    assert "guidance_scale" not in ark.requests[0]["body"]
    assert result.image.getpixel((1, 1)) == (10, 200, 10) and result.recipe.guidance is None


def test_the_key_never_goes_to_a_url_a_reply_names(ark: FakeArk) -> None:
    elsewhere = FakeArk()  # another host: what a tampered or compromised reply could point at
    try:
        for url in (f"{elsewhere.url}/steal.png", f"{ark.url}/files/image.png"):
            ark.reply = success(url=url)
            api(ark)(T2IRequest(prompt="a red fox", seed=1, width=1024, height=1024))
        assert elsewhere.downloads == [None] and ark.downloads == [None]
        assert all(r["auth"] == "Bearer secret" for r in ark.requests)  # only the configured API gets the key
        ark.reply = success(url="file:///etc/passwd")
        with pytest.raises(ModelUnavailable, match="not an http"):
            api(ark)(T2IRequest(prompt="a red fox", seed=1, width=1024, height=1024))
    finally:
        elsewhere.server.shutdown()


def test_a_random_seed_is_drawn_and_reported(ark: FakeArk) -> None:
    ark.reply = success(b64_json=base64.b64encode(png_bytes()).decode())
    result = api(ark)(T2IRequest(prompt="a fox", width=1024, height=1024))
    assert result.recipe.seed == ark.requests[0]["body"]["seed"] and 0 <= result.recipe.seed < 2**31


@pytest.mark.parametrize(
    "reply, error, message",
    [
        ((401, {"error": {"code": "AuthenticationError", "message": "bad key"}}), ModelUnavailable, "refused the key"),
        ((429, {"error": {"code": "RateLimit", "message": "slow down"}}), ModelUnavailable, "rate limiting"),
        ((400, {"error": {"code": "InputTextSensitive", "message": "sensitive"}}), InvalidInput,
         "prompt: .*sensitive"),
        ((500, {"error": "boom"}), ModelUnavailable, "HTTP 500"),
        (success(error={"code": "OutputImageSensitive", "message": "blocked"}), InvalidInput, "blocked"),
        ((200, {"data": []}), ModelUnavailable, "no image"),
        (success(b64_json=base64.b64encode(b"not a png").decode()), ModelUnavailable, "not an image"),
    ],
)
def test_api_failures_are_clear_errors(ark: FakeArk, reply, error, message: str) -> None:
    ark.reply = reply
    with pytest.raises(error, match=message):
        api(ark)(T2IRequest(prompt="a fox", seed=1, width=1024, height=1024))


def test_without_a_key_the_model_is_unavailable(ark: FakeArk) -> None:
    with pytest.raises(ModelUnavailable, match="ARK_API_KEY"):
        api(ark, key="")


def test_unreachable_api() -> None:
    backend = SeedreamAPI(default_registry()["t2i/seedream"],
                          Settings(ark_api_key="k", ark_base_url="http://127.0.0.1:9/api/v3"))
    backend.load()
    with pytest.raises(ModelUnavailable, match="cannot reach"):
        backend(T2IRequest(prompt="a fox", seed=1, width=1024, height=1024))


def test_inputs_are_checked_before_any_request(ark: FakeArk) -> None:
    backend = api(ark)
    with pytest.raises(InvalidInput, match="width: 100000"):
        backend(T2IRequest(prompt="a fox", width=100000, height=1024))
    with pytest.raises(InvalidInput, match="seed"):
        backend(T2IRequest(prompt="a fox", seed=-5, width=1024, height=1024))
    assert ark.requests == []
