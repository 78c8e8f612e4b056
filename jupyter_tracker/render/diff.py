"""Side-by-side diffs of source text as static HTML (inline styles, every line escaped).

A diff is never wider than the space it is given: the table has a fixed layout at 100% and
long lines wrap inside their half (``pre-wrap``, breaking anywhere), so one long line can
neither widen the page nor be cut off. Changed lines are translucent tints of the theme's
colours under the theme's text colour, readable in light and dark themes.
"""

from __future__ import annotations

import difflib

from .colors import ADDED, BORDER, FAINT, MUTED, REMOVED, SURFACE
from .html import CODE_FONT, WIDTH_BOUND, esc

CONTEXT_LINES = 3
MAX_DIFF_LINES = 2000

_TD = "padding:0 6px;white-space:pre-wrap;overflow-wrap:anywhere;vertical-align:top;text-align:left"
_NUM = f"padding:0 6px;color:{FAINT};text-align:right;user-select:none;vertical-align:top"
_NUM_WIDTH = "3.5em"  # the line-number columns


def _row(left: tuple[int, str] | None, right: tuple[int, str] | None, kind: str) -> str:
    """One line pair; ``kind``: ``=`` same, ``-`` removed, ``+`` added, ``~`` changed."""

    def half(side: tuple[int, str] | None, background: str) -> str:
        if side is None:
            return f'<td style="{_NUM}"></td><td style="{_TD};background:{SURFACE}"></td>'
        style = f"{_TD};background:{background}" if background else _TD
        return f'<td style="{_NUM}">{side[0]}</td><td style="{style}">{esc(side[1])}</td>'

    removed = REMOVED if kind in ("-", "~") else ""
    added = ADDED if kind in ("+", "~") else ""
    return f"<tr>{half(left, removed)}{half(right, added)}</tr>"


def side_by_side(
    old: str, new: str, old_title: str, new_title: str, context: int = CONTEXT_LINES
) -> str:
    """``old`` and ``new`` side by side, changed lines coloured, long equal runs folded."""
    a, b = old.splitlines(), new.splitlines()
    rows = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            n = i2 - i1
            if n > 2 * context + 1:
                keep_head = context if i1 > 0 else 0
                keep_tail = context if i2 < len(a) else 0
                for k in range(keep_head):
                    rows.append(_row((i1 + k + 1, a[i1 + k]), (j1 + k + 1, b[j1 + k]), "="))
                folded = n - keep_head - keep_tail
                rows.append(
                    f'<tr><td colspan="4" style="color:{MUTED};background:{SURFACE};'
                    f'padding:0 6px">⋯ {folded} identical line{"s" if folded != 1 else ""}'
                    "</td></tr>"
                )
                for k in range(n - keep_tail, n):
                    rows.append(_row((i1 + k + 1, a[i1 + k]), (j1 + k + 1, b[j1 + k]), "="))
            else:
                for k in range(n):
                    rows.append(_row((i1 + k + 1, a[i1 + k]), (j1 + k + 1, b[j1 + k]), "="))
        else:
            kind = "~" if tag == "replace" else "-" if tag == "delete" else "+"
            for k in range(max(i2 - i1, j2 - j1)):
                left = (i1 + k + 1, a[i1 + k]) if i1 + k < i2 else None
                right = (j1 + k + 1, b[j1 + k]) if j1 + k < j2 else None
                rows.append(_row(left, right, kind))
        if len(rows) > MAX_DIFF_LINES:
            rows.append(f'<tr><td colspan="4" style="{_TD}">{esc("… (diff cut here)")}</td></tr>')
            break
    title = "text-align:left;padding:2px 6px;overflow-wrap:anywhere"
    head = (
        f'<tr><th colspan="2" style="{title}">{esc(old_title)}</th>'
        f'<th colspan="2" style="{title}">{esc(new_title)}</th></tr>'
    )
    columns = f'<col style="width:{_NUM_WIDTH}"><col>' * 2
    return (
        f'<div class="jt-diff" style="{WIDTH_BOUND};border:1px solid {BORDER};'
        'border-radius:4px;margin:4px 0">'
        f'<table style="border-collapse:collapse;table-layout:fixed;{CODE_FONT};'
        f'font-size:11px;width:100%"><colgroup>{columns}</colgroup>{head}{"".join(rows)}'
        "</table></div>"
    )
