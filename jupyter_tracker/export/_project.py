"""The files that make the directory a project: MLproject, python_env.yaml, requirements.txt,
params.yaml. YAML is written by hand (no YAML library needed), every string double-quoted
with JSON's escapes plus ``\\uXXXX`` for what YAML may not hold raw.
"""

from __future__ import annotations

import json
import math
import re

from ._code import SCRIPT, Option, one_line

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_YAML_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null"})
# Characters YAML does not allow raw in a stream, and those YAML 1.1 reads as line breaks
# (JSON escapes the ones below U+0020 already).
_NOT_YAML = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")


def yaml_str(text: str) -> str:
    """``text`` as a double-quoted YAML (and JSON) scalar."""
    return _NOT_YAML.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(text, ensure_ascii=False))


def yaml_key(key: str) -> str:
    """A mapping key: bare when that cannot be misread, else quoted."""
    if _PLAIN_KEY.fullmatch(key) and key.lower() not in _YAML_WORDS:
        return key
    return yaml_str(key)


def yaml_float(value: float) -> str:
    """A float YAML 1.1 and 1.2 both read back as that float (``1.0e-05``, ``.nan``)."""
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value)
    mantissa, e, exponent = text.partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    if e and exponent[0] not in "+-":
        exponent = "+" + exponent
    return mantissa + (f"e{exponent}" if e else "")


def yaml_value(value: object) -> str:
    """A param value in YAML flow style; what YAML cannot type (objects) as its text."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return yaml_float(value)
    if isinstance(value, str):
        return yaml_str(value)
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return "[" + ", ".join(yaml_value(v) for v in items) + "]"
    if isinstance(value, dict) and all(
        k is None or isinstance(k, str | int | float | bool) for k in value
    ):
        return "{" + ", ".join(f"{yaml_value(k)}: {yaml_value(v)}" for k, v in value.items()) + "}"
    return yaml_str(str(value))


def slug(name: str) -> str:
    """A run name as a project name: letters, digits, ``. _ -``."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "run"


def mlproject(name: str, options: list[Option]) -> str:
    """MLflow's MLproject: one ``main`` entry point taking every param, defaulting to it."""
    command = f"python {SCRIPT}" + "".join(f" --{o.name}={{{o.name}}}" for o in options)
    lines = [
        "# MLflow project: mlflow run . -P NAME=VALUE --env-manager local",
        f"name: {yaml_str(slug(name))}",
        "python_env: python_env.yaml",
        "entry_points:",
        "  main:",
        "    parameters:" + ("" if options else " {}"),
    ]
    for o in options:
        default = yaml_value(o.value) if o.numeric else yaml_str(o.text)
        kind = "float" if o.numeric else "string"
        lines.append(f"      {o.name}: {{type: {kind}, default: {default}}}")
    lines.append(f"    command: {yaml_str(command)}")
    return "\n".join(lines) + "\n"


def python_env(environment: dict | None) -> str:
    """MLflow's python_env.yaml: the run's Python version, the packages of requirements.txt."""
    import platform

    python = (environment or {}).get("python")
    note = "the run's session" if python else "not recorded with the run: the exporting Python"
    return (
        f"# Python of {note}; packages: requirements.txt\n"
        f"python: {yaml_str(python or platform.python_version())}\n"
        "build_dependencies:\n"
        "  - pip\n"
        "dependencies:\n"
        "  - -r requirements.txt\n"
    )


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _installed_version(distribution: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def requirements(modules: list[str], environment: dict | None) -> str:
    """Pinned distributions of the modules the script imports (versions as the run's session
    had them), then, commented out, the other packages the session had imported."""
    from importlib.metadata import packages_distributions

    recorded = {_normal(d): (d, v) for d, v in ((environment or {}).get("packages") or {}).items()}
    try:
        by_module = packages_distributions()
    except Exception:  # broken metadata of some installed package: best effort
        by_module = {}
    local = set((environment or {}).get("unpackaged_modules") or [])
    lines = [
        f"# The packages {SCRIPT} imports, at the versions of the run's session"
        + ("." if environment else " (not recorded: versions installed where it was exported)."),
    ]
    used: set[str] = set()
    tracker = None
    for module in modules:
        if module == "jupyter_tracker":
            tracker = (recorded.get("jupyter-tracker") or ("jupyter-tracker", None))[1]
            tracker = tracker or (environment or {}).get("jupyter_tracker")
            continue
        distributions = list(dict.fromkeys(by_module.get(module) or []))
        if not distributions and _normal(module) in recorded:
            distributions = [recorded[_normal(module)][0]]
        if not distributions:
            why = (
                "a local module of the session, not a package: copy it next to " + SCRIPT
                if module in local
                else "no installed distribution provides it: install it by hand"
            )
            lines.append(f"# {one_line(module)}: {why}")
            continue
        for dist in distributions:
            if _normal(dist) in used:
                continue
            used.add(_normal(dist))
            version = (recorded.get(_normal(dist)) or (None, None))[1]
            if version is None:
                version = _installed_version(dist)
            lines.append(_requirement(dist, version))
    lines.append(
        f"# jupyter-tracker{'==' + one_line(tracker) if tracker else ''}  (optional: with it "
        "installed, "
        "re-runs are logged as new runs tagged with their origin)"
    )
    others = sorted(
        (d, v) for key, (d, v) in recorded.items() if key not in used and key != "jupyter-tracker"
    )
    if others:
        lines.append("# Also imported in the run's session (kernel, other cells), not by the code:")
        lines += [f"# {one_line(d)}=={one_line(v)}" for d, v in others]
    return "\n".join(lines) + "\n"


_DISTRIBUTION = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+!_-]*")


def _requirement(dist: str, version: str | None) -> str:
    """One requirement line; names and versions read from a store are checked, so nothing
    recorded can add lines (or pip options) to requirements.txt: else it is a comment."""
    if not _DISTRIBUTION.fullmatch(dist) or (version and not _VERSION.fullmatch(version)):
        return f"# not a valid requirement, left out: {one_line(dist)} {one_line(version or '')}"
    return f"{dist}=={version}" if version else dist


def params_yaml(name: str, run_id: str, options: list[Option]) -> str:
    """The params as YAML with their logged types (text when a type has no YAML form)."""
    lines = [
        f"# Params of jupyter-tracker run {one_line(name)} ({run_id}), as logged.",
        f"# {SCRIPT} takes each as an option (python {SCRIPT} --help).",
    ]
    for o in options:
        value = o.value if o.converter != "str" or isinstance(o.value, str) else o.text
        lines.append(f"{yaml_key(o.key)}: {yaml_value(value)}")
    if not options:
        lines.append("{}")
    return "\n".join(lines) + "\n"
