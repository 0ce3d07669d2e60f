"""Face tab, generation part: pick attributes from the UniF2ace taxonomy, generate faces with the text-to-image
models side by side over several seeds, analyse every generated face again and report each attribute asked for as
pass / fail with its measured value (pose, eyes, mouth, smile, gaze) or a labelled VLM yes/no check (the rest), with
the accuracy per model: the closed loop."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from backends.core import imaging
from backends.core.errors import InvalidInput, ModelUnavailable
from backends.core.run import RunControl
from backends.core.validation import check_number, resolve_seed
from backends.tasks.face.types import (
    ANALYZER,
    ATTRIBUTES,
    CATEGORIES,
    CATEGORY_NAMES,
    SUBJECTS,
    AttributeCheck,
    FaceAnalyzeRequest,
    VQARequest,
    accuracy,
    build_prompt,
    check_attributes,
    engine_keys,
)
from backends.tasks.t2i.types import T2IRequest
from tabs.common import GPU, AppContext, bind, headed, require_int, run_control, stop_run, tr, ui_errors

MAX_MODELS, MAX_SEEDS = 4, 8
DEFAULT_MODELS = ("t2i/taiyi-sd-1b", "t2i/flux-schnell")
DEFAULT_CHECKER = "face/smolvlm-256m"
LANGUAGES = ("auto", "en", "zh")
ACCURACY = ("model", "accuracy", "passed / checked", "per attribute")


@dataclass
class Generation:
    """Faces generated for one attribute pick, with their checks."""

    gallery: list[tuple[str, str]]
    records: list[dict[str, Any]]
    accuracy: list[dict[str, Any]]
    prompts: dict[str, str]


def check_models(ctx: AppContext, models: Any) -> list[str]:
    """1 to ``MAX_MODELS`` distinct text-to-image keys.

    Raises:
        InvalidInput: naming ``models``.
    """
    models = [models] if isinstance(models, str) else models
    if not isinstance(models, list | tuple) or not models:
        raise InvalidInput("models", "pick at least one text-to-image model")
    if len(models) > MAX_MODELS or len(set(models)) != len(models):
        raise InvalidInput("models", f"pick 1 to {MAX_MODELS} different models")
    for key in models:
        if ctx.registry.get_spec(key, "models").task != "t2i":
            raise InvalidInput("models", f"{key} is not a text-to-image model")
    return list(models)


def generate(ctx: AppContext, attributes: Any, models: Any, seed: Any, seeds: Any, control: RunControl, *,
             subject: str = "person", language: str = "auto", checker: str | None = DEFAULT_CHECKER,
             width: Any = 512, height: Any = 512, steps: Any = None, extra: str = "") -> Generation:
    """Generate ``seeds`` faces per model and check each against the attributes asked for.

    Raises:
        InvalidInput: any field, checked for every model before the first image.
        ModelUnavailable: a picked model cannot run here.
    """
    # 1. validate everything first
    picked = check_attributes(attributes)
    keys = check_models(ctx, models)
    count = int(check_number(seeds, "seeds", minimum=1, maximum=MAX_SEEDS, integer=True))
    first_seed = resolve_seed(require_int(seed, "seed"))
    if language not in LANGUAGES:
        raise InvalidInput("language", f"{language!r} is not one of {', '.join(LANGUAGES)}")
    prompts = {lang: build_prompt(picked, lang, subject, extra) for lang in ("en", "zh")}
    if checker and checker not in [k for k in engine_keys(ctx.registry.values()) if k != ANALYZER]:
        raise InvalidInput("checker", f"{checker!r} is not a vision-language Q&A engine")
    needs_vlm = any(a.measure is None for a in picked)
    size = {"width": require_int(width, "width"), "height": require_int(height, "height"), "steps": require_int(
        steps, "steps")}
    for key in keys + ([checker] if checker and needs_vlm else []):
        ok, why = ctx.executor.availability(key)
        if not ok:
            raise ModelUnavailable(f"{ctx.registry[key].name} ({key}) is not available: {why}")
    for key in keys:
        ctx.executor.check(key, T2IRequest(prompts[_language(ctx, key, language)], seed=first_seed, **size))

    # 2. generate and check, model by model, seed by seed
    jobs = [(key, first_seed + i) for key in keys for i in range(count)]
    gallery, records = [], []
    for index, (key, job_seed) in enumerate(jobs):
        part = control.part(index, len(jobs))
        prompt = prompts[_language(ctx, key, language)]
        result = ctx.executor.run(key, T2IRequest(prompt, seed=job_seed, **size), part)
        path = imaging.save_png(result.image, result.recipe, imaging.output_path(
            ctx.settings.outputs_dir / "face", result.recipe, index))
        part.report(1.0, f"{ctx.registry[key].name}: checking the attributes")
        analysis = ctx.executor.run(ANALYZER, FaceAnalyzeRequest(result.image, targets=[a.id for a in picked],
                                                                 overlay=False))
        checks = vlm_checks(ctx, analysis.checks, picked, analysis.crop or result.image, checker, language,
                            face_found=analysis.crop is not None)
        passed = [c for c in checks if c.passed is not None]
        score = f"{sum(c.passed for c in passed)}/{len(passed)}" if passed else "—"
        label = [result.recipe.name, tr("face.caption.seed", seed=job_seed), tr("face.caption.score", score=score)]
        label += [tr("face.random_weights")] if result.recipe.random_weights else []
        gallery.append((str(path), " · ".join(label)))
        records.append({"model": key, "seed": job_seed, "file": path.name, "prompt": prompt,
                        "faces": analysis.report["count"], "checks": [vars(c) for c in checks],
                        "recipe": result.recipe.to_dict()})
    return Generation(gallery, records, accuracy(records), prompts)


def common_side(ctx: AppContext, keys: list[str]) -> int:
    """One square size every picked model accepts: the smallest allowed in the tiny profile (fast miniatures), else
    the smallest of the models' default sizes, never below any model's minimum."""
    rules = [ctx.registry[key].size for key in keys]
    floor = max(rule.minimum for rule in rules)
    return floor if ctx.settings.profile == "tiny" else max(floor, min(rule.default for rule in rules))


def _language(ctx: AppContext, key: str, language: str) -> str:
    """The prompt language for a model: Chinese for models trained on it when ``auto``."""
    if language != "auto":
        return language
    return "zh" if "zh" in ctx.registry[key].languages else "en"


def vlm_checks(ctx: AppContext, checks: list[AttributeCheck], picked: list[Any], image: Any, checker: str | None,
               language: str, face_found: bool) -> list[AttributeCheck]:
    """Decide the attributes geometry cannot measure with the checker's yes/no answers (P(yes) >= 0.5 passes),
    labelled as VLM checks; without a checker they stay undecided."""
    pending = [i for i, c in enumerate(checks) if c.method == "vlm"]
    if not pending:
        return checks
    if not checker:
        for i in pending:
            checks[i].note = "not checked: no VLM checker picked"
        return checks
    lang = "zh" if language == "zh" else "en"
    by_id = {a.id: a for a in picked}
    questions = [by_id[checks[i].attribute].question(lang) for i in pending]
    result = ctx.executor.run(checker, VQARequest(image, questions, mode="yesno", max_new_tokens=8))
    name = ctx.registry[checker].name + (" (random weights)" if result.recipe.random_weights else "")
    for i, answer in zip(pending, result.answers, strict=True):
        probability = answer.yes_probability if answer.yes_probability is not None else 0.5
        checks[i].passed = probability >= 0.5
        checks[i].value = f"P(yes) {probability:.2f}"
        checks[i].threshold = "P(yes) >= 0.5"
        checks[i].note = f"VLM check by {name}" + ("" if face_found else " on the whole image (no face found)")
    return checks


def accuracy_rows(ctx: AppContext, rows: list[dict[str, Any]]) -> list[list[Any]]:
    """The accuracy table: model, accuracy, passed / checked, per attribute."""
    return [[ctx.registry[r["model"]].name, "—" if r["accuracy"] is None else f"{r['accuracy']:.0%}",
             f"{r['passed']}/{r['checked']}", ", ".join(f"{k} {v}" for k, v in r["per_attribute"].items())]
            for r in rows]


@ui_errors
def face_generate(ctx: AppContext, attributes: list[str], models: list[str] | None = None, seed: float | None = 0,
                  seeds: float = 2, request: gr.Request = None,
                  progress: gr.Progress = gr.Progress(track_tqdm=True)) -> tuple[list[Any], dict[str, Any]]:  # noqa: B008
    """Generate faces with the asked-for attributes and check each generated face: measured pass / fail for pose,
    eyes, mouth, smile and gaze, a labelled VLM yes/no check for the rest, and the accuracy over the seeds.

    Args:
        attributes: attribute ids of the UniF2ace taxonomy, e.g. ["eyes.open", "action.smile", "glasses.yes"].
        models: text-to-image registry keys, 1 to 4 (default t2i/taiyi-sd-1b and t2i/flux-schnell).
        seed: first seed (seed + i for the i-th image of each model); None for a random one.
        seeds: images per model, 1 to 8.
    """
    keys = check_models(ctx, models or list(DEFAULT_MODELS))
    side = common_side(ctx, keys)
    with run_control(ctx, request, progress) as control:
        result = generate(ctx, attributes, keys, seed, seeds, control, width=side, height=side,
                          steps=2 if ctx.settings.profile == "tiny" else None)
    return result.gallery, {"records": result.records, "accuracy": result.accuracy, "prompts": result.prompts}


@ui_errors
def generate_view(ctx: AppContext, hair: list[str], beard: list[str], accessories: list[str], skin: list[str],
                  others: list[str], action: list[str], emotion: list[str], measured: list[str], models: list[str],
                  subject: str, language: str, checker: str, seed: Any, seeds: Any, width: Any, height: Any,
                  steps: Any, extra: str, request: gr.Request,
                  progress: gr.Progress = gr.Progress(track_tqdm=True)) -> list[Any]:  # noqa: B008
    """The form's Generate: the gallery, the accuracy table, the prompts and the per-image checks."""
    groups = (hair, beard, accessories, skin, others, action, emotion, measured)  # CATEGORIES' order
    attributes = [a for group in groups for a in (group or [])]
    with run_control(ctx, request, progress) as control:
        result = generate(ctx, attributes, models, seed, seeds, control, subject=subject, language=language,
                          checker=checker or None, width=width, height=height, steps=steps, extra=extra or "")
    prompts = f"**EN:** {result.prompts['en']}\n\n**中文：** {result.prompts['zh']}"
    return [result.gallery, headed(accuracy_rows(ctx, result.accuracy), ACCURACY), prompts, result.records]


