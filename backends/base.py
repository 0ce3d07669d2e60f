"""What every backend shares: the Backend protocol, request/result dataclasses, run control and the error classes.

Nothing here imports torch: tabs, the arena and the tests use these types on machines without it.
"""

from __future__ import annotations

import math
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from PIL import Image

    from backends.registry import ModelSpec
    from backends.settings import Settings

ProgressFn = Callable[[float, str], None]
"""Reports progress: a fraction in [0, 1] and a short description of the current stage."""

MAX_SEED = 2**31 - 1  # the largest seed every API in the comparison accepts (the Ark API's limit)


def resolve_seed(seed: int | None) -> int:
    """The seed to use: the requested one, or a fresh random one (always reported back in the recipe)."""
    return int(seed) if seed is not None else secrets.randbelow(MAX_SEED + 1)


# --------------------------------------------------------------------------------------------------------------------
# Errors: one base class, so the UI layer can turn any of them into a readable message.
# --------------------------------------------------------------------------------------------------------------------
class StudioError(Exception):
    """Base of every error the studio raises on purpose; its message is written for the user."""


class InvalidInput(StudioError, ValueError):
    """Bad user input: the message names the field, the value and the rule it breaks.

    Args:
        field: the argument or form field at fault (e.g. ``"width"``).
        message: what is wrong and what is allowed.
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


class ModelUnavailable(StudioError, RuntimeError):
    """A model cannot be used here (weights missing offline, optional dependency or API key absent); says the fix."""


class OutOfMemory(StudioError, RuntimeError):
    """The accelerator ran out of memory even after evicting other models and retrying once."""


class GenerationFailed(StudioError, RuntimeError):
    """A model ran but produced no usable output (e.g. NaN pixels from a numerical overflow)."""


class Cancelled(StudioError):
    """The user pressed Stop; raised from inside a denoising loop at the next step boundary."""


def check_number(
    value: Any,
    field: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    integer: bool = False,
) -> float | int:
    """Validate a number that came from a form or the API and return it with the right type.

    Args:
        value: what the client sent (int, float, or something else by mistake).
        field: the field name used in the error message.
        minimum: smallest allowed value (inclusive), if any.
        maximum: largest allowed value (inclusive), if any.
        integer: whether the value must be a whole number.

    Returns:
        The value as ``int`` when ``integer`` else as ``float``.

    Raises:
        InvalidInput: not a number, NaN or infinite, fractional where an integer is needed, or out of range.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(field, f"expected a number, got {value!r}")
    if math.isnan(value) or math.isinf(value):
        raise InvalidInput(field, f"expected a finite number, got {value!r}")
    if integer:
        if value != int(value):
            raise InvalidInput(field, f"expected a whole number, got {value!r}")
        value = int(value)
    else:
        value = float(value)
    if minimum is not None and value < minimum:
        raise InvalidInput(field, f"{value!r} is below the minimum {minimum:g}")
    if maximum is not None and value > maximum:
        raise InvalidInput(field, f"{value!r} is above the maximum {maximum:g}")
    return value


# --------------------------------------------------------------------------------------------------------------------
# Run control: progress and cancellation travel with a request, not through globals.
# --------------------------------------------------------------------------------------------------------------------
@dataclass
class RunControl:
    """Progress reporting and cooperative cancellation for one long-running call.

    Attributes:
        progress: called with (fraction, description); defaults to doing nothing.
        stop: set by the UI's Stop button; backends check it between steps.
    """

    progress: ProgressFn | None = None
    stop: threading.Event = field(default_factory=threading.Event)

    def report(self, fraction: float, description: str) -> None:
        """Forward progress to the UI, if anyone listens."""
        if self.progress is not None:
            self.progress(min(max(fraction, 0.0), 1.0), description)

    def raise_if_stopped(self) -> None:
        """Raise ``Cancelled`` when Stop was pressed."""
        if self.stop.is_set():
            raise Cancelled("stopped by the user")


