"""OmniMamba under the face tab: one 1.3B Mamba-2 model that answers questions about an image and generates images,
run on transformers' native Mamba-2 (CPU or GPU). Its own API endpoints, ``omnimamba_answer`` and
``omnimamba_generate``, take the authors' sampling settings; the same model is also an engine of the face tab's Q&A
(``face/omnimamba-1.3b``) and a model of the text-to-image tab (``t2i/omnimamba-1.3b``)."""

from __future__ import annotations

from typing import Any

import gradio as gr
from PIL import Image

from backends.core import imaging
from backends.core.errors import ModelUnavailable
from backends.core.text import check_prompt
from backends.core.validation import check_number
from backends.tasks.omnimamba.types import AUTHORS_SAMPLING, MAX_NEW_TOKENS, OmniMambaGenerateRequest, VQARequest
from tabs.common import GPU, AppContext, bind, optional_number, require_int, run_control, stop_run, ui_errors

UNDERSTAND, GENERATE = "face/omnimamba-1.3b", "t2i/omnimamba-1.3b"


def require_available(ctx: AppContext, key: str) -> None:
    """Raise ``ModelUnavailable`` with the registry's reason (each missing file, memory) before anything loads."""
    ok, why = ctx.executor.availability(key)
    if not ok:
        raise ModelUnavailable(f"{ctx.registry[key].name} ({key}) is not available: {why}")


def ask(ctx: AppContext, image: Any, question: Any, max_new_tokens: Any, request: gr.Request | None,
        progress: gr.Progress | None) -> dict[str, Any]:
    """Put one question to OmniMamba (validated, availability checked first) and return the answer with its recipe."""
    tokens = optional_number(max_new_tokens)
    vqa = VQARequest(imaging.load_image(image), [check_prompt(question, "question")],
                     max_new_tokens=None if tokens is None else int(check_number(
                         tokens, "max_new_tokens", minimum=1, maximum=MAX_NEW_TOKENS, integer=True)))
    ctx.executor.check(UNDERSTAND, vqa)
    require_available(ctx, UNDERSTAND)
    with run_control(ctx, request, progress) as control:
        result = ctx.executor.run(UNDERSTAND, vqa, control)
    return {"answer": result.answers[0].text, "random_weights": result.recipe.random_weights,
            "recipe": result.recipe.to_dict()}


@ui_errors
def omnimamba_answer(ctx: AppContext, image: Image.Image, question: str, max_new_tokens: float | None = None,
                     request: gr.Request = None,
                     progress: gr.Progress = gr.Progress(track_tqdm=True)) -> dict[str, Any]:  # noqa: B008
    """Ask OmniMamba a question about an image (English; greedy decoding, as the authors' inference_mmu.py).

    Args:
        image: the image.
        question: the question, in English.
        max_new_tokens: longest answer in tokens (1-512); empty for the registry's 128.

    Returns:
        ``answer``, ``random_weights`` and the ``recipe`` (model, revision, timings, tokens generated).
    """
    return ask(ctx, image, question, max_new_tokens, request, progress)


@ui_errors
def omnimamba_generate(ctx: AppContext, prompt: str, seed: float | None = None, guidance: float | None = None,
                       temperature: float | None = None, top_k: float | None = None, top_p: float | None = None,
                       request: gr.Request = None,
                       progress: gr.Progress = gr.Progress(track_tqdm=True),  # noqa: B008
                       ) -> tuple[str, dict[str, Any]]:
    """Generate a 256x256 image with OmniMamba from an English prompt; empty settings take the authors' (greedy
    top-k 1, temperature 1, no nucleus, guidance 1 = off).

    Args:
        prompt: the prompt, in English (the first 68 tokens are used).
        seed: seed for sampling (matters when top_k is not 1); empty for a random one.
        guidance: classifier-free guidance on the image logits, 1-20 (1 = off; the release was not trained for it).
        temperature: sampling temperature, 0.01-10.
        top_k: sample among the k most likely codes; 1 = greedy, 0 = no limit.
        top_p: nucleus mass within the top-k, 0-1 (0 or 1 = off).

    Returns:
        The PNG (with its recipe in text chunks) and the recipe as JSON.
    """
    values = {name: optional_number(value) for name, value in (("guidance", guidance), ("temperature", temperature),
                                                                ("top_k", top_k), ("top_p", top_p))}
    settings = {name: AUTHORS_SAMPLING[name] if value is None else value for name, value in values.items()}
    job = OmniMambaGenerateRequest(prompt=check_prompt(prompt, "prompt"), seed=require_int(seed, "seed"),
                                   **settings)
    ctx.executor.check(GENERATE, job)
    require_available(ctx, GENERATE)
    with run_control(ctx, request, progress) as control:
        result = ctx.executor.run(GENERATE, job, control)
    path = imaging.save_png(result.image, result.recipe,
                            imaging.output_path(ctx.settings.outputs_dir, result.recipe))
    return str(path), result.recipe.to_dict()


