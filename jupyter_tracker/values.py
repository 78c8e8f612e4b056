"""What can be logged: param values as stored text and back, metric values, steps and times.

Every value is checked here, at the call, so that what is accepted can always be stored.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from ._limits import MAX_PARAM_VALUE_LENGTH, check_length
from .errors import InvalidInputError

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
    elif isinstance(value, numbers.Real):  # numpy floats: MLflow's text, their own shortest
        text = str(value)  # repr (np.float32(0.1) is '0.1', so params.lr = '0.1' finds it)
        name = "float" if _is_number(text) else kind.__name__
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


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


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
    try:
        return float(value)
    except OverflowError:
        raise InvalidInputError(
            f"A metric value must fit in a 64-bit float, got {str(value)[:40]}..."
        ) from None


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# 2262-04-11T23:47:16.854Z: the last millisecond a pandas timestamp holds, so every stored
# point can be read back by metric_history and search_runs.
MAX_TIMESTAMP_MS = 9_223_372_036_854


def metric_step(step: Any) -> int:
    """A metric step as a 64-bit int (a whole float such as ``2.0`` or ``np.float32(2)``
    too), or a clear error."""
    if isinstance(step, numbers.Real) and not isinstance(step, numbers.Integral):
        whole_float = float(step)
        if whole_float.is_integer():
            step = int(whole_float)
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise TypeError(f"A metric step must be an integer, got {type(step).__name__} {step!r}.")
    whole: int = int(step)
    if not INT64_MIN <= whole <= INT64_MAX:
        raise InvalidInputError(f"A metric step must fit in 64 bits (±2**63), got {whole}.")
    return whole


def metric_timestamp(timestamp: Any) -> int:
    """A point's time in milliseconds since the epoch (years 1970 to 9999), or a clear error."""
    if isinstance(timestamp, bool) or not isinstance(timestamp, numbers.Real):
        raise TypeError(
            f"A metric timestamp is milliseconds since the epoch, got {type(timestamp).__name__}."
        )
    if not (isinstance(timestamp, numbers.Integral) or math.isfinite(timestamp)):
        raise InvalidInputError(f"A metric timestamp must be finite, got {timestamp!r}.")
    ms: int = int(timestamp)  # type: ignore[call-overload]  # a finite Real
    if not 0 <= ms <= MAX_TIMESTAMP_MS:
        raise InvalidInputError(
            f"A metric timestamp is milliseconds since the epoch (0 to {MAX_TIMESTAMP_MS}, "
            f"the year 2262), got {timestamp!r}."
        )
    return ms