# --------------------------------------------------------------------------------------------------------------------
# Text-to-image request and result
# --------------------------------------------------------------------------------------------------------------------
@dataclass
class T2IRequest:
    """One text-to-image generation, the same for every model compared side by side.

    Attributes:
        prompt: the prompt in Chinese, English or both; text in quotes is text to render.
        negative_prompt: what to avoid ("" for none).
        seed: the seed, or None to draw one (the result reports the seed used).
        width: output width in pixels.
        height: output height in pixels.
        steps: denoising steps, or None for the model card's default.
        guidance: guidance strength, or None for the model card's default; each model maps it onto its own
            parameter (``guidance_scale``, Qwen-Image's ``true_cfg_scale``, HunyuanImage's guider...).
        control: progress and Stop; not part of the recipe.
    """

    prompt: str
    negative_prompt: str = ""
    seed: int | None = None
    width: int = 1024
    height: int = 1024
    steps: int | None = None
    guidance: float | None = None
    control: RunControl = field(default_factory=RunControl, compare=False, repr=False)


@dataclass
class Recipe:
    """Everything needed to reproduce an output; written into each PNG and shown in the UI.

    Attributes:
        model: registry key, e.g. ``"t2i/kolors"``.
        name: display name.
        repo_id: Hugging Face repo (or ``ark:<model>`` for the remote API, or the miniature's folder).
        revision: the commit actually loaded, when known.
        profile: ``"real"`` or ``"tiny"`` (random-weight miniature).
        pipeline: the diffusers pipeline class (or API name).
        scheduler: the scheduler class used.
        seed: the seed used.
        steps: denoising steps used (None for remote APIs that do not expose them).
        guidance: guidance value used.
        guidance_param: which call parameter received it.
        width: width in pixels.
        height: height in pixels.
        prompt: the prompt.
        negative_prompt: the negative prompt.
        language: detected prompt language: ``"zh"``, ``"en"`` or ``"mixed"``.
        quoted_text: text the prompt asks to render.
        device: where it ran.
        dtype: weights dtype.
        load_seconds: time spent loading the model for this request (0 when already loaded).
        run_seconds: time of the generation itself.
        extra: model-specific call parameters (e.g. ``max_sequence_length``).
        versions: library versions that produced it.
    """

    model: str
    name: str
    repo_id: str
    revision: str
    profile: str
    pipeline: str
    scheduler: str
    seed: int
    steps: int | None
    guidance: float | None
    guidance_param: str | None
    width: int
    height: int
    prompt: str
    negative_prompt: str
    language: str
    quoted_text: list[str]
    device: str
    dtype: str
    load_seconds: float = 0.0
    run_seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def random_weights(self) -> bool:
        """True for outputs of the tiny profile's random-weight miniatures."""
        return self.profile == "tiny"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the PNG's JSON chunk and the API's recipe)."""
        data = asdict(self)
        data["random_weights"] = self.random_weights
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Recipe:
        """Rebuild a recipe read back from a PNG, ignoring derived keys."""
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class T2IResult:
    """One generated image with its recipe."""

    image: Image.Image
    recipe: Recipe


# --------------------------------------------------------------------------------------------------------------------
# The Backend protocol
# --------------------------------------------------------------------------------------------------------------------
@runtime_checkable
class Backend(Protocol):
    """What the cache expects from every task backend.

    A backend is constructed cheaply from its spec and the settings (no I/O), loads weights in ``load``, validates
    a request in ``check_inputs`` without needing the weights, runs it in ``__call__`` and frees memory in
    ``unload``.
    """

    spec: ModelSpec

    def load(self, progress: ProgressFn | None = None) -> None:
        """Load weights (downloading them first when allowed) onto the configured device."""

    def check_inputs(self, request: Any) -> None:
        """Raise ``InvalidInput`` naming the field, value and rule for anything the model cannot take."""

    def __call__(self, request: Any) -> Any:
        """Run one request; the only way to run a backend."""

    def unload(self) -> None:
        """Drop every reference to the weights so their memory can be reclaimed."""

    def memory_bytes(self) -> int:
        """Bytes held by the loaded weights (0 when not loaded); the cache budgets with it."""


BackendFactory = Callable[["ModelSpec", "Settings"], Backend]