@ui_errors
def answer_view(ctx: AppContext, image: Any, question: str, max_new_tokens: Any, request: gr.Request,
                progress: gr.Progress = gr.Progress(track_tqdm=True)) -> tuple[str, dict[str, Any]]:  # noqa: B008
    """The form's Ask: the answer and its recipe."""
    reply = ask(ctx, image, question, max_new_tokens, request, progress)
    weights_note = " *(random weights)*" if reply["random_weights"] else ""
    return f"**OmniMamba:** {reply['answer'] or '(empty answer)'}{weights_note}", reply["recipe"]


@ui_errors
def generate_view(ctx: AppContext, prompt: str, seed: Any, guidance: Any, temperature: Any, top_k: Any, top_p: Any,
                  request: gr.Request, progress: gr.Progress = gr.Progress(track_tqdm=True),  # noqa: B008
                  ) -> tuple[str, dict[str, Any]]:
    """The form's Generate (its own function, so the public endpoint keeps the name ``omnimamba_generate``)."""
    return omnimamba_generate.__wrapped__(ctx, prompt, seed, guidance, temperature, top_k, top_p, request, progress)


def build(ctx: AppContext) -> dict[str, Any]:
    """Lay out the OmniMamba accordion (understanding and generation side by side) and wire it."""
    i18n = ctx.i18n
    with gr.Accordion(i18n("omnimamba.title"), open=False, elem_id="omnimamba"):
        gr.Markdown(i18n("omnimamba.intro"))
        with gr.Row():
            with gr.Column():
                image = gr.Image(label=i18n("omnimamba.image"), type="pil", elem_id="omnimamba-image")
                question = gr.Textbox(label=i18n("omnimamba.question"), value="What is in the image?",
                                      elem_id="omnimamba-question")
                max_new = gr.Number(label=i18n("omnimamba.max_new_tokens"), value=64, minimum=1,
                                    maximum=MAX_NEW_TOKENS)
                ask = gr.Button(i18n("omnimamba.ask"), variant="primary", elem_id="omnimamba-ask")
                answer = gr.Markdown(elem_id="omnimamba-answer")
            with gr.Column():
                prompt = gr.Textbox(label=i18n("omnimamba.prompt"), value="A photo of a smiling woman with red hair.",
                                    elem_id="omnimamba-prompt")
                with gr.Row():
                    seed = gr.Number(label=i18n("omnimamba.seed"), value=0)
                    top_k = gr.Number(label=i18n("omnimamba.top_k"), value=AUTHORS_SAMPLING["top_k"])
                    temperature = gr.Number(label=i18n("omnimamba.temperature"),
                                            value=AUTHORS_SAMPLING["temperature"])
                    top_p = gr.Number(label=i18n("omnimamba.top_p"), value=AUTHORS_SAMPLING["top_p"])
                    guidance = gr.Number(label=i18n("omnimamba.guidance"), value=AUTHORS_SAMPLING["guidance"])
                with gr.Row():
                    generate = gr.Button(i18n("omnimamba.generate"), variant="primary", elem_id="omnimamba-generate")
                    stop = gr.Button(i18n("common.stop"), variant="stop")
                picture = gr.Image(label=i18n("omnimamba.result"), type="filepath", format="png", interactive=False,
                                   elem_id="omnimamba-picture")
        with gr.Accordion(i18n("omnimamba.recipe"), open=False):
            recipe = gr.JSON(label=i18n("omnimamba.recipe"), elem_id="omnimamba-recipe")
    # The API's own inputs: plain fields without UI limits, so bad values reach the checks, which name them.
    api = {name: gr.Number(value=None, visible=False) for name in ("tokens", "seed", "guidance", "temperature",
                                                                      "top_k", "top_p")}
    api_answer, api_recipe = gr.JSON(visible=False), gr.JSON(visible=False)
    api_picture = gr.Image(visible=False, type="filepath", format="png")
    api_ask, api_generate = gr.Button(visible=False), gr.Button(visible=False)

    asking = ask.click(bind(answer_view, ctx), [image, question, max_new], [answer, recipe],
                       api_visibility="private", **GPU)
    making = generate.click(bind(generate_view, ctx), [prompt, seed, guidance, temperature, top_k, top_p],
                            [picture, recipe], api_visibility="private", **GPU)
    stop.click(bind(stop_run, ctx), None, None, cancels=[asking, making], api_visibility="private", queue=False)
    api_ask.click(bind(omnimamba_answer, ctx), [image, question, api["tokens"]], api_answer,
                  api_name="omnimamba_answer", **GPU)
    api_generate.click(bind(omnimamba_generate, ctx), [prompt, api["seed"], api["guidance"], api["temperature"],
                                                       api["top_k"], api["top_p"]], [api_picture, api_recipe],
                       api_name="omnimamba_generate", **GPU)
    return {"image": image, "prompt": prompt, "picture": picture}
