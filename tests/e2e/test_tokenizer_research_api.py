"""A user's machine, end to end: released research checkpoints (their layouts, random weights) in a Hugging Face
cache, the studio started as README says with ``STUDIO_PROFILE=real`` and ``HF_HUB_OFFLINE=1``, and an image
tokenized through ``/tokenize``."""

from __future__ import annotations

from pathlib import Path

import pytest
from gradio_client import Client, handle_file

from backends.core import imaging
from tests.backends.tasks.tokenize.hub import COMMIT, write_research_snapshots
from tests.e2e.conftest import start_studio, stop_studio

pytestmark = pytest.mark.e2e
EXAMPLES = Path(__file__).resolve().parents[2] / "assets" / "examples"
KEYS = ["tok/xqgan-4096", "tok/robusttok", "tok/titok"]


@pytest.fixture(scope="module")
def client(tiny_settings, tmp_path_factory: pytest.TempPathFactory):
    cache = tmp_path_factory.mktemp("hf-hub-e2e")
    write_research_snapshots(cache, KEYS, tiny_settings)
    data = tmp_path_factory.mktemp("studio-real")
    studio = start_studio(data, data / "studio.log", {"STUDIO_PROFILE": "real", "HF_HUB_CACHE": str(cache),
                                                      "HF_HUB_OFFLINE": "1"})
    try:
        yield Client(studio.url, verbose=False)
    finally:
        stop_studio(studio)


def test_released_checkpoints_tokenize_through_the_api(client: Client) -> None:
    recons, summary = client.predict(image=handle_file(str(EXAMPLES / "coffee.png")), tokenizers=KEYS, prefix=None,
                                     alpha=0.5, delta=50, seed=1, api_name="/tokenize")
    assert [r["caption"] for r in recons] == KEYS
    for item in recons:
        recipe = imaging.read_recipe(item["image"])
        assert recipe["profile"] == "real" and recipe["revision"] == COMMIT and recipe["model"] == item["caption"]
    assert summary["tok/robusttok"]["bits"] == summary["tok/xqgan-4096"]["bits"] == 256 * 12
    assert summary["tok/robusttok"]["perturbation"] == {**summary["tok/robusttok"]["perturbation"], "alpha": 0.5,
                                                        "delta": 50, "seed": 1}
    assert summary["tok/titok"]["shape"] == [32] and summary["tok/titok"]["size"] == [256, 256]


def test_a_checkpoint_that_is_not_there_is_a_clear_error(client: Client) -> None:
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="tok/semanticist is not available here: not cached and HF_HUB_OFFLINE=1"):
        client.predict(image=handle_file(str(EXAMPLES / "coffee.png")), tokenizers=["tok/semanticist"],
                       api_name="/tokenize")
