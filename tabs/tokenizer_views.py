"""What the tokenizer comparison shows, in the reader's language: the main sliders (the original against the full,
prefix or perturbed reconstruction, following the prefix and α sliders), the metrics table (one column per
tokenizer, so it fits a phone), its note, the gallery of token / error views and the three plots."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any

import gradio as gr

from backends.core import imaging
from backends.tasks.tokenize.types import TokenizeResult
from backends.vision import charts
from tabs.common import tr

MAX_SHOWN = 4
VIEWS = ("full", "prefix", "perturbed")  # what the main sliders set against the original
# Rows of the metrics table: (row, translation key or None for a name that reads the same in every language).
ROWS = (("tokens", "tok.row.tokens"), ("shape", "tok.row.shape"), ("bits_per_pixel", "tok.row.bits_per_pixel"),
        ("psnr", None), ("ssim", None), ("ms_ssim", None), ("lpips", None), ("prefix", "tok.row.prefix"),
        ("perturbed", "tok.row.perturbed"), ("size", "tok.row.size"))
NAMES = MappingProxyType({"psnr": "PSNR (dB)", "ssim": "SSIM", "ms_ssim": "MS-SSIM", "lpips": "LPIPS"})
NONE = "—"  # a metric that does not apply to a tokenizer (or is not computed here; the note says why)


def number(value: Any, digits: int = 4) -> str:
    """A metric cell: rounded, or "—" for a missing or non-numeric value (the table note explains it)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return NONE
    return f"{value:.{digits}f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


def psnr(metric: dict[str, Any] | None) -> str:
    """A PSNR cell; an exact reconstruction's infinite PSNR is stored as None and shown as ∞."""
    if metric is None:
        return NONE
    return tr("tok.exact") if metric.get("psnr") is None else number(metric["psnr"], 2)


def metrics_rows(results: dict[str, TokenizeResult]) -> list[list[str]]:
    """The metrics table's rows: one per measure, one column per tokenizer (at most 4, so it fits a phone)."""
    cells: dict[str, list[str]] = {name: [] for name, _ in ROWS}
    for r in results.values():
        s, m = r.summary, r.summary["metrics"]
        cells["tokens"].append(str(s["count"]))
        cells["shape"].append("×".join(map(str, s["shape"])))
        cells["bits_per_pixel"].append(number(s["bits_per_pixel"], 3))
        cells["psnr"].append(psnr(m))
        cells["ssim"].append(number(m.get("ssim")))
        cells["ms_ssim"].append(number(m.get("ms_ssim")))
        cells["lpips"].append(number(m.get("lpips")))
        cells["prefix"].append(f"{psnr(s['prefix'])} (k={s['prefix']['k']})" if s["prefix"] else NONE)
        p = s["perturbation"]
        cells["perturbed"].append(f"{psnr(p)} (α={p['alpha']}, δ={p['delta']})" if p else NONE)
        cells["size"].append("×".join(map(str, s["size"])))
    return [[tr(key) if key else NAMES[name], *cells[name]] for name, key in ROWS]


def metrics_table(results: dict[str, TokenizeResult]) -> Any:
    """The metrics table, headed in the reader's language and shown (it stays hidden until there are results)."""
    return table(metrics_rows(results), list(results))


def table(rows: list[list[Any]], keys: list[str]) -> Any:
    """A measure-by-tokenizer table that fits its box: fixed shares of the width, long cells wrapped."""
    first = 34 if len(keys) > 2 else 40
    widths = [f"{first}%"] + [f"{(100 - first) / len(keys):.2f}%"] * len(keys)
    return gr.Dataframe(value=rows, headers=[tr("tok.col.metric"), *keys], column_widths=widths, wrap=True,
                        visible=True)


def table_note(results: dict[str, TokenizeResult]) -> str:
    """Units and what "—" means, said once under the table (not in every cell)."""
    lines = [tr("tok.table_note")]
    if any(not isinstance(r.summary["metrics"].get("lpips"), float) for r in results.values()):
        lines.append(tr("tok.lpips_unavailable"))
    return "\n\n".join(lines)


