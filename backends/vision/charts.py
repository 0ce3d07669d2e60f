"""Charts of the tokenizer visualizer (matplotlib, no pyplot state): power spectra, prefix and robustness curves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from backends.vision import metrics


def _figure(width: float = 5.0, height: float = 3.2) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def spectrum_figure(original: Any, reconstructions: Mapping[str, Any]) -> Any:
    """Radially averaged power spectra of the original and each reconstruction (which frequencies get lost)."""
    figure = _figure()
    ax = figure.add_subplot()
    freqs, power = metrics.radial_power_spectrum(original)
    ax.loglog(freqs[1:], power[1:], color="black", linewidth=2, label="original")
    for name, image in reconstructions.items():
        f, p = metrics.radial_power_spectrum(image)
        ax.loglog(f[1:], np.maximum(p[1:], 1e-20), linewidth=1.2, label=name)
    ax.set_xlabel("spatial frequency (cycles / pixel)")
    ax.set_ylabel("power")
    ax.set_title("Radially averaged power spectrum")
    ax.legend(fontsize=7)
    return figure


def curve_figure(curves: Mapping[str, Sequence[Sequence[float | None]]], x_label: str, title: str,
                 log_x: bool = False) -> Any:
    """PSNR against a parameter for several tokenizers (prefix length, perturbation rate)."""
    figure = _figure()
    ax = figure.add_subplot()
    for name, points in curves.items():
        xs = [p[0] for p in points if p[1] is not None]
        ys = [p[1] for p in points if p[1] is not None]
        ax.plot(xs, ys, marker="o", markersize=3, label=name)
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(x_label)
    ax.set_ylabel("PSNR (dB)")
    ax.set_title(title)
    if curves:
        ax.legend(fontsize=7)
    return figure
