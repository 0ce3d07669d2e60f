"""The studio's public API, driven with gradio_client against ``python app.py`` in the tiny profile."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError
from PIL import Image

from backends.core import imaging
from tests.e2e.conftest import ADMIN_PASSWORD

pytestmark = pytest.mark.e2e
T2I_DEFAULTS = dict(negative_prompt="", seed=None, width=512, height=512, steps=2, guidance=None)


@pytest.fixture(scope="module")
def client(studio) -> Client:
    return Client(studio.url, verbose=False)


def test_models_lists_the_registry(client: Client) -> None:
    models = client.predict(api_name="/models")
    by_key = {m["key"]: m for m in models}
    assert {"t2i/kolors", "t2i/cogview4", "t2i/qwen-image", "t2i/seedream", "ocr/rapidocr"} <= set(by_key)
    kolors = by_key["t2i/kolors"]
    assert (kolors["task"], kolors["name"], kolors["available"], kolors["profile"]) == ("t2i", "Kolors", True, "tiny")
    assert by_key["t2i/seedream"]["available"] is False and "ARK_API_KEY" in by_key["t2i/seedream"]["availability"]


def test_t2i_with_a_chinese_prompt_and_two_models(client: Client) -> None:
    prompt = "一张中秋节海报，圆月和桂花，中间写着「花好月圆」"
    gallery, recipes, summary = client.predict(
        prompt=prompt, models=["t2i/hunyuan-dit", "t2i/cogview4"], **{**T2I_DEFAULTS, "seed": 7}, api_name="/t2i")
    assert len(gallery) == 2 and len(recipes) == 2
    for item, record, key in zip(gallery, recipes, ["t2i/hunyuan-dit", "t2i/cogview4"], strict=True):
        stored = imaging.read_recipe(item["image"])  # the downloaded PNG carries its recipe
        assert stored["model"] == key == record["model"] and stored == record["recipe"]
        assert (stored["seed"], stored["width"], stored["height"], stored["steps"]) == (7, 512, 512, 2)
        assert stored["prompt"] == prompt and stored["language"] == "zh" and stored["random_weights"] is True
        assert "random weights" in item["caption"]
        check = record["text_check"]
        assert check is not None and check["targets"][0]["text"] == "花好月圆" and 0 <= check["accuracy"] <= 1
    assert "Hunyuan-DiT" in summary and "CogView4" in summary


def test_a_random_seed_is_shared_and_reported(client: Client) -> None:
    _, recipes, _ = client.predict(prompt="a red fox in the snow", models=["t2i/kolors", "t2i/flux-schnell"],
                                   **T2I_DEFAULTS, api_name="/t2i")
    seeds = {r["recipe"]["seed"] for r in recipes}
    assert len(seeds) == 1 and recipes[0]["text_check"] is None


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"prompt": ""}, "prompt: must not be empty"),
        ({"prompt": "   "}, "prompt: must not be empty"),
        ({"prompt": "长" * 20_000}, "prompt: 20,000 characters"),
        ({"prompt": "a cat\x00"}, "prompt: control character"),
        ({"width": 0}, "width: 0 is outside"),
        ({"height": 100000}, "height: 100000 is outside"),
        ({"width": 520}, "width: 520 is not a multiple of 32"),
        ({"steps": 0}, "steps: 0 is below the minimum"),
        ({"steps": 10**6}, "steps: 1000000 is above the maximum"),
        ({"seed": -1}, "seed: -1 is below the minimum 0"),
        ({"guidance": -2}, "guidance: -2.0 is below the minimum 0"),
        ({"models": ["t2i/nope"]}, "models: unknown model key 't2i/nope'"),
        ({"models": []}, "models: pick at least one model"),
        ({"models": ["ocr/rapidocr"]}, "models: ocr/rapidocr is a ocr model"),
        ({"models": ["t2i/seedream"]}, "Seedream .* not available: set ARK_API_KEY"),
        ({"models": ["t2i/kolors", "t2i/sdxl", "t2i/flux-schnell", "t2i/qwen-image", "t2i/cogview4"]},
         "models: 5 models selected"),
    ],
)
def test_bad_input_is_a_clear_error_and_the_server_keeps_serving(client: Client, changes: dict, message: str) -> None:
    arguments = {"prompt": "a cat", "models": ["t2i/cogview4"], **T2I_DEFAULTS, **changes}
    with pytest.raises(AppError, match=message):
        client.predict(**arguments, api_name="/t2i")
    assert client.predict(api_name="/models")


def test_nan_through_raw_http_names_the_field(studio) -> None:
    # gradio_client cannot even encode NaN; a hand-written JSON body can.
    body = ('{"data": ["a cat", "", ["t2i/kolors"], null, NaN, 512, 2, null, 1]}')
    posted = httpx.post(f"{studio.url}/gradio_api/call/t2i", content=body,
                        headers={"Content-Type": "application/json"}, timeout=30)
    assert posted.status_code == 200, posted.text
    event_id = posted.json()["event_id"]
    stream = httpx.get(f"{studio.url}/gradio_api/call/t2i/{event_id}", timeout=60).text
    assert "event: error" in stream and "width: expected a finite number" in stream
    assert json.dumps(httpx.get(studio.url, timeout=10).status_code) == "200"


def test_free_models_unloads_what_is_idle(client: Client) -> None:
    client.predict(prompt="a fox", models=["t2i/flux-schnell"], **{**T2I_DEFAULTS, "width": 256, "height": 256},
                   api_name="/t2i")
    loaded = {m["key"] for m in client.predict(api_name="/models") if m["loaded"]}
    assert "t2i/flux-schnell" in loaded
    with pytest.raises(AppError, match="admin_password: wrong admin password"):
        client.predict(admin_password="guess", keys=["t2i/flux-schnell"], api_name="/free_models")
    assert "t2i/flux-schnell" in {m["key"] for m in client.predict(api_name="/models") if m["loaded"]}
    result = client.predict(admin_password=ADMIN_PASSWORD, keys=["t2i/flux-schnell"], api_name="/free_models")
    assert result["freed"] == ["t2i/flux-schnell"]
    assert not any(m["loaded"] for m in client.predict(api_name="/models") if m["key"] == "t2i/flux-schnell")


def test_two_calls_at_once_with_one_seed_give_the_serial_image(client: Client, studio) -> None:
    arguments = dict(prompt="a lighthouse at dusk, 灯塔", models=["t2i/taiyi-sd-1b"],
                     **{**T2I_DEFAULTS, "seed": 11, "width": 256, "height": 256})
    serial, _, _ = client.predict(**arguments, api_name="/t2i")
    jobs = [Client(studio.url, verbose=False).submit(**arguments, api_name="/t2i") for _ in range(2)]
    expected = Image.open(serial[0]["image"]).tobytes()
    for job in jobs:
        gallery, _, _ = job.result(timeout=300)
        assert Image.open(gallery[0]["image"]).tobytes() == expected


def test_served_outputs_have_an_unguessable_folder_and_a_readable_name(client: Client, studio) -> None:
    arguments = dict(prompt="a fox", models=["t2i/flux-schnell"],
                     **{**T2I_DEFAULTS, "width": 256, "height": 256, "seed": 3})
    names = set()
    for _ in range(2):
        gallery, records, _ = client.predict(**arguments, api_name="/t2i")
        names.add(records[0]["file"])
        assert Path(gallery[0]["image"]).name == records[0]["file"]  # the download keeps the readable name
        assert records[0]["file"].endswith("_t2i-flux-schnell_3.png")
    stored = [p for name in names for p in (studio.data_dir / "outputs").rglob(name)]
    folders = {p.parent.name for p in stored}
    # Each output sits in its own random folder, so knowing the model, seed and time is not enough for a URL.
    assert len(stored) == 2 and len(folders) == 2 and all(len(f) >= 16 for f in folders)
