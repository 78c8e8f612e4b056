"""What can be logged: param values as stored text and back, metric values, steps and times.

Every value is checked here, at the call, so that what is accepted can always be stored.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from ._limits import MAX_PARAM_VALUE_LENGTH, check_length

_LITERAL_TYPES = {"list", "tuple", "dict", "set", "complex"}


def param_text(value: Any) -> tuple[str, str, float | None]:
    """A param value as stored: MLflow's text form, its Python type name, and its number."""
    kind = type(value)
    if kind is str:
        text, name = value, "str"
    elif kind is int or kind is float or kind is bool or value is None:
        text, name = str(value), kind.__name__
    elif isinstance(value, numbers.Integral) and not isinstance(value, bool):
        text, name = str(int(value)), "int"
    elif isinstance(value, numbers.Real):
        text, name = str(float(value)), "float"
    else:
        text, name = str(value), kind.__name__
    check_length(text, MAX_PARAM_VALUE_LENGTH, "A param value")
    num = None
    if name in ("int", "float", "str") and text:
        try:
            num = float(text)
        except ValueError:
            num = None
        if num is not None and not math.isfinite(num):
            num = None
    return text, name, num


def typed_param(text: str, kind: str) -> Any:
    """The Python value of a stored param (its text form when the type can't be rebuilt)."""
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if kind == "bool":
            return text == "True"
        if kind == "NoneType":
            return None
        if kind in _LITERAL_TYPES:
            import ast

            return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        pass
    return text


def metric_value(value: Any) -> float:
    """A metric value as a float (NaN and ±inf kept), or a clear ``TypeError``."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__float__"):
        raise TypeError(
            f"A metric value must be a number, got {type(value).__name__} {str(value)[:40]!r}. "
            "Log text with jt.set_tag or jt.log_param."
        )
    return float(value)


def metric_step(step: Any) -> int:
    """A metric step as an int, or a clear ``TypeError``."""
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise TypeError(f"A metric step must be an integer, got {type(step).__name__}.")
    return int(step)
