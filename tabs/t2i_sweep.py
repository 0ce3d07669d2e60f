"""X/Y plot under the text-to-image tab: one prompt swept over one or two of seed, steps, guidance and model, as one
labelled grid (A1111's X/Y/Z plot, ComfyUI's XY grids). Every cell is checked before the first one runs; each is a
PNG with its recipe, like any other output. Built under the text-to-image tab by ``app.py``."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import gradio as gr

from backends.core import imaging
from backends.core.errors import InvalidInput, ModelUnavailable
from backends.core.grids import xy_grid
from backends.core.text import check_prompt
from backends.core.validation import resolve_seed
from backends.tasks.t2i.types import T2IRequest
from tabs.common import GPU, AppContext, bind, optional_number, require_int, run_control, tr, ui_errors

AXES = ("seed", "steps", "guidance", "model")
MAX_CELLS = 36
RANGE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*-\s*(-?\d+(?:\.\d+)?)\s*(?:\(\s*\+\s*(\d+(?:\.\d+)?)\s*\))?\s*$")


def axis_values(ctx: AppContext, axis: str, text: Any, field: str) -> list[Any]:
    """The values of one axis from its text: comma-separated values, or a range ``1-4`` / ``10-30 (+10)`` for
    numbers; models by registry key or display name.

    Raises:
        InvalidInput: naming ``field``, for an unknown axis, an empty list, a bad number or an unknown model.
    """
    if axis not in AXES:
        raise InvalidInput(field.replace("values", "axis"), f"{axis!r} is not one of {', '.join(AXES)}")
    parts = [p.strip() for p in str(text or "").split(",") if p.strip()]
    if not parts:
        raise InvalidInput(field, "give at least one value, e.g. 1, 2, 3 or 10-30 (+10)")
    if axis == "model":
        names = {s.name.casefold(): s.key for s in ctx.registry.by_task("t2i")}
        keys = [p if p in ctx.registry else names.get(p.casefold()) for p in parts]
        unknown = [p for p, k in zip(parts, keys, strict=True) if k is None or ctx.registry[k].task != "t2i"]
        if unknown:
            raise InvalidInput(field, f"{', '.join(unknown)} is not a text-to-image model (see /models)")
        return keys
    values: list[float] = []
    for part in parts:
        span = RANGE.match(part) if axis != "guidance" or "(" in part else None
        if span:
            start, stop, step = float(span.group(1)), float(span.group(2)), float(span.group(3) or 1)
            if step <= 0 or (stop - start) / step > MAX_CELLS:
                raise InvalidInput(field, f"{part!r} gives more than {MAX_CELLS} values")
            count = int(round((stop - start) / step)) + 1
            values += [start + i * step for i in range(max(count, 0))]
        else:
            try:
                values.append(float(part))
            except ValueError:
                raise InvalidInput(field, f"{part!r} is not a number") from None
    return [int(v) for v in values] if axis in ("seed", "steps") else values


def label(ctx: AppContext, axis: str, value: Any) -> str:
    """A header of the grid: "seed 7", "steps 20", "guidance 4.5", or the model's name."""
    if axis == "model":
        return ctx.registry[value].name
    return tr(f"t2i.xy.cell.{axis}", value=f"{value:g}" if isinstance(value, float) else value)


