"""The VLM Q&A backend on each miniature family (Idefics3/SmolVLM, Florence-2, Gemma 3, PaliGemma): text answers,
yes/no probabilities, recipes, Stop, bad input; the torchvision-bound entries unavailable with the reason; and the
question routing over several engines."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PIL import Image

from backends.core.errors import Cancelled, InvalidInput
from backends.core.run import RunControl
from backends.tasks.face.types import ANALYZER, VQARequest, ask_engines, engine_keys

PHOTO = Path(__file__).resolve().parents[3] / "fixtures" / "photos" / "hagrid_call_0413d5c5.jpg"
FAMILIES = {"face/smolvlm-256m": "chat", "face/florence2-base": "caption", "face/gemma3-4b": "chat",
            "face/paligemma2-3b": "prefix"}


@pytest.fixture(scope="module")
def crop() -> Image.Image:
    return Image.open(PHOTO).convert("RGB").crop((150, 40, 330, 220))


@pytest.mark.parametrize("key", list(FAMILIES))
def test_each_family_answers_in_text(executor, crop, key):
    result = executor.run(key, VQARequest(crop, ["Is the person smiling?", "头发是什么颜色？"], max_new_tokens=6))
    assert [a.question for a in result.answers] == ["Is the person smiling?", "头发是什么颜色？"]
    assert all(isinstance(a.text, str) and a.text.strip() for a in result.answers)  # never empty (min tokens)
    assert {a.prompt for a in result.answers} == {FAMILIES[key]} and all(a.yes_probability is None
                                                                          for a in result.answers)
    recipe = result.recipe
    assert recipe.model == key and recipe.random_weights and recipe.extra["mode"] == "answer"
    assert recipe.extra["max_new_tokens"] == 6 and (recipe.width, recipe.height) == crop.size
    again = executor.run(key, VQARequest(crop, ["Is the person smiling?"], max_new_tokens=6))
    assert again.answers[0].text == result.answers[0].text  # greedy decoding: the same answer


@pytest.mark.parametrize("key", list(FAMILIES))
def test_yes_no_checks_give_a_probability(executor, crop, key):
    result = executor.run(key, VQARequest(crop, ["Does this face show eyeglasses?", "这张脸是否微笑？"], mode="yesno",
                                          max_new_tokens=4))
    for answer in result.answers:
        assert 0.0 <= answer.yes_probability <= 1.0


def test_stop_between_questions(executor, crop):
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled):
        executor.run("face/smolvlm-256m", VQARequest(crop, ["Is it a face?"]), RunControl(stop=stop))


@pytest.mark.parametrize("changes, message", [
    ({"questions": []}, "questions: give a list"),
    ({"questions": "Is it?"}, "questions: give a list"),
    ({"questions": ["  "]}, "questions: must not be empty"),
    ({"questions": ["q"] * 17}, "at most 16"),
    ({"mode": "essay"}, "mode: 'essay' is not one of answer, yesno"),
    ({"max_new_tokens": 0}, "max_new_tokens"),
    ({"image": None}, "image: no image was given"),
])
def test_bad_requests_name_the_field(executor, crop, changes, message):
    request = VQARequest(crop, ["Is the person smiling?"])
    for key, value in changes.items():
        setattr(request, key, value)
    with pytest.raises(InvalidInput, match=message):
        executor.run("face/smolvlm-256m", request)


def test_torchvision_bound_models_are_unavailable_with_the_reason(executor):
    for key in ("face/qwen2.5-vl-7b", "face/qwen3-vl-2b", "face/smolvlm2-2.2b"):
        ok, why = executor.availability(key)
        assert not ok and "torchvision" in why and "pinned torch" in why


def test_engines_come_from_the_registry(registry):
    keys = engine_keys(registry.values())
    assert keys[0] == ANALYZER and set(FAMILIES) <= set(keys)
    assert all(registry[k].task == "face" for k in keys)


def test_one_question_to_several_engines_side_by_side(executor):
    engines = [ANALYZER, "face/smolvlm-256m", "face/qwen3-vl-2b"]
    qa = ask_engines(executor, PHOTO, "Is the person smiling?", engines)
    assert [a.engine for a in qa.answers] == engines
    measured, vlm, missing = qa.answers
    assert measured.verdict is False and "corner" in measured.text and not measured.random_weights
    assert vlm.random_weights and vlm.text and vlm.applies
    assert not missing.applies and missing.text.startswith("unavailable:") and "torchvision" in missing.text
    assert qa.analysis.crop is not None
    with pytest.raises(InvalidInput, match="engines: 't2i/kolors' is not a Q&A engine"):
        ask_engines(executor, PHOTO, "Is it?", ["t2i/kolors"])
    with pytest.raises(InvalidInput, match="question: must not be empty"):
        ask_engines(executor, PHOTO, " ", [ANALYZER])


def test_without_a_face_the_vlms_see_the_whole_image(executor):
    wall = Image.new("RGB", (200, 160), (190, 190, 180))
    qa = ask_engines(executor, wall, "What is in the picture?", [ANALYZER, "face/gemma3-4b"])
    assert qa.analysis.report["count"] == 0 and qa.answers[-1].text.startswith("[no face found")
