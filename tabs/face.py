"""Face tab (UniF2ace direction), Q&A part: measure a face (head pose, eyes, mouth, smile, gaze) with an overlay of
the landmarks behind each number, and answer questions in English or Chinese side by side: from the measurements
(value, threshold, heuristic) and from vision-language models of the registry on the face crop."""

from __future__ import annotations

from typing import Any

import gradio as gr
from PIL import Image

from backends.core import imaging
from backends.core.run import RunControl
from backends.tasks.face.types import (
    ANALYZER,
    QA,
    QUESTIONS,
    FaceAnalysis,
    FaceAnalyzeRequest,
    FaceAnswer,
    ask_engines,
    engine_keys,
)
from tabs.common import (
    GPU,
    AppContext,
    bind,
    headed,
    locale_of,
    message,
    optional_number,
    run_control,
    stop_run,
    tr,
    ui_errors,
)

TABLE = ("engine", "answer", "measured value", "threshold", "verdict")
DEFAULT_ENGINES = (ANALYZER, "face/smolvlm-256m")


def face_index(value: Any) -> int | None:
    """The face number from a form field (empty or 0: the largest face)."""
    value = optional_number(value)
    return None if value is None else int(value)


def ask(ctx: AppContext, image: Any, question: Any, engines: Any, face: Any, control: RunControl) -> QA:
    """Put ``question`` to the picked engines (see ``ask_engines``)."""
    return ask_engines(ctx.executor, image, question, engines, face_index(face), control)


def answer_rows(ctx: AppContext, answers: list[FaceAnswer]) -> list[list[str]]:
    """One row per engine: its name, the answer, the measured numbers, the threshold and the verdict."""
    rows = []
    for a in answers:
        name = ctx.registry[a.engine].name if a.engine in ctx.registry else a.engine
        if a.random_weights:
            name = tr("face.with_random_weights", name=name)
        values = ", ".join(f"{k} {v:g}" for k, v in a.values.items())
        verdict = "—" if a.verdict is None else tr("face.yes" if a.verdict else "face.no")
        rows.append([name, a.text, values or "—", message(a.threshold) if a.threshold else "—", verdict])
    return rows


def answer_dicts(answers: list[FaceAnswer]) -> list[dict[str, Any]]:
    """The answers as JSON-ready dicts (the API's)."""
    return [dict(vars(a)) for a in answers]


def summary(analysis: FaceAnalysis) -> str:
    """The report's one line in the reader's language: faces found, which one the answers are about, what could not
    be measured, and that the thresholds are heuristic."""
    report = analysis.report
    count = report["count"]
    if not count:
        return f"**{tr('face.summary.none')}**"
    line = tr("face.summary.found_one") if count == 1 else tr("face.summary.found", count=count)
    if count > 1:
        line += tr("face.summary.about", face=report["chosen"])
    chosen = next((f for f in report["faces"] if f.get("index") == report["chosen"]), None) or {}
    issues = list((chosen.get("unmeasured") or {}).items())[:3]
    if issues:
        line += tr("face.summary.unmeasured", what="; ".join(f"{k} ({message(why)})" for k, why in issues))
    return f"**{line}{tr('face.summary.period')}** {tr('face.summary.note')}"


def default_question() -> str:
    """The first preset question in the page's language (a Chinese page asks in Chinese, and is answered so)."""
    _, en, zh = QUESTIONS[0]
    return zh if locale_of().startswith("zh") else en


@ui_errors
def face_analyze(ctx: AppContext, image: Image.Image, face: float | None = None) -> tuple[dict[str, Any], Any]:
    """Measure the faces of an image: per face the box, head pose (yaw, pitch, roll), eye aspect ratio per eye,
    mouth aspect ratio, geometric smile, iris gaze in the head frame and proportions, each with its heuristic
    threshold and what could not be measured; plus the overlay of the landmarks behind each number.

    Args:
        image: the image.
        face: the face the overlay's numbers are about, 1-based from the left; empty or 0 for the largest.
    """
    analysis = ctx.executor.run(ANALYZER, FaceAnalyzeRequest(imaging.load_image(image), face=face_index(face)))
    return analysis.report, analysis.overlay


@ui_errors
def face_qa(ctx: AppContext, image: Image.Image, question: str, engines: list[str] | None = None,
            face: float | None = None, request: gr.Request = None,
            progress: gr.Progress = gr.Progress(track_tqdm=True)) -> dict[str, Any]:  # noqa: B008
    """Ask a question about a face, in English or Chinese; each engine answers side by side. face/mediapipe answers
    eyes, mouth, smile, laugh, head pose, gaze, count, size and proportions from measurements (with the value and
    the heuristic threshold); the vision-language models (other face/* keys) answer anything, on the face crop.

    Args:
        image: the image.
        question: the question (English or Chinese).
        engines: registry keys of Q&A engines (see /models; task face); default face/mediapipe and
            face/smolvlm-256m.
        face: which face, 1-based from the left; empty or 0 for the largest.
    """
    with run_control(ctx, request, progress) as control:
        qa = ask(ctx, image, question, engines or list(DEFAULT_ENGINES), face, control)
    return {"answers": answer_dicts(qa.answers), "analysis": qa.analysis.report}


