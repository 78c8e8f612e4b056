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
KEY_CHARACTERS = "letters, digits, '_', '-', '.', '/' and space"

_KEY_RE = re.compile(r"[\w\-./ ]+", re.ASCII)


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
    """Raise a clear error, never truncate, when ``value`` is longer than ``limit``."""
    if len(value) > limit:
        raise InvalidInputError(
            f"{what} is {len(value)} characters long; the limit is {limit}. "
            "Log long text as an artifact instead (jt.log_artifact(text, name=...))."
        )
    return value
