"""The interpreter and the versions of the packages a session imported, cached per process.

``importlib.metadata`` and ``platform`` load on first use; nothing here imports a framework.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Iterable

from .._version import __version__

MAX_UNPACKAGED_MODULES = 200


def _distributions_by_module() -> dict[str, tuple[str, ...]]:
    """Top-level import name -> distribution names, computed once per process (~0.1 s)."""
    from importlib.metadata import packages_distributions

    return {top: tuple(sorted(set(d))) for top, d in packages_distributions().items()}


@functools.cache
def _distribution_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


@functools.cache
def _interpreter() -> dict:
    import platform
    import socket

    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "executable": sys.executable,
    }


def _tracker_version() -> str:
    return __version__


@functools.lru_cache(maxsize=32)
def _packages(tops: frozenset[str]) -> tuple[dict[str, str | None], list[str]]:
    mapping = _distributions_by_module()
    packages: dict[str, str | None] = {}
    unpackaged = []
    for top in sorted(tops):
        dists = mapping.get(top)
        if dists:
            for dist in dists:
                packages[dist] = _distribution_version(dist)
        elif not top.startswith("_") and top != "jupyter_tracker":
            unpackaged.append(top)
    return dict(sorted(packages.items(), key=lambda kv: kv[0].lower())), unpackaged


def environment(modules: Iterable[str] | None = None) -> dict:
    """The interpreter and the versions of the distributions the session imported.

    ``modules`` is a collection of imported module names (a ``sys.modules``-like dict works;
    default: ``sys.modules``). Returns ``{"python", "implementation", "platform", "host",
    "pid", "executable", "jupyter_tracker": version, "packages": {distribution: version},
    "unpackaged_modules": [top-level modules from no installed distribution, e.g. a local
    ``mymodel.py``]}``. Standard-library modules are skipped. The module -> distribution map
    is built once per process and the result is cached per set of imported top-level names,
    so calling this for every run costs almost nothing while nothing new is imported.
    """
    names = sys.modules if modules is None else modules
    stdlib = sys.stdlib_module_names
    tops = frozenset(
        top
        for top in {name.partition(".")[0] for name in list(names)}
        if top not in stdlib and not top.startswith("__")
    )
    packages, unpackaged = _packages(tops)
    return {
        **_interpreter(),
        "pid": os.getpid(),
        "jupyter_tracker": _tracker_version(),
        "packages": dict(packages),
        "unpackaged_modules": unpackaged[:MAX_UNPACKAGED_MODULES],
    }
