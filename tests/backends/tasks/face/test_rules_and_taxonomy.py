"""Measured answers in English and Chinese (value, threshold, heuristic note), routing of other questions and
languages, and the taxonomy's prompt builder."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from backends.core.errors import InvalidInput
from backends.tasks.face import rules
from backends.tasks.face.types import HEURISTIC_NOTE, QUESTIONS, build_prompt, check_attributes
from backends.vision import face as geometry
from backends.vision.detectors import Detectors

PHOTO = Path(__file__).resolve().parents[3] / "fixtures" / "photos" / "hagrid_call_044768ad.jpg"


@pytest.fixture(scope="module")
def faces():
    with Detectors() as detectors:
        return geometry.analyze_faces(detectors, Image.open(PHOTO))


def ask(faces, question: str):
    return rules.answer(question, faces, faces[0], (384, 514))


@pytest.mark.parametrize("question, topic, verdict, numbers", [
    ("Are the eyes open?", "eyes", True, ("EAR", ">= 0.15")),
    ("Are her eyes closed?", "eyes", False, ("EAR",)),
    ("Is the left eye open?", "eyes", True, ("left",)),
    ("Is the mouth open?", "mouth", False, ("MAR", ">= 0.25")),
    ("Is the person smiling?", "smile", False, ("corner", ">= 0.06")),
    ("Is he laughing?", "laugh", False, ("MAR",)),
    ("Is the face frontal?", "pose", True, ("yaw", "pitch", "roll", "15°")),
    ("Is the person looking at the camera?", "gaze", None, ("eye widths",)),
    ("Which way is the head turned?", "pose", None, ("yaw",)),
    ("How many faces are in the image?", "count", None, ("1 face",)),
    ("Where is the face?", "size", None, ("px",)),
    ("What are the face proportions?", "proportions", None, ("height/width",)),
])
def test_english_answers_carry_value_threshold_and_the_heuristic_note(faces, question, topic, verdict, numbers):
    answer = ask(faces, question)
    assert answer.applies and answer.language == "en" and answer.topic == topic
    if verdict is not None:
        assert answer.verdict is verdict and answer.text.startswith("Yes." if verdict else "No.")
    assert all(n in answer.text for n in numbers), answer.text
    assert answer.text.endswith(HEURISTIC_NOTE["en"])
    if topic in ("eyes", "mouth", "smile", "pose"):
        assert answer.values and answer.threshold


def test_the_gaze_verdict_matches_the_measurement(faces):
    answer = ask(faces, "Is the person looking at the camera?")
    face = faces[0]
    assert answer.verdict is not None  # a yes/no question about the camera gets a verdict
    h, v = face.gaze["mean"]
    expected = abs(h) < geometry.GAZE_SIDE and abs(v) < geometry.GAZE_VERTICAL and abs(face.pose.yaw) < 15 \
        and abs(face.pose.pitch) < 15
    assert answer.verdict is expected


@pytest.mark.parametrize("question, topic, verdict, words", [
    ("眼睛是睁开的吗？", "eyes", True, ("是的", "EAR", "视为睁开")),
    ("她在笑吗？", "smile", False, ("不是", "嘴角")),
    ("嘴巴张开了吗？", "mouth", False, ("MAR",)),
    ("头转向哪个方向？", "pose", None, ("偏航",)),
    ("图中有几张脸？", "count", None, ("1 张脸",)),
    ("这个人在看镜头吗？", "gaze", None, ("虹膜",)),
])
def test_chinese_answers_are_chinese_with_the_numbers(faces, question, topic, verdict, words):
    answer = ask(faces, question)
    assert answer.language == "zh" and answer.topic == topic and answer.applies
    assert all(w in answer.text for w in words), answer.text
    assert answer.text.endswith(HEURISTIC_NOTE["zh"])
    if verdict is not None:
        assert answer.verdict is verdict


@pytest.mark.parametrize("question", ["What colour is the hair?", "Is she wearing eyeglasses?", "这个人戴眼镜吗？",
                                      "这个人的头发是什么颜色？", "How old is this person?"])
def test_questions_about_unmeasured_attributes_are_left_to_the_vlms(faces, question):
    answer = ask(faces, question)
    assert not answer.applies and answer.verdict is None and answer.topic == ""
    assert "vision-language models" in answer.text or "视觉语言模型" in answer.text


@pytest.mark.parametrize("question, name", [("Les yeux sont-ils ouverts ?", "French"),
                                            ("目は開いていますか？", "Japanese"),
                                            ("Глаза открыты?", "Russian"), ("¿Están los ojos abiertos?", "Spanish")])
def test_other_languages_get_a_clear_message(faces, question, name):
    answer = ask(faces, question)
    assert not answer.applies and name in answer.text and "English and Chinese" in answer.text
    assert "仅支持英文和中文" in answer.text


def test_no_face_and_unmeasured_faces_say_why(faces):
    answer = rules.answer("Are the eyes open?", [], None, (100, 100))
    assert answer.verdict is None and "No face was found" in answer.text
    assert rules.answer("图中有几张脸？", [], None, (100, 100)).text.startswith("检测到 0 张脸")
    tiny = geometry.measure(1, (0, 0, 20, 20), 0.8, None)
    answer = rules.answer("Is the mouth open?", [tiny], tiny, (100, 100))
    assert answer.verdict is None and "cannot be measured" in answer.text and "mesh" in answer.text
    assert "无法拟合面部网格" in rules.answer("嘴巴张开了吗？", [tiny], tiny, (100, 100)).text


def test_the_answer_names_the_face_when_there_are_several(faces):
    two = [faces[0], geometry.measure(2, (300, 0, 380, 90), 0.9, None)]
    assert "(Face #1 of 2.)" in rules.answer("Are the eyes open?", two, two[0], (400, 514)).text


def test_every_preset_question_is_routed_in_both_languages(faces):
    for topic, english, chinese in QUESTIONS:
        for question, language in ((english, "en"), (chinese, "zh")):
            answer = ask(faces, question)
            assert answer.language == language, question
            measured = topic in {"smile", "laugh", "eyes", "mouth", "pose", "gaze", "count"}
            assert answer.applies == measured, (question, answer.topic)


def test_the_prompt_builder_is_bilingual():
    picked = check_attributes(["hair_color.black", "glasses.yes", "action.smile", "eyes.open"])
    english = build_prompt(picked, "en", "woman")
    chinese = build_prompt(picked, "zh", "woman", extra="背景是书架")
    assert english.startswith("A close-up photo portrait of a woman") and "with eyeglasses" in english
    assert "with black hair" in english and "with a smile" in english and "open eyes" in english
    assert chinese.startswith("一张女性的特写肖像照片") and "黑色头发" in chinese and "戴眼镜" in chinese
    assert chinese.endswith("背景是书架")


@pytest.mark.parametrize("ids, message", [
    ([], "pick at least one"),
    (["hair_color.black", "hair_color.blond"], "exclude each other"),
    (["eyes.open", "eyes.closed"], "exclude each other"),
    (["wings.yes"], "unknown attribute 'wings.yes'"),
    ([f"x{i}" for i in range(13)], "at most 12"),
])
def test_bad_attribute_picks_name_the_field(ids, message):
    with pytest.raises(InvalidInput, match=f"attributes: .*{message}"):
        check_attributes(ids)
    with pytest.raises(InvalidInput, match="language"):
        build_prompt(check_attributes(["glasses.yes"]), "fr")
