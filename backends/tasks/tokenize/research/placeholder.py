"""Entries for released research tokenizers whose adapters are not written yet: loading says what is missing."""

from __future__ import annotations

import importlib

import numpy as np

from backends.core.errors import ModelUnavailable
from backends.core.run import ProgressFn
from backends.tasks.tokenize.base import TokenizerBackend
from backends.tasks.tokenize.tokens import Tokens
from backends.tasks.tokenize.types import TokenizeRequest


class ResearchTokenizer(TokenizerBackend):
    """Adapters for research tokenizers whose model code lives in the authors' repositories (not on PyPI).

    The spec's ``module`` option names the Python module the adapter needs and ``spec.notes`` where it comes
    from. Until it is importable, loading raises ``ModelUnavailable`` saying so; the studio does not ship that code.
    """

    def load(self, report: ProgressFn | None = None) -> None:
        """Import the authors' code, or explain what is missing."""
        module = self.spec.defaults.options.get("module", "")
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise ModelUnavailable(f"{self.spec.name} ({self.spec.key}) needs the authors' model code "
                                   f"(`import {module}` failed): {self.spec.notes}") from exc
        raise ModelUnavailable(f"{self.spec.name}: the authors' code is installed, but its checkpoint format has "
                               "not been verified against this adapter yet (no GPU session has run it)")

    def encode(self, image: np.ndarray, request: TokenizeRequest) -> Tokens:  # pragma: no cover
        raise ModelUnavailable(f"{self.spec.key} is not loaded")

    def decode(self, tokens: Tokens) -> np.ndarray:  # pragma: no cover
        raise ModelUnavailable(f"{self.spec.key} is not loaded")
