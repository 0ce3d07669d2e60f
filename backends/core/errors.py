"""The studio's errors: one base class, so the UI layer can turn any of them into a readable message.

Every error raised on purpose derives from ``StudioError`` and carries a message written for the user; anything
else reaching the UI is a bug and is logged with an error id.
"""

from __future__ import annotations


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
        self.reason = message
        super().__init__(f"{field}: {message}")

    def __reduce__(self) -> tuple:
        # Rebuilt from (field, message) when it crosses a process boundary (a remote executor), not from the
        # formatted string, so the message is not prefixed twice.
        return (type(self), (self.field, self.reason))


class ModelUnavailable(StudioError, RuntimeError):
    """A model cannot be used here (weights missing offline, optional dependency or API key absent); says the fix."""


class OutOfMemory(StudioError, RuntimeError):
    """The accelerator ran out of memory even after evicting other models and retrying once."""


class GenerationFailed(StudioError, RuntimeError):
    """A model ran but produced no usable output (e.g. NaN pixels from a numerical overflow)."""


class Cancelled(StudioError):
    """The user pressed Stop; raised from inside a denoising loop at the next step boundary."""