def save_views(results: dict[str, TokenizeResult], files: dict[str, Path]) -> list[dict[str, Any]]:
    """Write each tokenizer's original (its own crop and size) and its prefix / perturbed reconstructions beside the
    reconstruction PNG; returns what the main sliders need to show any view without running again."""
    shown = []
    for key, r in results.items():
        stem = files[key].with_suffix("")
        original = stem.with_name(stem.name + "_original.png")
        r.original.save(original)
        item = {"key": key, "original": str(original), "full": str(files[key]), "prefix": None, "perturbed": None,
                "ordered": r.summary["ordered"], "discrete": r.summary["discrete"]}
        if r.prefix is not None:
            k = r.summary["prefix"]["k"]
            item.update(k=k, prefix=str(imaging.save_png(r.prefix, r.recipe, stem.with_name(f"{stem.name}_k{k}.png"))))
        if r.perturbed is not None:
            p = r.summary["perturbation"]
            item.update(alpha=p["alpha"], delta=p["delta"], perturbed=str(
                imaging.save_png(r.perturbed, r.recipe, stem.with_name(f"{stem.name}_perturbed.png"))))
        shown.append(item)
    return shown


def slider(item: dict[str, Any], view: str) -> tuple[str, str]:
    """The image set against the original in ``view``, and the slider's label (the prefix length or α in it)."""
    key = item["key"]
    if view == "prefix":
        if item["prefix"]:
            return item["prefix"], tr("tok.slider.prefix", model=key, k=item["k"])
        return item["full"], tr("tok.slider.no_prefix" if not item["ordered"] else "tok.slider.full", model=key)
    if view == "perturbed":
        if item["perturbed"]:
            return item["perturbed"], tr("tok.slider.perturbed", model=key, alpha=item["alpha"], delta=item["delta"])
        return item["full"], tr("tok.slider.alpha_zero" if item["discrete"] else "tok.slider.no_perturbation",
                                model=key)
    return item["full"], tr("tok.slider.full", model=key)


def sliders(shown: list[dict[str, Any]] | None, view: str) -> list[Any]:
    """The main comparison: one slider per tokenizer, the original against the reconstruction that ``view`` names;
    the unused sliders hidden."""
    updates = []
    for item in shown or []:
        right, label = slider(item, view)
        updates.append(gr.ImageSlider(value=(item["original"], right), label=label, visible=True))
    return updates + [gr.ImageSlider(visible=False, value=None)] * (MAX_SHOWN - len(updates))


def gallery(results: dict[str, TokenizeResult]) -> list[tuple[Any, str]]:
    """Token maps, error maps and the prefix / perturbed reconstructions, captioned in the reader's language."""
    items: list[tuple[Any, str]] = []
    for key, r in results.items():
        items += [(r.token_map, tr("tok.cap.tokens", model=key)), (r.error_map, tr("tok.cap.error", model=key))]
        if r.prefix is not None:
            items.append((r.prefix, tr("tok.cap.prefix", model=key, k=r.summary["prefix"]["k"])))
        if r.perturbed is not None:
            items.append((r.perturbed, tr("tok.cap.perturbed", model=key, alpha=r.summary["perturbation"]["alpha"])))
    return items


def figures(results: dict[str, TokenizeResult]) -> list[Any]:
    """Spectra, prefix curves (ordered tokenizers) and robustness curves (discrete ones), labelled in the reader's
    language; a curve plot no chosen tokenizer has is hidden."""
    first = next(iter(results.values()))
    spectrum = charts.spectrum_figure(first.original, {k: r.reconstruction for k, r in results.items()},
                                      original_label=tr("tok.chart.original"), x_label=tr("tok.chart.frequency"),
                                      y_label=tr("tok.chart.power"))

    def curves(x: str) -> dict[str, Any]:
        return {k: r.summary["curve"]["points"] for k, r in results.items()
                if r.summary["curve"] and r.summary["curve"]["x"] == x}

    prefix, robust = curves("tokens"), curves("alpha")
    return [gr.Plot(value=spectrum, visible=True),
            gr.Plot(value=charts.curve_figure(prefix, tr("tok.chart.tokens_kept"), log_x=True), visible=bool(prefix)),
            gr.Plot(value=charts.curve_figure(robust, tr("tok.chart.alpha")), visible=bool(robust))]
