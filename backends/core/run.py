"""Run control: progress events and cooperative cancellation, passed beside a request (never inside it).

A ``RunControl`` travels with one call from the UI (or an executor) down to the denoising loop. Progress leaves it
as ``ProgressEvent`` values, so an executor in another process can forward them; Stop arrives through its event and
is honoured at the next step boundary. Sub-tasks (one model of four, one image of a batch) report into their slice
of the overall bar through ``part``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from backends.core.errors import Cancelled

ProgressFn = Callable[[float, str], None]
"""Reports progress: a fraction in [0, 1] and a short description of the current stage."""


@dataclass(frozen=True)
class ProgressEvent:
    """One progress report.

    Attributes:
        fraction: how much of the whole run is done, in [0, 1].
        message: what is happening now (e.g. ``"Kolors: step 3/8"``).
    """

    fraction: float
    message: str


ProgressSink = Callable[[ProgressEvent], None]


@dataclass
class RunControl:
    """Progress reporting and cooperative cancellation for one long-running call.

    Attributes:
        on_progress: receives every ``ProgressEvent``; None drops them.
        stop: set by the UI's Stop button; backends check it between steps.
        start: where this control's slice of the overall progress bar begins.
        span: how much of the overall bar this control's [0, 1] covers.
    """

    on_progress: ProgressSink | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    start: float = 0.0
    span: float = 1.0

    @property
    def stopped(self) -> bool:
        """Whether Stop was pressed."""
        return self.stop.is_set()

    def report(self, fraction: float, message: str) -> None:
        """Report progress within this control's slice (a ``ProgressFn``)."""
        if self.on_progress is not None:
            done = self.start + self.span * min(max(float(fraction), 0.0), 1.0)
            self.on_progress(ProgressEvent(round(done, 6), message))

    def raise_if_stopped(self, message: str = "stopped by the user") -> None:
        """Raise ``Cancelled`` when Stop was pressed."""
        if self.stop.is_set():
            raise Cancelled(message)

    def part(self, index: int, count: int) -> RunControl:
        """The control of sub-task ``index`` of ``count`` equal ones: same Stop, its share of the bar."""
        share = self.span / max(count, 1)
        return RunControl(self.on_progress, self.stop, self.start + share * index, share)

    def step_callback(self, label: str, steps: int) -> Callable[[Any, int, Any, dict[str, Any]], dict[str, Any]]:
        """A diffusers ``callback_on_step_end`` that reports each step and raises ``Cancelled`` on Stop.

        Args:
            label: what the bar says before ``step i/n`` (the model's name).
            steps: the steps asked for; the pipeline's own count wins when it runs more (PNDM's warm-up).
        """

        def on_step_end(pipe: Any, step: int, timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
            total = getattr(pipe, "_num_timesteps", None) or steps
            if self.stop.is_set():
                raise Cancelled(f"{label} stopped at step {step + 1}/{total}")
            self.report((step + 1) / total, f"{label}: step {step + 1}/{total}")
            return tensors

        return on_step_end
