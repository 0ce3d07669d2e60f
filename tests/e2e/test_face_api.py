"""Face analysis, Q&A and attribute-checked generation through the public API (tiny profile)."""

from __future__ import annotations

from pathlib import Path

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from backends.core import imaging

pytestmark = pytest.mark.e2e
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PHOTO = FIXTURES / "photos" / "hagrid_call_044768ad.jpg"


@pytest.fixture(scope="module")
def client(studio) -> Client:
    return Client(studio.url, verbose=False)


def test_face_analyze(client: Client) -> None:
    report, overlay = client.predict(image=handle_file(str(PHOTO)), api_name="/face_analyze")
    assert report["count"] == 1 and report["chosen"] == 1
    face = report["faces"][0]
    assert {"box", "pose", "eyes", "mouth", "smile", "gaze"} <= set(face)
    assert {"yaw", "pitch", "roll"} <= set(face["pose"]) and face["eyes"]["left"]["open"]
    assert Image.open(overlay).size == Image.open(PHOTO).size


def test_face_qa_measured_and_vlm_side_by_side(client: Client) -> None:
    result = client.predict(image=handle_file(str(PHOTO)), question="眼睛是睁开的吗？",
                            engines=["face/mediapipe", "face/gemma3-4b"], api_name="/face_qa")
    measured, vlm = result["answers"]
    assert measured["engine"] == "face/mediapipe" and measured["verdict"] is True and "EAR" in measured["text"]
    assert measured["language"] == "zh" and "阈值为经验值" in measured["text"]
    assert vlm["engine"] == "face/gemma3-4b" and vlm["random_weights"] and vlm["text"]
    assert result["analysis"]["count"] == 1


def test_face_qa_defaults_and_other_languages(client: Client) -> None:
    result = client.predict(image=handle_file(str(PHOTO)), question="Les yeux sont-ils ouverts ?",
                            api_name="/face_qa")
    engines = [a["engine"] for a in result["answers"]]
    assert engines == ["face/mediapipe", "face/smolvlm-256m"]
    assert "French" in result["answers"][0]["text"] and not result["answers"][0]["applies"]


def test_face_generate_checks_what_was_asked(client: Client) -> None:
    gallery, result = client.predict(attributes=["eyes.open", "glasses.yes"], models=["t2i/flux-schnell"], seed=3,
                                     seeds=2, api_name="/face_generate")
    assert len(gallery) == 2 and len(result["records"]) == 2
    record = result["records"][0]
    assert record["seed"] == 3 and record["recipe"]["model"] == "t2i/flux-schnell"
    path = gallery[0]["image"] if isinstance(gallery[0], dict) else gallery[0][0]
    assert imaging.read_recipe(path)["seed"] == 3
    methods = {c["attribute"]: c["method"] for c in record["checks"]}
    assert methods == {"eyes.open": "measured", "glasses.yes": "vlm"}
    assert result["accuracy"][0]["model"] == "t2i/flux-schnell" and result["accuracy"][0]["checked"] == 4
    assert "with eyeglasses" in result["prompts"]["en"] and "戴眼镜" in result["prompts"]["zh"]


@pytest.mark.parametrize("endpoint, arguments, message", [
    ("/face_analyze", {"face": 3}, "face: 3 is out of range: 1 face found"),
    ("/face_qa", {"question": "   "}, "question: must not be empty"),
    ("/face_qa", {"question": "Is it?", "engines": ["t2i/kolors"]}, "engines: 't2i/kolors' is not a Q&A engine"),
    ("/face_generate", {"attributes": ["eyes.open", "eyes.closed"]}, "exclude each other"),
    ("/face_generate", {"attributes": ["wings.yes"]}, "unknown attribute 'wings.yes'"),
    ("/face_generate", {"attributes": ["eyes.open"], "seeds": 20}, "seeds: 20 is above the maximum 8"),
])
def test_bad_input_is_a_clear_error(client: Client, endpoint: str, arguments: dict, message: str) -> None:
    if endpoint != "/face_generate":
        arguments = {"image": handle_file(str(PHOTO)), **arguments}
    with pytest.raises(AppError, match=message):
        client.predict(**arguments, api_name=endpoint)


def test_no_face_is_reported_and_the_server_keeps_serving(client: Client, tmp_path: Path) -> None:
    blank = tmp_path / "wall.png"
    Image.new("RGB", (200, 160), (190, 190, 180)).save(blank)
    report, _ = client.predict(image=handle_file(str(blank)), api_name="/face_analyze")
    assert report["count"] == 0 and report["message"].startswith("No face found")
    result = client.predict(image=handle_file(str(blank)), question="Are the eyes open?",
                            engines=["face/mediapipe"], api_name="/face_qa")
    assert "No face was found" in result["answers"][0]["text"]
    report, _ = client.predict(image=handle_file(str(PHOTO)), api_name="/face_analyze")
    assert report["count"] == 1
