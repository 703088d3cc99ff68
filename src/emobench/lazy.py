"""Packages that import their names on first use, so ``import emobench`` and the command line start fast."""
from __future__ import annotations

import importlib
from typing import Callable


def exports(package: str, names: dict[str, str]) -> Callable[[str], object]:
    """A module ``__getattr__`` giving ``names[name]``'s attribute ``name`` (a module relative to ``package``)."""

    def __getattr__(name: str):
        if name in names:
            return getattr(importlib.import_module(f".{names[name]}", package), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
