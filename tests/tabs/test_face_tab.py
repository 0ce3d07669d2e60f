"""Face tab handlers without a browser: Q&A side by side, measuring, generation with the closed-loop check on
miniatures, and the UniF2ace dataset part."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from PIL import Image

from backends.core.errors import InvalidInput, ModelUnavailable
from backends.core.run import RunControl
from backends.models.cache import ModelCache
from backends.models.executors import LocalExecutor
from tabs import face, face_dataset, face_generate
from tabs.common import AppContext, make_i18n

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PHOTO = FIXTURES / "photos" / "hagrid_call_044768ad.jpg"


@pytest.fixture(scope="module")
def ctx(tiny_settings, registry) -> AppContext:
    return AppContext(tiny_settings, registry, LocalExecutor(ModelCache(registry, tiny_settings)), make_i18n())


def test_ask_puts_the_question_to_every_engine(ctx):
    qa = face.ask(ctx, PHOTO, "Are the eyes open?", ["face/mediapipe", "face/florence2-base"], 0, RunControl())
    rows = face.answer_rows(ctx, qa.answers)
    assert [r[0] for r in rows] == ["Measured (MediaPipe face mesh)", "Florence-2-base (random weights)"]
    measured, florence = rows
    assert measured[1].startswith("Yes.") and "ear_right" in measured[2] and "EAR" in measured[3]
    assert measured[4] == "yes" and florence[1].startswith("[Florence-2-base describes rather than answers]")
    assert florence[4] == "—" and qa.analysis.overlay is not None
    assert face.answer_dicts(qa.answers)[0]["engine"] == "face/mediapipe"
    assert "1 face found" in face.summary(qa.analysis)


def test_analyze_view_and_face_numbers(ctx):
    overlay, message, report = face.analyze_view.__wrapped__(ctx, str(PHOTO), "")
    assert overlay.size == Image.open(PHOTO).size and report["count"] == 1 and "1 face found" in message
    assert face.face_index(None) is None and face.face_index("2") == 2 and face.face_index(0) == 0
    assert len(face.preset_choices()) == 2 * 27


def test_generate_checks_each_face_against_the_attributes(ctx, tmp_path):
    result = face_generate.generate(
        ctx, ["eyes.open", "action.smile", "glasses.yes"], ["t2i/taiyi-sd-1b"], 7, 2, RunControl(),
        checker="face/smolvlm-256m", width=256, height=256, steps=1)
    assert [r["seed"] for r in result.records] == [7, 8] and len(result.gallery) == 2
    assert all(Path(path).is_file() and "random weights" in label for path, label in result.gallery)
    record = result.records[0]
    assert record["prompt"] == result.prompts["zh"]  # Taiyi is bilingual: the Chinese prompt (language auto)
    checks = {c["attribute"]: c for c in record["checks"]}
    assert checks["eyes.open"]["method"] == "measured" and checks["action.smile"]["method"] == "measured"
    glasses = checks["glasses.yes"]
    assert glasses["method"] == "vlm" and glasses["passed"] in (True, False) and "P(yes)" in glasses["value"]
    assert "VLM check by SmolVLM-256M-Instruct (random weights)" in glasses["note"]
    if record["faces"] == 0:  # random weights draw noise: the measured checks fail, saying why
        assert checks["eyes.open"]["passed"] is False and checks["eyes.open"]["note"] == "no face found"
    [row] = result.accuracy
    assert row["model"] == "t2i/taiyi-sd-1b" and row["checked"] == 6 and row["per_attribute"].keys() == checks.keys()
    table = face_generate.accuracy_rows(ctx, result.accuracy)
    assert table[0][0] == ctx.registry["t2i/taiyi-sd-1b"].name and table[0][2] == f"{row['passed']}/6"


def test_generate_without_a_checker_leaves_the_rest_undecided(ctx):
    result = face_generate.generate(ctx, ["hat.yes", "pose.frontal"], ["t2i/flux-schnell"], 1, 1, RunControl(),
                                    checker=None, language="en", width=256, height=256, steps=1)
    checks = {c["attribute"]: c for c in result.records[0]["checks"]}
    assert checks["hat.yes"]["passed"] is None and "no VLM checker" in checks["hat.yes"]["note"]
    assert result.records[0]["prompt"].startswith("A close-up photo portrait")


@pytest.mark.parametrize("changes, error, message", [
    ({"attributes": []}, InvalidInput, "attributes: pick at least one"),
    ({"models": ["face/smolvlm-256m"]}, InvalidInput, "models: face/smolvlm-256m is not a text-to-image model"),
    ({"models": ["t2i/kolors"] * 2}, InvalidInput, "pick 1 to 4 different models"),
    ({"seeds": 9}, InvalidInput, "seeds: 9 is above the maximum 8"),
    ({"width": 100}, InvalidInput, "width: 100 is outside"),
    ({"checker": "face/mediapipe"}, InvalidInput, "checker"),
    ({"checker": "face/qwen3-vl-2b"}, ModelUnavailable, "torchvision"),
])
def test_generate_checks_everything_before_the_first_image(ctx, changes, error, message):
    arguments = {"attributes": ["glasses.yes"], "models": ["t2i/taiyi-sd-1b"], "seeds": 1, "checker":
                 "face/smolvlm-256m", "width": 256}
    arguments.update(changes)
    with pytest.raises(error, match=message):
        face_generate.generate(ctx, arguments.pop("attributes"), arguments.pop("models"), 0, arguments.pop("seeds"),
                               RunControl(), height=256, steps=1, **arguments)


def test_preview_shows_both_prompts_or_the_problem():
    groups = [[], [], ["glasses.yes"], [], [], ["action.smile"], [], []]
    text = face_generate.preview(*groups, "woman", "")
    assert "**EN:** A close-up photo portrait of a woman" in text and "**中文：** 一张女性" in text
    clash = face_generate.preview(["hair_color.black", "hair_color.red"], *[[]] * 7, "person", "")
    assert "exclude each other" in clash


def test_a_dataset_folder_outside_the_input_roots_is_refused(ctx):
    with pytest.raises(InvalidInput, match="folder: server folders are disabled"):
        face_dataset.load_view.__wrapped__(ctx, str(FIXTURES / "unif2ace"))
    inside = dataclasses.replace(ctx, settings=dataclasses.replace(ctx.settings, input_roots=(FIXTURES / "faces",)))
    with pytest.raises(InvalidInput, match="folder: .*STUDIO_INPUT_ROOTS"):
        face_dataset.load_view.__wrapped__(inside, str(FIXTURES / "unif2ace"))


def test_the_dataset_feeds_questions_and_scores_the_engines(ctx):
    ctx = dataclasses.replace(ctx, settings=dataclasses.replace(ctx.settings, input_roots=(FIXTURES,)))
    summary, questions, captions, pairs = face_dataset.load_view.__wrapped__(ctx, str(FIXTURES / "unif2ace"))
    assert summary["qa_pairs"] == 5 and len(pairs) == 5 and len(questions["choices"]) == 5
    assert len(captions["choices"]) == 4
    image, question, reference = face_dataset.pick_view(pairs, 1)
    assert Path(image).is_file() and question == "Can you describe his hair?" and "short black hair" in reference
    result = face_dataset.evaluate(ctx, pairs, ["face/mediapipe", "face/smolvlm-256m"], 3, RunControl())
    engines = {row["engine"] for row in result["summary"]}
    assert engines == {"face/mediapipe", "face/smolvlm-256m"}
    measured = next(r for r in result["answers"] if r["engine"] == "face/mediapipe")
    assert measured["question"] == "Is the person smiling?" and measured["overlap"] == ["smile"]
    assert measured["agree"] == ["smile"]  # the fixture's man is not smiling, and the mesh agrees
    with pytest.raises(InvalidInput, match="folder: load a UniF2ace folder"):
        face_dataset.evaluate(ctx, [], ["face/mediapipe"], 1, RunControl())
    with pytest.raises(InvalidInput, match="count: 99 is above the maximum 50"):
        face_dataset.evaluate(ctx, pairs, ["face/mediapipe"], 99, RunControl())


@pytest.mark.parametrize("question", ["Are the eyes open?", "Is the mouth open?", "Is the person smiling?",
                                      "Is the person laughing?", "Is the head tilted?",
                                      "Is the person looking at the camera?", "How many faces are there?"])
def test_the_threshold_column_speaks_chinese_on_a_chinese_page(ctx, question: str) -> None:
    from gradio.context import LocalContext

    from tests.tabs.test_ui_i18n import FakeRequest

    qa = face.ask(ctx, PHOTO, question, ["face/mediapipe"], 0, RunControl())
    english = face.answer_rows(ctx, qa.answers)[0][3]
    token = LocalContext.request.set(FakeRequest("zh-CN,zh;q=0.9"))
    try:
        chinese = face.answer_rows(ctx, qa.answers)[0][3]
    finally:
        LocalContext.request.reset(token)
    if english == "—":
        pytest.skip(f"no measured threshold for {question!r} on this photo")
    assert chinese != english and any("\u4e00" <= ch <= "\u9fff" for ch in chinese), (english, chinese)
