"""Running several requests for one call (a side-by-side comparison): in turn, or at once when models live apart.

In turn, each job gets an equal slice of the progress bar, as before executors could run elsewhere. At once (models
on different Ray replicas or Spaces), the bar shows the mean progress of all jobs; Stop reaches every job, and the
first failure stops the others and is raised (a Stop is raised as the ``Cancelled`` of a stopped job).
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from backends.core.errors import Cancelled
from backends.core.run import ProgressEvent, RunControl

Job = tuple[str, Any]
"""One request for one model: ``(registry key, request)``."""

RunFn = Callable[[str, Any, RunControl], Any]
STOP_POLL_SECONDS = 0.05  # how often a Stop is relayed to jobs running at once


def run_in_turn(run: RunFn, jobs: Sequence[Job], control: RunControl | None = None) -> list[Any]:
    """Run ``jobs`` one after the other, each reporting into its slice of ``control``'s bar."""
    control = control or RunControl()
    return [run(key, request, control.part(index, len(jobs))) for index, (key, request) in enumerate(jobs)]


def run_at_once(run: RunFn, jobs: Sequence[Job], control: RunControl | None = None) -> list[Any]:
    """Run ``jobs`` concurrently (one thread each, in the caller's context, so Gradio's progress and request
    headers stay visible); results in the order of ``jobs``.

    Raises:
        Exception: the first failure of a job (the others are stopped first).
    """
    control = control or RunControl()
    if len(jobs) <= 1:
        return run_in_turn(run, jobs, control)
    fractions = [0.0] * len(jobs)
    lock = threading.Lock()
    abort = threading.Event()  # the jobs' Stop: the user's, or set by the first failure
    finished = threading.Event()

    def job_control(index: int) -> RunControl:
        def report(event: ProgressEvent) -> None:
            with lock:  # reported under the lock too, so the bar never steps back
                fractions[index] = event.fraction
                control.report(sum(fractions) / len(fractions), event.message)

        return RunControl(on_progress=report, stop=abort)

    def relay_stop() -> None:
        while not finished.wait(STOP_POLL_SECONDS):  # ends at once with the jobs; relays a Stop within the period
            if control.stop.is_set():
                abort.set()
                return

    def call(index: int, key: str, request: Any) -> Any:
        try:
            return run(key, request, job_control(index))
        except BaseException:
            abort.set()
            raise

    relay = threading.Thread(target=relay_stop, name="stop-relay", daemon=True)
    relay.start()
    try:
        with ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="side-by-side") as pool:
            futures = [pool.submit(contextvars.copy_context().run, call, index, key, request)
                       for index, (key, request) in enumerate(jobs)]
        errors = [f.exception() for f in futures if f.exception() is not None]
    finally:
        finished.set()
        relay.join()
    if errors:
        # The failure that stopped the others, not the Cancelled it caused; a user's Stop is a Cancelled anyway.
        raise next((e for e in errors if not isinstance(e, Cancelled)), errors[0])
    return [f.result() for f in futures]
