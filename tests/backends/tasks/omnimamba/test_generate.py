"""OmniMamba generation on the miniature: the authors' prompt frame and positions, their sampling settings, the
text-to-image tab's request shape, and every bad input named."""

from __future__ import annotations

import numpy as np
import pytest

from backends.core.errors import Cancelled, InvalidInput
from backends.core.run import RunControl
from backends.tasks.omnimamba import model as lm_ops
from backends.tasks.omnimamba import vq
from backends.tasks.omnimamba.types import CAPTION_TOKENS, OmniMambaGenerateRequest, Sampling
from backends.tasks.t2i.types import T2IRequest


@pytest.fixture(scope="module")
def dog(generate):
    """The greedy image of "a dog" at seed 1 (the authors' settings), shared by the tests that only read it."""
    return generate(OmniMambaGenerateRequest("a dog", seed=1))


def test_a_256px_image_with_its_codes_and_recipe(dog) -> None:
    result = dog
    assert result.image.size == (256, 256) and result.image.mode == "RGB"
    assert len(result.codes) == 256 and all(0 <= c < 16384 for c in result.codes)
    recipe = result.recipe
    assert recipe.model == "t2i/omnimamba-1.3b" and recipe.random_weights and recipe.steps is None
    assert recipe.extra["top_k"] == 1 and recipe.extra["temperature"] == 1.0 and recipe.guidance == 1.0


def test_greedy_is_the_authors_default_and_ignores_the_seed(generate, dog) -> None:
    a = dog
    b = generate(OmniMambaGenerateRequest("a dog", seed=2))
    c = generate(OmniMambaGenerateRequest("a bird", seed=1))
    assert a.codes == b.codes and a.codes != c.codes  # the prompt, not the seed, decides a greedy image


def test_sampling_follows_the_seed(generate) -> None:
    request = OmniMambaGenerateRequest("a dog", seed=5, top_k=0, temperature=1.0)
    first, again = generate(request), generate(request)
    other = generate(OmniMambaGenerateRequest("a dog", seed=6, top_k=0, temperature=1.0))
    assert first.codes == again.codes and first.codes != other.codes
    assert np.array_equal(np.asarray(first.image), np.asarray(again.image))


def test_guidance_changes_the_image_tokens(generate, dog) -> None:
    plain = dog
    guided = generate(OmniMambaGenerateRequest("a dog", seed=1, guidance=4.0))
    assert plain.codes != guided.codes and guided.recipe.extra["null_prompt"] == "A picture"


def test_the_prompt_frame_is_the_authors(generate) -> None:
    ids = generate.prompt_ids("a dog")
    t = generate.token_ids
    assert len(ids) == 2 + CAPTION_TOKENS + 2 and ids[:2] == [t["<|t2i|>"], t["<|sot|>"]]
    assert ids[-2:] == [t["<|eot|>"], t["<|soi|>"]]
    prompt = generate.tokenizer("a dog").input_ids
    assert ids[2:-2] == [t["[PAD]"]] * (CAPTION_TOKENS - len(prompt)) + prompt  # left-padded with [PAD]
    long = generate.prompt_ids(" ".join(["cat"] * 200))
    assert len(long) == 72 and t["[PAD]"] not in long  # cut to 68 tokens, as the authors cut


def test_sampling_step_by_step_equals_one_forward_pass_over_the_codes(generate, dog) -> None:
    """Greedy codes are the argmax of ``img_head`` over one pass of prompt + codes at their ``pos_embed`` rows."""
    import torch

    codes = torch.tensor([dog.codes])
    with generate.computing():
        lm_ops.set_task(generate.lm, "t2i")
        prompt = lm_ops.caption(generate.lm, torch.tensor([generate.prompt_ids("a dog")]))  # (1, 72, d)
        images = lm_ops.image_embeddings(generate.lm, codes[:, :-1]) + generate.lm.pos_embed[:, 72:72 + 255]
        hidden = generate.lm.backbone(inputs_embeds=torch.cat([prompt, images], 1), use_cache=False).last_hidden_state
        again = generate.lm.img_head(hidden[:, 71:]).argmax(-1)  # (1, 256)
    assert again.tolist() == codes.tolist()


def test_the_vq_decoder_decodes_what_it_is_given(generate) -> None:
    import torch

    with generate.computing():
        flat = vq.decode_codes(generate.vq, torch.zeros(1, 256, dtype=torch.long))
        mixed = vq.decode_codes(generate.vq, torch.arange(256)[None])
    assert flat.shape == (1, 3, 256, 256) and not torch.allclose(flat, mixed)


def test_the_text_to_image_tabs_request_runs_with_the_defaults(generate, dog) -> None:
    tab = generate(T2IRequest(prompt="a dog", seed=1, width=256, height=256, steps=30, guidance=None))
    own = dog
    assert tab.codes == own.codes and tab.recipe.steps is None  # steps do not apply to 256 sampled tokens


def test_only_the_generation_modules_are_kept(generate) -> None:
    lm = generate.lm
    assert not hasattr(lm, "projector") and not hasattr(lm, "lm_head") and hasattr(lm, "img_head")
    assert lm.img_head.weight is lm.img_embeddings.word_embeddings.weight


def test_the_sampler_keeps_the_authors_rules() -> None:
    import torch

    from backends.tasks.omnimamba.sampling import guided, nucleus, sample

    logits = torch.tensor([[0.0, 3.0, 1.0, 2.0]])
    generator = torch.Generator().manual_seed(0)
    assert sample(logits, 1, 0.0, 1.0, None).tolist() == [1]
    assert {int(sample(logits, 2, 0.0, 1.0, generator)) for _ in range(50)} == {1, 3}  # only the top 2
    assert torch.isinf(nucleus(logits, 0.5)).sum() == 3  # the top token alone holds over half the mass
    assert torch.equal(guided(logits, logits * 0, 2.0), logits * 2)
    assert Sampling(1.0, 1.0, 1, 0.0) == Sampling(guidance=1.0, temperature=1.0, top_k=1, top_p=0.0)


@pytest.mark.parametrize(("args", "field"), [
    ({"prompt": ""}, "prompt"),
    ({"width": 512}, "width"),
    ({"height": 128}, "height"),
    ({"seed": -1}, "seed"),
    ({"guidance": 0.5}, "guidance"),
    ({"temperature": 0.0}, "temperature"),
    ({"top_k": -1}, "top_k"),
    ({"top_k": 2.5}, "top_k"),
    ({"top_p": 1.5}, "top_p"),
])
def test_bad_input_names_its_field(generate, args: dict, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        generate(OmniMambaGenerateRequest(**{"prompt": "a dog", **args}))
    assert caught.value.field == field


def test_a_text_to_image_request_at_another_size_says_why(generate) -> None:
    with pytest.raises(InvalidInput, match="256x256 images only"):
        generate.check_inputs(T2IRequest(prompt="a dog", width=1024, height=1024))


def test_stop_cancels_between_tokens(generate) -> None:
    control = RunControl()
    control.stop.set()
    with pytest.raises(Cancelled):
        generate(OmniMambaGenerateRequest("a dog"), control)