def preview(*values: Any) -> str:
    """The bilingual prompt the pick makes (shown before generating)."""
    *groups, subject, extra = values
    try:
        picked = check_attributes([a for group in groups for a in (group or [])])
        return f"**EN:** {build_prompt(picked, 'en', subject, extra or '')}\n\n" \
               f"**中文：** {build_prompt(picked, 'zh', subject, extra or '')}"
    except InvalidInput as exc:
        return f"*{exc}*"


def build(ctx: AppContext) -> dict[str, Any]:
    """Lay out the generation part of the face tab; returns the caption box other parts fill."""
    i18n, tiny = ctx.i18n, ctx.settings.profile == "tiny"
    t2i = [(s.name, s.key) for s in ctx.registry.by_task("t2i")]
    checkers = [(ctx.registry[k].name, k) for k in engine_keys(ctx.registry.values()) if k != ANALYZER]
    with gr.Accordion(i18n("face.generate_title"), open=True):
        gr.Markdown(i18n("face.generate_intro"))
        with gr.Row():
            with gr.Column(scale=2):
                groups = []
                for category in CATEGORIES:
                    en, zh = CATEGORY_NAMES[category]
                    choices = [(f"{a.en} · {a.zh}", a.id) for a in ATTRIBUTES if a.category == category]
                    groups.append(gr.CheckboxGroup(choices, label=f"{en} · {zh}", elem_id=f"face-attr-{category}",
                                                   value=["eyes.open", "pose.frontal"] if category == "measured"
                                                   else (["action.smile"] if category == "action" else [])))
                with gr.Row():
                    subject = gr.Dropdown([(f"{en} · {zh}", k) for k, (en, zh) in SUBJECTS.items()], value="person",
                                          label=i18n("face.subject"))
                    language = gr.Radio([(i18n(f"face.language.{code}"), code) for code in LANGUAGES], value="auto",
                                        label=i18n("face.prompt_language"))
                extra = gr.Textbox(label=i18n("face.extra"), lines=2, elem_id="face-extra")
                prompt_view = gr.Markdown(elem_id="face-prompt")
            with gr.Column(scale=3):
                models = gr.Dropdown(t2i, value=[k for k in DEFAULT_MODELS if k in ctx.registry], multiselect=True,
                                     max_choices=MAX_MODELS, label=i18n("face.models"), elem_id="face-models")
                checker = gr.Dropdown(checkers, value=DEFAULT_CHECKER, label=i18n("face.checker"))
                with gr.Row():
                    seed = gr.Number(value=0, label=i18n("t2i.seed"))
                    seeds = gr.Number(value=2 if tiny else 4, label=i18n("face.seeds"), elem_id="face-seeds")
                    steps = gr.Number(value=2 if tiny else 30, label=i18n("t2i.steps"), elem_id="face-steps")
                with gr.Row():
                    width = gr.Number(value=256 if tiny else 1024, label=i18n("t2i.width"))
                    height = gr.Number(value=256 if tiny else 1024, label=i18n("t2i.height"))
                with gr.Row():
                    run = gr.Button(i18n("face.generate"), variant="primary", elem_id="face-generate")
                    stop = gr.Button(i18n("common.stop"), variant="stop")
                gallery = gr.Gallery(label=i18n("face.results"), columns=4, format="png", type="filepath",
                                     height="auto", object_fit="contain", interactive=False, elem_id="face-gallery")
                table = gr.Dataframe(headers=list(ACCURACY), interactive=False, wrap=True, elem_id="face-accuracy",
                                     visible=False, column_widths=["170px", "90px", "110px", "260px"])
                details = gr.JSON(label=i18n("face.checks"), elem_id="face-checks")
    api_models, api_attributes = gr.JSON(value=None, visible=False), gr.JSON(value=None, visible=False)
    api_seed, api_seeds = gr.Number(value=0, visible=False), gr.Number(value=2, visible=False)
    api_gallery, api_json = gr.Gallery(visible=False, format="png"), gr.JSON(visible=False)
    api_button = gr.Button(visible=False)

    for trigger in (*groups, subject, extra):
        trigger.change(preview, [*groups, subject, extra], prompt_view, api_visibility="private", queue=False,
                       show_progress="hidden")
    form = [*groups, models, subject, language, checker, seed, seeds, width, height, steps, extra]
    running = run.click(bind(generate_view, ctx), form, [gallery, table, prompt_view, details],
                        api_visibility="private", **GPU)
    stop.click(bind(stop_run, ctx), None, None, cancels=[running], api_visibility="private", queue=False)
    api_button.click(bind(face_generate, ctx), [api_attributes, api_models, api_seed, api_seeds],
                     [api_gallery, api_json], api_name="face_generate", **GPU)
    return {"extra": extra}