@ui_errors
def t2i_xy(ctx: AppContext, prompt: str, negative_prompt: str, models: list[str], seed: float | None, width: float,
           height: float, steps: float | None, guidance: float | None, x_axis: str, x_values: str, y_axis: str = "",
           y_values: str = "", request: gr.Request = None,
           progress: gr.Progress = gr.Progress()) -> tuple[str, list[dict[str, Any]]]:  # noqa: B008
    """X/Y plot: one prompt swept over one or two of seed, steps, guidance and model, as one labelled grid.

    Args:
        prompt: the prompt (Chinese, English or mixed).
        negative_prompt: what to avoid ("" for none).
        models: the model when "model" is not an axis (the first one is used), registry keys.
        seed: the seed when "seed" is not an axis; None for a random one (reported in the recipes).
        width: width in pixels.
        height: height in pixels.
        steps: steps when "steps" is not an axis; None for each model's default.
        guidance: guidance when "guidance" is not an axis; None for each model's default.
        x_axis: seed, steps, guidance or model (the columns).
        x_values: comma-separated values or a range such as "10-30 (+10)"; models by key or name.
        y_axis: the rows' axis (seed, steps, guidance or model), or "none" for a single row.
        y_values: the rows' values.

    Returns:
        The grid PNG and, per cell, its row, column, file and recipe.
    """
    # 1. validate the axes and every cell before anything runs
    y_axis = "" if y_axis in (None, "", "none") else y_axis
    xs = axis_values(ctx, x_axis, x_values, "x_values")
    ys = axis_values(ctx, y_axis, y_values, "y_values") if y_axis else [None]
    if y_axis and y_axis == x_axis:
        raise InvalidInput("y_axis", f"is the same as x_axis ({x_axis}); pick another or leave it empty")
    if len(xs) * len(ys) > MAX_CELLS:
        raise InvalidInput("x_values", f"{len(xs)} x {len(ys)} cells is more than {MAX_CELLS}")
    first = ([m for m in models or [] if m] or [None])[0] if isinstance(models, list | tuple) else models
    base = T2IRequest(prompt=check_prompt(prompt, "prompt"),
                      negative_prompt=check_prompt(negative_prompt, "negative_prompt", required=False),
                      seed=resolve_seed(require_int(seed, "seed")), width=require_int(width, "width") or 0,
                      height=require_int(height, "height") or 0, steps=require_int(steps, "steps"),
                      guidance=optional_number(guidance))
    cells = []
    for y in ys:
        for x in xs:
            cell, key = base, first
            for axis, value in ((x_axis, x), (y_axis, y)):
                if axis == "model":
                    key = value
                elif axis:
                    cell = replace(cell, **{axis: value})
            if key is None:
                raise InvalidInput("models", "pick a model, or make model one of the axes")
            ctx.registry.get_spec(key, "models")
            ctx.executor.check(key, cell)
            ok, why = ctx.executor.availability(key)
            if not ok:
                raise ModelUnavailable(f"{ctx.registry[key].name} ({key}) is not available: {why}")
            cells.append((y, x, key, cell))

    # 2. generate cell by cell, each in its slice of the progress bar
    images, records = [], []
    with run_control(ctx, request, progress) as control:
        for index, (y, x, key, cell) in enumerate(cells):
            result = ctx.executor.run(key, cell, control.part(index, len(cells)))
            path = imaging.save_png(result.image, result.recipe,
                                    imaging.output_path(ctx.settings.outputs_dir, result.recipe, index))
            images.append(result.image)
            records.append({"row": None if y is None else label(ctx, y_axis, y), "column": label(ctx, x_axis, x),
                            "model": key, "file": path.name, "recipe": result.recipe.to_dict()})

    # 3. one labelled grid: columns x, rows y, the fixed settings in the title
    rows = [images[r * len(xs):(r + 1) * len(xs)] for r in range(len(ys))]
    grid = xy_grid(rows, [label(ctx, y_axis, y) if y_axis else "" for y in ys], [label(ctx, x_axis, x) for x in xs],
                   title=f"{base.prompt}\n{fixed_settings(ctx, base, first, x_axis, y_axis)}")
    out = imaging.output_path(ctx.settings.outputs_dir, replace_model(records[0]["recipe"]), 0)
    out = out.with_name(out.stem + "_xy.png")
    out.parent.mkdir(parents=True, exist_ok=True)
    grid.save(out)
    return str(out), records


def replace_model(recipe: dict[str, Any]) -> Any:
    """A stand-in recipe for the grid's file name (``output_path`` names files by model and seed)."""
    from backends.core.recipe import Recipe

    return Recipe.from_dict({**recipe, "model": "xy-plot"})


