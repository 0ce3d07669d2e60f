"""The registry: every ``ModelSpec`` of the catalog, validated, keyed by ``spec.key``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from backends.core.errors import InvalidInput
from backends.models.spec import ModelSpec


class Registry(Mapping[str, ModelSpec]):
    """An immutable, validated collection of specs keyed by ``spec.key``.

    Raises:
        ValueError: two specs share a key.
    """

    def __init__(self, specs: Iterable[ModelSpec]) -> None:
        self._specs: dict[str, ModelSpec] = {}
        for spec in specs:
            if spec.key in self._specs:
                raise ValueError(f"duplicate model key {spec.key!r} in the registry")
            self._specs[spec.key] = spec

    def __getitem__(self, key: str) -> ModelSpec:
        return self._specs[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    def get_spec(self, key: Any, field_name: str = "model") -> ModelSpec:
        """Look a key up for a user request, with an error that lists what exists.

        Raises:
            InvalidInput: the key is not registered.
        """
        if not isinstance(key, str) or key not in self._specs:
            known = ", ".join(self._specs)
            raise InvalidInput(field_name, f"unknown model key {key!r}; registered keys: {known}")
        return self._specs[key]

    def by_task(self, task: str) -> list[ModelSpec]:
        """Specs of one task, in registry order."""
        return [s for s in self._specs.values() if s.task == task]


def default_registry() -> Registry:
    """The studio's registry: every module of ``backends.models.catalog``, ordered by its ``ORDER`` (the order the
    UI lists them), validated on construction. A new task adds its catalog file and nothing else here."""
    import importlib
    import pkgutil

    from backends.models import catalog

    modules = [importlib.import_module(f"{catalog.__name__}.{info.name}")
               for info in pkgutil.iter_modules(catalog.__path__)]
    modules.sort(key=lambda module: (getattr(module, "ORDER", 100), module.__name__))
    return Registry(spec for module in modules for spec in module.SPECS)


__all__ = ["Registry", "default_registry"]
