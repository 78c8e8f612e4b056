"""Documented size and character limits for keys, values and names, checked in one place."""

from __future__ import annotations

import re

from .errors import InvalidInputError

MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_RUN_NAME_LENGTH = 250
MAX_EXPERIMENT_NAME_LENGTH = 250
MAX_ARTIFACT_PATH_LENGTH = 1000
KEY_CHARACTERS = "letters, digits, '_', '-', '.', '/', ':' and space"
# MLflow's system tags (``mlflow.runName``, ``mlflow.parentRunId``...): set on every run,
# shown by MLflow's entities and ``search_runs``, kept out of the tracker's own views.
SYSTEM_TAG_PREFIX = "mlflow."

_KEY_RE = re.compile(r"[\w\-./: ]+", re.ASCII)


def check_key(key: object, kind: str) -> str:
    """Return ``key`` if it is a valid param/metric/tag key (MLflow's rules), else raise."""
    if not isinstance(key, str):
        raise InvalidInputError(f"{kind} key must be a string, got {type(key).__name__}.")
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidInputError(
            f"{kind} key must be 1 to {MAX_KEY_LENGTH} characters, got {len(key)}."
        )
    if not _KEY_RE.fullmatch(key):
        raise InvalidInputError(f"{kind} key {key[:60]!r} has characters outside {KEY_CHARACTERS}.")
    return key


def check_length(value: str, limit: int, what: str) -> str:
    """Raise a clear error, never truncate, when ``value`` is longer than ``limit`` or is not
    text that can be stored (a lone surrogate such as ``'\ud800'`` has no UTF-8 form)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInputError(
            f"{what} holds {value[exc.start : exc.end]!r} at position {exc.start}, a lone "
            "surrogate that is not text and cannot be stored."
        ) from None
    if len(value) > limit:
        raise InvalidInputError(
            f"{what} is {len(value)} characters long; the limit is {limit}. "
            "Log long text as an artifact instead (jt.log_artifact(text, name=...))."
        )
    return value


def storable(text: str) -> str:
    """``text`` with what has no UTF-8 form (lone surrogates, as in undecodable file names)
    replaced by U+FFFD: for text the tracker records itself (sources, tracebacks, paths),
    which must never make a later write fail."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text
