"""A user's machine, end to end: OmniMamba's released files (their repos, names and layouts; random weights) in a
Hugging Face cache, the studio started as README says with ``STUDIO_PROFILE=real`` and ``HF_HUB_OFFLINE=1``, and both
tasks run through the API: OmniMamba's own endpoints, the face tab's Q&A and the text-to-image endpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
from gradio_client import Client, handle_file

from backends.core import imaging
from tests.backends.tasks.omnimamba.hub import COMMIT, write_omnimamba_snapshots
from tests.e2e.conftest import start_studio, stop_studio

pytestmark = pytest.mark.e2e
PHOTO = Path(__file__).resolve().parents[1] / "fixtures" / "photos" / "hagrid_four_06aa70cc.jpg"


@pytest.fixture(scope="module")
def client(tiny_settings, tmp_path_factory: pytest.TempPathFactory):
    cache = tmp_path_factory.mktemp("hf-hub-omnimamba-e2e")
    write_omnimamba_snapshots(cache, tiny_settings)
    data = tmp_path_factory.mktemp("studio-real-omnimamba")
    studio = start_studio(data, data / "studio.log", {"STUDIO_PROFILE": "real", "HF_HUB_CACHE": str(cache),
                                                      "HF_HUB_OFFLINE": "1", "STUDIO_CACHE_BUDGET_GB": "32"})
    try:
        yield Client(studio.url, verbose=False)
    finally:
        stop_studio(studio)


def test_understanding_through_its_endpoint_and_the_face_qa(client: Client) -> None:
    reply = client.predict(image=handle_file(str(PHOTO)), question="What is in the image?", max_new_tokens=4,
                           api_name="/omnimamba_answer")
    recipe = reply["recipe"]
    assert recipe["profile"] == "real" and recipe["revision"] == COMMIT and not reply["random_weights"]
    qa = client.predict(image=handle_file(str(PHOTO)), question="What is in the image?",
                        engines=["face/omnimamba-1.3b"], face=None, api_name="/face_qa")
    assert [a["engine"] for a in qa["answers"]] == ["face/omnimamba-1.3b"] and qa["answers"][0]["text"]


def test_generation_through_its_endpoint_and_the_text_to_image_tab(client: Client) -> None:
    path, recipe = client.predict(prompt="a red cat", seed=3, guidance=None, temperature=None, top_k=None,
                                  top_p=None, api_name="/omnimamba_generate")
    assert imaging.read_recipe(path)["revision"] == COMMIT and recipe["extra"]["top_k"] == 1
    gallery, records, _ = client.predict(prompt="a red cat", negative_prompt="", models=["t2i/omnimamba-1.3b"],
                                         seed=3, width=256, height=256, steps=None, guidance=None, api_name="/t2i")
    assert records[0]["recipe"]["revision"] == COMMIT and len(gallery) == 1


def test_a_bad_setting_is_a_clear_error(client: Client) -> None:
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="top_k"):
        client.predict(prompt="a red cat", seed=3, guidance=None, temperature=None, top_k=-1, top_p=None,
                       api_name="/omnimamba_generate")
