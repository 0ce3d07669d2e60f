"""Charts of the tokenizer visualizer (matplotlib, no pyplot state): power spectra, prefix and robustness curves.

The caller passes every word the chart shows (axis labels, the original's legend entry), already in the reader's
language; the text is set in a font list whose fallback covers Chinese when a CJK font is installed.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from backends.vision import metrics

# Latin first (its digits and symbols), then CJK fonts for the characters it lacks (matplotlib >= 3.6 falls back
# glyph by glyph through the family list).
PREFERRED_FONTS = ("DejaVu Sans", "Noto Sans CJK SC", "Noto Sans CJK JP", "WenQuanYi Zen Hei", "Droid Sans Fallback")


@functools.lru_cache(maxsize=1)
def font_family() -> tuple[str, ...]:
    """The installed fonts of ``PREFERRED_FONTS``, in order (naming a missing one would log a warning per text)."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return tuple(name for name in PREFERRED_FONTS if name in installed) or ("sans-serif",)


def _figure(width: float = 4.6, height: float = 3.0) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def _label(ax: Any, x_label: str, y_label: str, title: str | None, legend: bool) -> None:
    family = list(font_family())
    ax.set_xlabel(x_label, fontfamily=family)
    ax.set_ylabel(y_label, fontfamily=family)
    if title:
        ax.set_title(title, fontfamily=family)
    if legend:
        ax.legend(prop={"family": family, "size": 7})


def spectrum_figure(original: Any, reconstructions: Mapping[str, Any], *, original_label: str = "original",
                    x_label: str = "spatial frequency (cycles / pixel)", y_label: str = "power",
                    title: str | None = None) -> Any:
    """Radially averaged power spectra of the original and each reconstruction (which frequencies get lost)."""
    figure = _figure()
    ax = figure.add_subplot()
    freqs, power = metrics.radial_power_spectrum(original)
    ax.loglog(freqs[1:], power[1:], color="black", linewidth=2, label=original_label)
    for name, image in reconstructions.items():
        f, p = metrics.radial_power_spectrum(image)
        ax.loglog(f[1:], np.maximum(p[1:], 1e-20), linewidth=1.2, label=name)
    _label(ax, x_label, y_label, title, legend=True)
    return figure


def curve_figure(curves: Mapping[str, Sequence[Sequence[float | None]]], x_label: str, title: str | None = None,
                 log_x: bool = False, y_label: str = "PSNR (dB)") -> Any:
    """PSNR against a parameter for several tokenizers (prefix length, perturbation rate)."""
    figure = _figure()
    ax = figure.add_subplot()
    for name, points in curves.items():
        xs = [p[0] for p in points if p[1] is not None]
        ys = [p[1] for p in points if p[1] is not None]
        ax.plot(xs, ys, marker="o", markersize=3, label=name)
    if log_x:
        ax.set_xscale("log")
    _label(ax, x_label, y_label, title, legend=bool(curves))
    return figure
