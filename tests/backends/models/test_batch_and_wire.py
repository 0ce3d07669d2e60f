"""Side-by-side jobs run at once (one bar, one Stop, the first failure wins) and remote outcomes keep their errors."""

from __future__ import annotations

import threading

import pytest

from backends.core.errors import Cancelled, GenerationFailed, InvalidInput, ModelUnavailable
from backends.core.run import ProgressEvent, RunControl
from backends.models.executors.batch import run_at_once, run_in_turn
from backends.models.executors.wire import decode_outcome, encode_outcome
from backends.tasks.t2i.types import T2IRequest
from backends.vision.metrics import MetricUnavailable


def test_jobs_at_once_share_one_bar_and_wait_for_each_other() -> None:
    barrier = threading.Barrier(3, timeout=10)  # passes only if all three jobs run at the same time

    def run(key, request, control):
        control.report(0.5, f"{key} half")
        barrier.wait()
        control.report(1.0, f"{key} done")
        return key.upper()

    events: list[ProgressEvent] = []
    assert run_at_once(run, [("a", 1), ("b", 2), ("c", 3)], RunControl(on_progress=events.append)) == ["A", "B", "C"]
    assert events[-1].fraction == pytest.approx(1.0) and max(e.fraction for e in events[:3]) <= 0.5


def test_in_turn_each_job_has_its_slice() -> None:
    events: list[ProgressEvent] = []
    run_in_turn(lambda key, request, control: control.report(1.0, key), [("a", 0), ("b", 0)],
                RunControl(on_progress=events.append))
    assert [e.fraction for e in events] == [0.5, 1.0]


def test_stop_reaches_every_job_and_a_failure_stops_the_others() -> None:
    started = threading.Barrier(2, timeout=10)

    def run(key, request, control):
        started.wait()
        if key == "bad":
            raise InvalidInput("width", "too wide")
        control.stop.wait(10)
        control.raise_if_stopped(f"{key} stopped")

    with pytest.raises(InvalidInput, match="width: too wide"):  # not the Cancelled it caused
        run_at_once(run, [("good", 0), ("bad", 0)])

    user = RunControl()

    def wait_for_stop(key, request, control):
        user.stop.set()  # the user presses Stop while both run
        control.stop.wait(10)
        control.raise_if_stopped(f"{key} stopped")

    with pytest.raises(Cancelled):
        run_at_once(wait_for_stop, [("a", 0), ("b", 0)], user)


@pytest.mark.parametrize("error", [
    InvalidInput("width", "500 is not a multiple of 16"),
    ModelUnavailable("weights missing: make fetch MODEL=t2i/kolors"),
    GenerationFailed("NaN pixels"),
    Cancelled("Kolors stopped at step 3/8"),
])
def test_outcomes_rebuild_studio_errors_with_their_class_and_message(error) -> None:
    with pytest.raises(type(error)) as caught:
        decode_outcome(encode_outcome(error=error))
    assert type(caught.value) is type(error) and str(caught.value) == str(error)


def test_outcomes_carry_results_and_flag_unexpected_errors() -> None:
    request = T2IRequest(prompt="一只猫", seed=3, width=512, height=768)
    assert decode_outcome(encode_outcome(request)) == request
    with pytest.raises(ModelUnavailable, match="rFID needs"):  # a task's subclass travels as its base class
        decode_outcome(encode_outcome(error=MetricUnavailable("rFID needs scipy")))
    with pytest.raises(RuntimeError, match="studio B failed with builtins.KeyError: 'x'"):
        decode_outcome(encode_outcome(error=KeyError("x")), "studio B")
    with pytest.raises(RuntimeError, match="not an outcome"):
        decode_outcome("<html>502</html>")
