"""Hand detection and repair through the public API (tiny profile)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from backends.core import imaging

pytestmark = pytest.mark.e2e
PHOTO = Path(__file__).resolve().parents[1] / "fixtures" / "photos" / "hagrid_call_0413d5c5.jpg"


@pytest.fixture(scope="module")
def client(studio) -> Client:
    return Client(studio.url, verbose=False)


def test_hand_detect(client: Client) -> None:
    report, overlay = client.predict(image=handle_file(str(PHOTO)), api_name="/hand_detect")
    assert report["count"] >= 1 and 0.5 < report["hands"][0]["score"] <= 1
    assert len(report["hands"][0]["landmarks"]) == 21
    assert Image.open(overlay).size == Image.open(PHOTO).size


def test_hand_repair_with_defaults(client: Client) -> None:
    path, result = client.predict(image=handle_file(str(PHOTO)), steps=4, api_name="/hand_repair")
    recipe = imaging.read_recipe(path)
    assert recipe["model"] == "inpaint/sd15" and recipe["extra"]["method"] == "mghand"
    assert recipe == result["recipe"] and recipe["random_weights"]
    assert result["before"]["count"] >= 1 and "count" in result["after"]
    assert Image.open(path).size == Image.open(PHOTO).size


def test_hand_repair_inpaint_on_sdxl(client: Client) -> None:
    path, result = client.predict(image=handle_file(str(PHOTO)), model="inpaint/sdxl", method="inpaint", seed=5,
                                  steps=2, api_name="/hand_repair")
    assert result["recipe"]["model"] == "inpaint/sdxl" and result["recipe"]["seed"] == 5
    assert np.asarray(Image.open(path)).shape == np.asarray(Image.open(PHOTO).convert("RGB")).shape


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"method": "sorcery"}, "method: 'sorcery'"),
        ({"strength": 0.0}, "strength"),
        ({"model": "t2i/kolors"}, "model: t2i/kolors is a t2i model"),
        ({"model": "inpaint/sdxl"}, "mghand's guided loop runs on SD-1.x"),
        ({"mask_growth": 3}, "mask_growth: 3"),
    ],
)
def test_bad_repairs(client: Client, changes: dict, message: str) -> None:
    with pytest.raises(AppError, match=message):
        client.predict(image=handle_file(str(PHOTO)), steps=2, **changes, api_name="/hand_repair")


def test_no_hand_is_a_clear_message(client: Client, tmp_path: Path) -> None:
    blank = tmp_path / "wall.png"
    Image.new("RGB", (200, 160), (190, 190, 180)).save(blank)
    report, _ = client.predict(image=handle_file(str(blank)), api_name="/hand_detect")
    assert report["count"] == 0 and report["message"].startswith("No hand found")
    with pytest.raises(AppError, match="No hand found"):
        client.predict(image=handle_file(str(blank)), steps=2, api_name="/hand_repair")