def fixed_settings(ctx: AppContext, base: T2IRequest, model: str | None, *axes: str) -> str:
    """The settings every cell shares, for the grid's title."""
    parts = [f"{base.width}×{base.height}"]
    if "model" not in axes and model:
        parts.append(ctx.registry[model].name)
    if "seed" not in axes:
        parts.append(tr("t2i.xy.cell.seed", value=base.seed))
    if "steps" not in axes:
        parts.append(tr("t2i.xy.cell.steps", value=base.steps if base.steps is not None else tr("t2i.xy.default")))
    if "guidance" not in axes:
        parts.append(tr("t2i.xy.cell.guidance",
                        value=base.guidance if base.guidance is not None else tr("t2i.xy.default")))
    return " · ".join(str(p) for p in parts)


@ui_errors
def sweep_from_form(ctx: AppContext, prompt: str, negative_prompt: str, models: list[str], seed: float | None,
                    random_seed: bool, width: float, height: float, steps: float | None, model_steps: bool,
                    guidance: float | None, model_guidance: bool, x_axis: str, x_values: str, y_axis: str,
                    y_values: str, request: gr.Request,
                    progress: gr.Progress = gr.Progress()) -> list[Any]:  # noqa: B008
    """The form's X/Y plot: the tab's settings, with the check boxes as the API's None."""
    grid, records = t2i_xy(ctx, prompt, negative_prompt, models, None if random_seed else seed, width, height,
                           None if model_steps else steps, None if model_guidance else guidance, x_axis, x_values,
                           y_axis, y_values, request, progress)
    return [grid, records, tr("t2i.xy.done", cells=len(records))]


def build(ctx: AppContext, t2i: dict[str, Any]) -> None:
    """Lay out the X/Y plot accordion under the text-to-image tab (it uses the tab's prompt and settings)."""
    i18n = ctx.i18n
    axes = [(i18n(f"t2i.xy.axis.{a}"), a) for a in AXES]
    with gr.Accordion(i18n("t2i.xy"), open=False, elem_id="t2i-xy"):
        gr.Markdown(i18n("t2i.xy_intro"))
        with gr.Row():
            x_axis = gr.Dropdown(axes, value="seed", label=i18n("t2i.xy.x_axis"), elem_id="t2i-xy-x-axis",
                                 min_width=140)
            x_values = gr.Textbox(value="1, 2, 3", label=i18n("t2i.xy.x_values"), elem_id="t2i-xy-x-values",
                                  min_width=200)
        with gr.Row():
            y_axis = gr.Dropdown([(i18n("t2i.xy.axis.none"), "none"), *axes], value="none",
                                 label=i18n("t2i.xy.y_axis"), elem_id="t2i-xy-y-axis", min_width=140)
            y_values = gr.Textbox(label=i18n("t2i.xy.y_values"), elem_id="t2i-xy-y-values", min_width=200)
        run = gr.Button(i18n("t2i.xy.run"), variant="primary", elem_id="t2i-xy-run")
        said = gr.Markdown(elem_id="t2i-xy-status")
        grid = gr.Image(label=i18n("t2i.xy.grid"), type="filepath", format="png", interactive=False,
                        elem_id="t2i-xy-grid")
        with gr.Accordion(i18n("t2i.recipes"), open=False):
            records = gr.JSON(elem_id="t2i-xy-recipes")
    api_trigger = gr.Button(visible=False)
    form = [t2i[k] for k in ("prompt", "negative", "models", "seed", "random_seed", "width", "height", "steps",
                             "model_steps", "guidance", "model_guidance")]
    sweeping = run.click(bind(sweep_from_form, ctx), [*form, x_axis, x_values, y_axis, y_values],
                         [grid, records, said], api_visibility="private", trigger_mode="once", **GPU)
    t2i["stop"].click(None, None, None, cancels=[sweeping], api_visibility="private", queue=False)
    api_trigger.click(bind(t2i_xy, ctx), [t2i["prompt"], t2i["negative"], t2i["models"], t2i["seed"], t2i["width"],
                                          t2i["height"], t2i["steps"], t2i["guidance"], x_axis, x_values, y_axis,
                                          y_values], [grid, records], api_name="t2i_xy", **GPU)