@ui_errors
def ask_view(ctx: AppContext, image: Any, question: str, engines: list[str], face: Any, request: gr.Request,
             progress: gr.Progress = gr.Progress(track_tqdm=True)) -> list[Any]:  # noqa: B008
    """Ask: the overlay, the answers table, the summary and the measurements."""
    with run_control(ctx, request, progress) as control:
        qa = ask(ctx, image, question, engines, face, control)
    return [qa.analysis.overlay, headed(answer_rows(ctx, qa.answers), TABLE), summary(qa.analysis),
            qa.analysis.report, answer_dicts(qa.answers)]


@ui_errors
def analyze_view(ctx: AppContext, image: Any, face: Any) -> list[Any]:
    """Measure only: the overlay, the summary and the measurements."""
    analysis = ctx.executor.run(ANALYZER, FaceAnalyzeRequest(imaging.load_image(image), face=face_index(face)))
    return [analysis.overlay, summary(analysis), analysis.report]


def preset_choices() -> list[tuple[str, str]]:
    """The taxonomy's question presets, English then Chinese."""
    return [(f"EN · {en}", en) for _, en, _ in QUESTIONS] + [(f"中文 · {zh}", zh) for _, _, zh in QUESTIONS]


def build(ctx: AppContext) -> dict[str, Any]:
    """Lay out the Q&A part of the face tab and wire it; returns the inputs other parts fill."""
    i18n = ctx.i18n
    engines = [(ctx.registry[k].name, k) for k in engine_keys(ctx.registry.values())]
    if ctx.settings.profile == "tiny":
        gr.Markdown(i18n("common.tiny_banner"))
    gr.Markdown(i18n("face.intro"))
    with gr.Row():
        with gr.Column(scale=2):
            image = gr.Image(label=i18n("face.image"), type="pil", image_mode=None, elem_id="face-image")
            with gr.Row():
                face = gr.Number(value=0, minimum=0, label=i18n("face.which"), elem_id="face-which")
                preset = gr.Dropdown(preset_choices(), value=None, label=i18n("face.presets"), elem_id="face-preset")
            question = gr.Textbox(label=i18n("face.question"), value=default_question, lines=2,
                                  elem_id="face-question")
            known = {key for _, key in engines}
            chosen = gr.CheckboxGroup(engines, value=[k for k in DEFAULT_ENGINES if k in known],
                                      label=i18n("face.engines"), elem_id="face-engines")
            with gr.Row():
                ask_button = gr.Button(i18n("face.ask"), variant="primary", elem_id="face-ask")
                measure = gr.Button(i18n("face.measure"), elem_id="face-measure")
                stop = gr.Button(i18n("common.stop"), variant="stop")
        with gr.Column(scale=3):
            message = gr.Markdown(elem_id="face-summary")
            # Widths in pixels: on a phone the table scrolls in its box instead of one letter per line.
            table = gr.Dataframe(headers=list(TABLE), interactive=False, wrap=True, elem_id="face-answers",
                                 visible=False, column_widths=["130px", "260px", "120px", "120px", "80px"])
            overlay = gr.Image(label=i18n("face.overlay"), interactive=False, format="png", elem_id="face-overlay")
            gr.Markdown(i18n("face.legend"))
            with gr.Accordion(i18n("face.measurements"), open=False):
                report = gr.JSON(label=i18n("face.measurements"), elem_id="face-report")
                answers_json = gr.JSON(label=i18n("face.answers_json"))
    # The API's own inputs: plain fields without UI limits, so bad values reach the checks, which name them.
    api_face = gr.Number(value=None, visible=False)
    api_engines = gr.JSON(value=None, visible=False)
    api_report, api_answers = gr.JSON(visible=False), gr.JSON(visible=False)
    api_overlay = gr.Image(visible=False, type="pil", format="png")
    api_analyze, api_qa = gr.Button(visible=False), gr.Button(visible=False)

    preset.change(lambda value: value or gr.update(), preset, question, api_visibility="private", queue=False)
    asking = ask_button.click(bind(ask_view, ctx), [image, question, chosen, face],
                              [overlay, table, message, report, answers_json], api_visibility="private", **GPU)
    measure.click(bind(analyze_view, ctx), [image, face], [overlay, message, report], api_visibility="private",
                  concurrency_limit=4)
    stop.click(bind(stop_run, ctx), None, None, cancels=[asking], api_visibility="private", queue=False)
    api_analyze.click(bind(face_analyze, ctx), [image, api_face], [api_report, api_overlay], api_name="face_analyze",
                      concurrency_limit=4)
    api_qa.click(bind(face_qa, ctx), [image, question, api_engines, api_face], api_answers, api_name="face_qa",
                 **GPU)
    return {"image": image, "question": question, "engines": chosen, "face": face}
