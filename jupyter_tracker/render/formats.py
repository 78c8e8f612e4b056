"""Text formats of every view (HTML, terminals): numbers, durations, times, sizes, tables.

Terminal output goes through ``terminal_text``, the one place stored strings lose the
escape sequences and control characters that could drive a terminal.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Set
from typing import Any

from ..model import CaptureReport, json_ready

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_OR_NEWLINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_FLOAT_TEXT = re.compile(r"[+-]?(\d+\.\d*|\.\d+)([eE][+-]?\d+)?|[+-]?\d+[eE][+-]?\d+")
CELL_WIDTH = 24  # characters of a text table's cell, at most


def fmt_number(value: Any) -> str:
    """Numbers as people read them; NaN and ±inf spelled out; anything else as ``str``."""
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        text = f"{value:.6g}"
        return text if any(c in text for c in ".en") else text + ".0"  # 10.0 stays a float
    return str(value)


def fmt_param(text: Any) -> str:
    """A param's stored text as tables show it: a float written with more digits than people
    read (``0.30000000000000004``, ``1e-3``) in ``fmt_number``'s format; anything else (ints,
    words, lists) as stored."""
    value = str(text)
    return fmt_number(float(value)) if _FLOAT_TEXT.fullmatch(value) else value


def fmt_duration(seconds: float | None) -> str:
    """A duration as people read it: ``850ms``, ``12.3s``, ``4m 05s``, ``2h 03m``."""
    if seconds is None or seconds != seconds:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    seconds = int(seconds)
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds // 60 % 60:02d}m"


def run_duration(
    start_ms: int | None, end_ms: int | None, status: str, now_ms: int | None = None
) -> str:
    """How long a run took (times in ms since the epoch); a RUNNING run: until ``now_ms``
    (default: now)."""
    if start_ms is None:
        return ""
    if end_ms is None:
        if status != "RUNNING":
            return ""
        end_ms = int(time.time() * 1000) if now_ms is None else now_ms
    return fmt_duration(max(0.0, (end_ms - start_ms) / 1000))


def fmt_time(ms: int | None) -> str:
    """A store time (ms since the epoch) in local time, to the second."""
    if ms is None:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ms / 1000))


def fmt_size(n: int) -> str:
    """Bytes as people read them: ``14 B``, ``2.5 kB``, ``1.3 GB``."""
    amount = float(n)
    for unit in ("B", "kB", "MB"):
        if amount < 1000:
            return f"{n} B" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1000
    return f"{amount:.1f} GB"


def plural(n: int, word: str) -> str:
    """``1 run``, ``1,200 runs`` (a word ending in s stays as it is)."""
    return f"{n:,} {word}{'' if n == 1 or word.endswith('s') else 's'}"


def cut(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, an ellipsis marking the cut."""
    return text if len(text) <= width else text[: width - 1] + "…"


def terminal_text(value: Any, multiline: bool = False) -> str:
    """A stored value as terminal text: escape sequences removed, other controls shown
    escaped (``\\x07``); newlines too unless ``multiline``."""
    text = _ANSI.sub("", fmt_number(value) if value is not None else "")
    pattern = _CONTROL if multiline else _CONTROL_OR_NEWLINE
    return pattern.sub(lambda m: repr(m.group())[1:-1], text)


def terminal_cell(value: Any, width: int = CELL_WIDTH) -> str:
    """A stored value as one cell of a terminal table: ``terminal_text``, cut to ``width``."""
    return cut(terminal_text(value), width)


def text_table(header: list[str], rows: list[list[str]], right: Set[int] = frozenset()) -> str:
    """Aligned columns, two spaces apart; columns in ``right`` right-aligned."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        out = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(out).rstrip()

    return "\n".join([line(header), *(line(r) for r in rows)])


def json_text(data: Any) -> str:
    """Records as indented JSON text (NaN and infinities as strings, see ``json_ready``)."""
    return json.dumps(json_ready(data), indent=2, allow_nan=False, ensure_ascii=False)


def capture_health(capture: CaptureReport | None) -> list[tuple[str, bool, str]]:
    """What a run's capture report holds: (what, captured?, detail), for cards and details."""
    if not capture:
        return []
    where: dict[str, Any] = dict(capture.get("location") or {})
    git: dict[str, Any] = capture.get("git") or {}
    env: dict[str, Any] = capture.get("environment") or {}
    if git.get("commit"):
        git_detail = git["commit"][:8] + (" + uncommitted diff" if git.get("dirty") else "")
        git_ok = True
    else:
        git_ok = False
        git_detail = git.get("error") or ("not a git repository" if "repo" in git else "pending")
    return [
        ("source", True, "cell and magic line"),
        ("notebook", bool(where.get("notebook")), where.get("notebook") or "unknown path"),
        ("cell id", bool(where.get("cell_id")), where.get("cell_id") or "unknown"),
        ("git", git_ok, git_detail),
        (
            "environment",
            bool(env),
            f"Python {env.get('python', '?')}, {len(env.get('packages') or {})} packages",
        ),
    ]
