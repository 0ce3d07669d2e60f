"""OmniMamba understanding on the miniature: the authors' token layout and positions, greedy decoding, the face tab's
VQA contract, and every bad input named."""

from __future__ import annotations

import pytest

from backends.core.errors import Cancelled, InvalidInput
from backends.core.run import RunControl
from backends.tasks.omnimamba import model as lm_ops
from backends.tasks.omnimamba import vision
from backends.vision.vqa import VQARequest


def test_answers_in_order_with_a_recipe_and_the_same_answer_twice(understand, photo) -> None:
    request = VQARequest(photo, ["What color is the hair?", "Is the person smiling?"], max_new_tokens=6)
    first, second = understand(request), understand(request)
    assert [a.question for a in first.answers] == request.questions
    assert [a.text for a in first.answers] == [a.text for a in second.answers]
    assert all(a.text for a in first.answers)  # random weights still say something
    recipe = first.recipe
    assert recipe.model == "face/omnimamba-1.3b" and recipe.random_weights and recipe.profile == "tiny"
    assert recipe.extra["template"].startswith("phi1.5") and 0 < recipe.extra["generated_tokens"] <= 12


def test_the_image_reaches_the_answer(understand, photo, other_photo) -> None:
    import torch

    with understand.computing():
        a = vision.features(understand.dino, understand.siglip, photo)
        b = vision.features(understand.dino, understand.siglip, other_photo)
    assert a.shape == (1, 729, 64)  # 27 x 27 patches of DINOv2 (32) + SigLIP (32) in the miniature
    assert not torch.allclose(a, b)


def test_the_token_layout_is_the_authors(understand, photo) -> None:
    with understand.computing():
        patches = lm_ops.project(understand.lm, vision.features(understand.dino, understand.siglip, photo))
        x = understand.prompt(patches, "Why?")
    question = understand.tokenizer("USER: Why? ASSISTANT:").input_ids
    assert x.shape[1] == 2 + 729 + 2 + len(question)  # <|mmu|> <|soi|> patches <|eoi|> <|sot|> question


def test_decoding_step_by_step_equals_one_forward_pass_over_the_answer(understand, photo) -> None:
    """The cache and the position of every fed-back token: greedy tokens are the argmax of a full forward pass."""
    import torch

    with understand.computing():
        patches = lm_ops.project(understand.lm, vision.features(understand.dino, understand.siglip, photo))
    (text, _), count = understand.answer(patches, "What is it?", 5, False, RunControl())
    with understand.computing():
        lm_ops.set_task(understand.lm, "mmu")
        ids, inputs = [], understand.prompt(patches, "What is it?")
        for _ in range(count):
            out = understand.lm.backbone(inputs_embeds=inputs, use_cache=False).last_hidden_state
            ids.append(int(understand.lm.lm_head(out[:, -1]).argmax()))
            step = lm_ops.text_embeddings(understand.lm, torch.tensor([[ids[-1]]]))
            inputs = torch.cat([inputs, lm_ops.with_mmu_positions(understand.lm, step, inputs.shape[1])], dim=1)
    assert count > 0 and understand.tokenizer.decode(ids, skip_special_tokens=True).strip() == text


def test_the_understanding_lora_is_the_one_applied(understand) -> None:
    import torch

    x = torch.randn(1, 3, understand.config.d_model)
    with understand.computing():
        lm_ops.set_task(understand.lm, "mmu")
        mmu = understand.lm.backbone(inputs_embeds=x, use_cache=False).last_hidden_state
        lm_ops.set_task(understand.lm, "t2i")
        t2i = understand.lm.backbone(inputs_embeds=x, use_cache=False).last_hidden_state
        lm_ops.set_task(understand.lm, "mmu")
    assert not torch.allclose(mmu, t2i)


def test_only_the_understanding_modules_are_kept(understand) -> None:
    lm = understand.lm
    assert not hasattr(lm, "img_head") and not hasattr(lm, "img_embeddings") and hasattr(lm, "projector")
    assert lm.lm_head.weight is lm.backbone.embeddings.weight  # tied again: the file stores two equal copies
    assert understand.memory_bytes() > 0


def test_yes_no_mode_gives_a_probability(understand, photo) -> None:
    result = understand(VQARequest(photo, ["Is the person smiling?"], mode="yesno", max_new_tokens=2))
    assert 0.0 <= result.answers[0].yes_probability <= 1.0


@pytest.mark.parametrize(("request_args", "field"), [
    ({"questions": []}, "questions"),
    ({"questions": ["  "]}, "questions"),
    ({"mode": "score"}, "mode"),
    ({"max_new_tokens": 0}, "max_new_tokens"),
    ({"image": None}, "image"),
])
def test_bad_input_names_its_field(understand, photo, request_args: dict, field: str) -> None:
    args = {"image": photo, "questions": ["What is it?"], **request_args}
    with pytest.raises(InvalidInput) as caught:
        understand(VQARequest(**args))
    assert caught.value.field == field


def test_stop_cancels_between_tokens(understand, photo) -> None:
    control = RunControl()
    control.stop.set()
    with pytest.raises(Cancelled):
        understand(VQARequest(photo, ["What is it?"]), control)
