"""Virtual try-on through the public API (tiny profile): /tryon_mask and /tryon, and bad input named."""

from __future__ import annotations

from pathlib import Path

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from backends.core import imaging

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
PERSON = ROOT / "tests" / "fixtures" / "photos" / "hagrid_four_06aa70cc.jpg"
TSHIRT = ROOT / "assets" / "examples" / "garments" / "tshirt.png"
FAST = {"seed": 7, "steps": 2, "width": 256, "height": 320}


@pytest.fixture(scope="module")
def client(studio) -> Client:
    return Client(studio.url, verbose=False)


def test_tryon_mask(client: Client) -> None:
    mask, info = client.predict(person=handle_file(str(PERSON)), category="upper", api_name="/tryon_mask")
    assert Image.open(mask).size == Image.open(PERSON).size
    assert info["category"] == "upper" and 0.02 < info["area_fraction"] < 0.5
    assert {"left_shoulder", "right_shoulder", "left_hip", "right_hip"} <= set(info["landmarks_used"])
    assert info["people"] == 1 and any("sleeve" in limit for limit in info["limits"])


def test_tryon_mask_free_and_mask_based(client: Client) -> None:
    gallery, data = client.predict(person=handle_file(str(PERSON)), garment=handle_file(str(TSHIRT)),
                                   category="upper", methods="tryon/catvton-maskfree,tryon/catvton", **FAST,
                                   api_name="/tryon")
    assert [item["caption"] for item in gallery] == ["CatVTON-MaskFree", "CatVTON (mask-based)"]
    free, based = data["results"]
    assert free["model"] == "tryon/catvton-maskfree" and free["mask"] is None
    assert based["recipe"]["extra"]["mask"] == "automatic (mediapipe)" and based["mask"]
    for item, result in zip(gallery, data["results"], strict=True):
        recipe = imaging.read_recipe(item["image"])
        assert recipe == result["recipe"] and recipe["seed"] == 7 and recipe["random_weights"]
        assert Image.open(item["image"]).size == (256, 320)


def test_tryon_with_defaults_picks_both_methods(client: Client) -> None:
    gallery, data = client.predict(person=handle_file(str(PERSON)), garment=handle_file(str(TSHIRT)), steps=1,
                                   width=256, height=320, api_name="/tryon")
    assert [r["model"] for r in data["results"]] == ["tryon/catvton-maskfree", "tryon/catvton"]
    assert data["results"][0]["recipe"]["steps"] == 1 and data["results"][0]["recipe"]["guidance"] == 2.5


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"category": "hat"}, "category: 'hat' is not one of upper, lower, overall"),
        ({"methods": "tryon/nothing"}, "methods: 'tryon/nothing' is not a try-on model"),
        ({"width": 260}, "width: 260 is not a multiple of 8"),
        ({"steps": 0}, "steps: 0 is below the minimum 1"),
    ],
)
def test_bad_requests_are_named(client: Client, changes: dict, message: str) -> None:
    fields = {"person": handle_file(str(PERSON)), "garment": handle_file(str(TSHIRT)), **FAST, **changes}
    with pytest.raises(AppError, match=message):
        client.predict(**fields, api_name="/tryon")


def test_no_person_is_a_clear_message_and_the_server_keeps_serving(client: Client, tmp_path: Path) -> None:
    wall = tmp_path / "wall.png"
    Image.new("RGB", (300, 400), (190, 190, 180)).save(wall)
    with pytest.raises(AppError, match="person: no person found"):
        client.predict(person=handle_file(str(wall)), category="upper", api_name="/tryon_mask")
    with pytest.raises(AppError, match="person: no person found"):
        client.predict(person=handle_file(str(wall)), garment=handle_file(str(TSHIRT)), **FAST, api_name="/tryon")
    mask, info = client.predict(person=handle_file(str(PERSON)), category="overall", api_name="/tryon_mask")
    assert info["category"] == "overall"
