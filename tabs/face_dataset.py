"""Face tab, UniF2ace part: read a local UniF2aceD-1M copy, send its questions (with their images) to Q&A and its
captions to generation, and score the engines' answers against the dataset's where they overlap."""

from __future__ import annotations

from typing import Any

import gradio as gr

from backends.core.errors import InvalidInput
from backends.core.paths import confine
from backends.core.validation import check_number
from backends.tasks.face.types import UniF2aceSet, ask_engines, check_engines, load_unif2ace, score, summarize_scores
from tabs.common import GPU, AppContext, bind, headed, run_control, ui_errors

MAX_EVALUATED = 50
LIMIT = 5000  # records read per load: enough to browse and sample; the evaluation takes the first ones

TABLE = ("engine", "answers", "overlapping attributes", "agreement", "mean token F1")


def samples(dataset: UniF2aceSet) -> list[dict[str, str]]:
    """The VQA pairs whose image is present, as plain data (kept in the session's state)."""
    return [{"image": str(dataset.records[i].image), "question": q, "reference": a,
             "source": dataset.records[i].source} for i, q, a in dataset.questions()]


@ui_errors
def load_view(ctx: AppContext, folder: str) -> list[Any]:
    """Load: the counts, the question and caption pickers, and the pairs (state)."""
    # A server folder: only inside the configured roots (its images are then served to this browser).
    dataset = load_unif2ace(confine(folder, ctx.settings.input_roots, "folder", "STUDIO_INPUT_ROOTS"), limit=LIMIT)
    pairs = samples(dataset)
    questions = [(f"{i + 1}. {p['question'][:90]}", i) for i, p in enumerate(pairs)]
    captions = [(c[:100], c) for c in dataset.captions()[:500]]
    return [dataset.summary(), gr.update(choices=questions, value=None), gr.update(choices=captions, value=None),
            pairs]


def pick_view(pairs: list[dict[str, str]], index: Any) -> list[Any]:
    """A picked dataset question: its image and question go to Q&A, its reference answer is shown."""
    if index is None or not pairs:
        return [gr.skip(), gr.skip(), ""]
    pair = pairs[int(index)]
    return [pair["image"], pair["question"], f"**UniF2ace reference** ({pair['source']}): {pair['reference']}"]


def evaluate(ctx: AppContext, pairs: list[dict[str, str]], engines: Any, count: Any, control: Any) -> dict[str, Any]:
    """Ask the first ``count`` dataset questions to every engine and score each answer against the reference.

    Raises:
        InvalidInput: nothing loaded, a bad count or engine pick.
    """
    keys = check_engines(ctx.registry, engines)
    count = int(check_number(count, "count", minimum=1, maximum=MAX_EVALUATED, integer=True))
    if not pairs:
        raise InvalidInput("folder", "load a UniF2ace folder with VQA pairs and images first")
    rows = []
    for index, pair in enumerate(pairs[:count]):
        qa = ask_engines(ctx.executor, pair["image"], pair["question"], keys, None, control.part(index, count))
        for answer in qa.answers:
            if not answer.applies:
                continue  # the measured engine answers only measured topics; unavailable engines say so
            rows.append({"engine": answer.engine, "question": pair["question"], "reference": pair["reference"],
                         "answer": answer.text, **score(answer.text, pair["reference"])})
    return {"summary": summarize_scores(rows), "answers": rows}


@ui_errors
def evaluate_view(ctx: AppContext, pairs: list[dict[str, str]], engines: list[str], count: Any,
                  request: gr.Request, progress: gr.Progress = gr.Progress(track_tqdm=True)) -> list[Any]:  # noqa: B008
    """Evaluate: the per-engine table and every scored answer."""
    with run_control(ctx, request, progress) as control:
        result = evaluate(ctx, pairs, engines, count, control)
    table = [[ctx.registry[r["engine"]].name, r["answers"], r["overlapping_attributes"],
              "—" if r["agreement"] is None else f"{r['agreement']:.0%}", r["mean_token_f1"]]
             for r in result["summary"]]
    return [headed(table, TABLE), result["answers"]]


def build(ctx: AppContext, qa: dict[str, Any], generation: dict[str, Any]) -> None:
    """Lay out the UniF2ace part of the face tab; its questions fill the Q&A inputs, its captions the generation's
    extra text."""
    i18n = ctx.i18n
    with gr.Accordion(i18n("face.dataset_title"), open=False):
        gr.Markdown(i18n("face.dataset_intro"))
        with gr.Row():
            folder = gr.Textbox(label=i18n("face.dataset_folder"), scale=4, elem_id="face-dataset-folder")
            load = gr.Button(i18n("face.dataset_load"), scale=1, elem_id="face-dataset-load")
        info = gr.JSON(label=i18n("face.dataset_summary"), elem_id="face-dataset-summary")
        with gr.Row():
            question = gr.Dropdown([], label=i18n("face.dataset_questions"), elem_id="face-dataset-question")
            caption = gr.Dropdown([], label=i18n("face.dataset_captions"), elem_id="face-dataset-caption")
        reference = gr.Markdown(elem_id="face-dataset-reference")
        with gr.Row():
            count = gr.Number(value=5, label=i18n("face.dataset_count"))
            run = gr.Button(i18n("face.dataset_evaluate"), variant="primary", elem_id="face-dataset-evaluate")
        table = gr.Dataframe(headers=list(TABLE), interactive=False, elem_id="face-dataset-table", visible=False)
        gr.Markdown(i18n("face.dataset_scoring"))
        scored = gr.JSON(label=i18n("face.dataset_answers"))
    pairs = gr.State([])
    private = {"api_visibility": "private"}
    load.click(bind(load_view, ctx), folder, [info, question, caption, pairs], queue=False, **private)
    question.change(pick_view, [pairs, question], [qa["image"], qa["question"], reference], queue=False, **private)
    caption.change(lambda text: text or gr.skip(), caption, generation["extra"], queue=False, **private)
    run.click(bind(evaluate_view, ctx), [pairs, qa["engines"], count], [table, scored], **private, **GPU)
