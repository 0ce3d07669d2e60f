"""OmniMamba's handlers without a browser: its own endpoints, and the same model as a face Q&A engine and a
text-to-image model of the other tabs."""

from __future__ import annotations

from pathlib import Path

import pytest
from gradio import Error as GradioError

from backends.core import imaging
from backends.core.run import RunControl
from backends.models.cache import ModelCache
from backends.models.executors import LocalExecutor
from tabs import face, omnimamba, text_to_image
from tabs.common import AppContext, make_i18n

PHOTO = Path(__file__).resolve().parents[1] / "fixtures" / "photos" / "hagrid_four_06aa70cc.jpg"


@pytest.fixture(scope="module")
def ctx(tiny_settings, registry) -> AppContext:
    return AppContext(tiny_settings, registry, LocalExecutor(ModelCache(registry, tiny_settings)), make_i18n())


def test_answer_endpoint(ctx) -> None:
    reply = omnimamba.omnimamba_answer(ctx, str(PHOTO), "What is in the image?", 4)
    assert reply["answer"] and reply["random_weights"] and reply["recipe"]["model"] == "face/omnimamba-1.3b"
    assert reply["recipe"]["extra"]["max_new_tokens"] == 4


def test_generate_endpoint_writes_a_png_with_its_recipe(ctx) -> None:
    path, recipe = omnimamba.omnimamba_generate(ctx, "a red cat", seed=2)
    assert imaging.read_recipe(path)["model"] == "t2i/omnimamba-1.3b" and recipe["width"] == 256
    assert recipe["extra"]["top_k"] == 1 and recipe["guidance"] == 1.0  # empty settings: the authors'


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"question": ""}, "question"), ({"max_new_tokens": 0}, "max_new_tokens"), ({"max_new_tokens": 513},
                                                                                "max_new_tokens"),
])
def test_bad_answer_input_is_a_readable_error(ctx, kwargs, field) -> None:
    args = {"image": str(PHOTO), "question": "What is it?", "max_new_tokens": None, **kwargs}
    with pytest.raises(GradioError, match=field):
        omnimamba.omnimamba_answer(ctx, **args)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"top_k": -3}, "top_k"), ({"temperature": 0}, "temperature"), ({"guidance": 0.2}, "guidance"),
    ({"seed": 1.5}, "seed"), ({"prompt": "   "}, "prompt"),
])
def test_bad_generation_input_is_a_readable_error(ctx, kwargs, field) -> None:
    with pytest.raises(GradioError, match=field):
        omnimamba.omnimamba_generate(ctx, **{"prompt": "a cat", **kwargs})


def test_it_is_one_more_engine_of_the_face_qa(ctx) -> None:
    qa = face.ask(ctx, PHOTO, "What color is the shirt?", ["face/mediapipe", "face/omnimamba-1.3b"], 0, RunControl())
    rows = face.answer_rows(ctx, qa.answers)
    assert rows[1][0] == "OmniMamba-1.3B (understanding) (random weights)" and rows[1][1]


def test_it_is_one_more_model_of_the_text_to_image_tab(ctx) -> None:
    result = text_to_image.compare(ctx, "a cat in the snow", "", ["t2i/omnimamba-1.3b"], 1, 256, 256, 30, None,
                                   control=RunControl())
    record = result.records[0]
    assert record["model"] == "t2i/omnimamba-1.3b" and record["recipe"]["width"] == 256
    assert "OmniMamba-1.3B (random weights)" in result.summary
