"""The tokenizer visualizer through the public API (tiny profile)."""

from __future__ import annotations

from pathlib import Path

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from backends.core import imaging

pytestmark = pytest.mark.e2e
EXAMPLES = Path(__file__).resolve().parents[2] / "assets" / "examples"


@pytest.fixture(scope="module")
def client(studio) -> Client:
    return Client(studio.url, verbose=False)


def test_tokenize_two_tokenizers(client: Client) -> None:
    recons, summary = client.predict(image=handle_file(str(EXAMPLES / "chelsea.png")),
                                     tokenizers=["tok/pca", "tok/movq"], prefix=12, alpha=0.5, delta=4, seed=2,
                                     api_name="/tokenize")
    assert [r["caption"] for r in recons] == ["tok/pca", "tok/movq"]
    for item in recons:
        assert imaging.read_recipe(item["image"])["model"] == item["caption"]
        assert Image.open(item["image"]).size == (384, 255) or Image.open(item["image"]).size[0] % 8 == 0
    assert summary["tok/pca"]["prefix"]["k"] == 12 and summary["tok/pca"]["ordered"]
    assert summary["tok/movq"]["perturbation"]["alpha"] == 0.5 and summary["tok/movq"]["discrete"]


@pytest.mark.parametrize(
    "changes, message",
    [({"alpha": 2.0}, "alpha: 2.0 is above the maximum 1"), ({"prefix": 1000}, "prefix: 1000 is larger than"),
     ({"tokenizers": ["tok/nope"]}, "unknown model key 'tok/nope'"),
     ({"tokenizers": ["tok/lactok"]}, "needs the authors' code")],
)
def test_bad_tokenize_requests(client: Client, changes: dict, message: str) -> None:
    arguments = {"image": handle_file(str(EXAMPLES / "coffee.png")), "tokenizers": ["tok/pca"], "prefix": None,
                 "alpha": 0.0, "delta": 8, "seed": 0, **changes}
    with pytest.raises(AppError, match=message):
        client.predict(**arguments, api_name="/tokenize")


def test_tokenizer_eval_on_uploaded_files(client: Client) -> None:
    path, data = client.predict(folder="", files=[handle_file(str(p)) for p in sorted(EXAMPLES.glob("*.png"))],
                                tokenizers=["tok/vq", "tok/dct"], alpha=0.5, delta=8, api_name="/tokenizer_eval")
    rows = {s["tokenizer"]: s for s in data["summary"]}
    assert rows["tok/vq"]["images"] == 3 and rows["tok/dct"]["bits_per_pixel"] <= rows["tok/vq"]["bits_per_pixel"]
    assert data["fid"].startswith("unavailable") and rows["tok/vq"]["perturbation"]["alpha"] == 0.5
    assert Path(path).read_text().startswith("image,tokenizer,psnr")
    assert data["pool"] == ""  # public: no copies of the uploads are kept without the admin password


def test_a_server_folder_needs_the_admin_password(client: Client) -> None:
    # Refused before the folder is looked at, and before any admin call (the e2e studio's admin rate limit is shared;
    # the password itself is tested in tests/tabs/test_tokenizer_tab.py).
    with pytest.raises(AppError, match="reading a server folder needs the admin password"):
        client.predict(folder="/etc", files=None, tokenizers=["tok/vq"], api_name="/tokenizer_eval")


def test_research_tokenizers_with_diffusion_settings(client: Client) -> None:
    recons, summary = client.predict(image=handle_file(str(EXAMPLES / "chelsea.png")),
                                     tokenizers=["tok/semanticist", "tok/llamagen-vq"], prefix=16, alpha=0.25, delta=8,
                                     seed=3, steps=2, guidance=1.5, api_name="/tokenize")
    semanticist, llamagen = summary["tok/semanticist"], summary["tok/llamagen-vq"]
    assert semanticist["ordered"] and semanticist["prefix"]["k"] == 16 and semanticist["size"] == [256, 256]
    assert llamagen["discrete"] and llamagen["bits"] == 256 * 14 and llamagen["perturbation"]["delta"] == 8
    recipe = imaging.read_recipe(recons[0]["image"])
    assert recipe["extra"]["steps"] == 2 and recipe["extra"]["guidance"] == 1.5


def test_bad_diffusion_settings(client: Client) -> None:
    with pytest.raises(AppError, match="steps: 5000 is above the maximum 1000"):
        client.predict(image=handle_file(str(EXAMPLES / "coffee.png")), tokenizers=["tok/semanticist"], steps=5000,
                       api_name="/tokenize")
