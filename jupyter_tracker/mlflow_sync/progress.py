"""A text progress bar on stderr, redrawn in place (tqdm-like, no dependency)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 24
REDRAW_S = 0.2


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes:02d}:{seconds:02d}"


class Progress:
    """``label  45%|███████▎        | 5,400/12,000 points  run 3/12 [00:04<00:05]``.

    Silent when ``enabled`` is false; redrawn at most every ``REDRAW_S`` seconds with a
    carriage return; ``close`` draws the last state and ends the line."""

    def __init__(
        self,
        label: str,
        total: int,
        unit: str,
        enabled: bool = True,
        stream: TextIO | None = None,
    ) -> None:
        self.label, self.total, self.unit, self.enabled = label, total, unit, enabled
        self.stream = stream if stream is not None else sys.stderr
        self.done = 0
        self.note = ""
        self.started = time.monotonic()
        self._drawn_at = 0.0
        self._width = 0
        self._closed = False

    def update(self, n: int = 0, note: str | None = None) -> None:
        """Count ``n`` more units done (and change the note shown after the counts)."""
        self.done += n
        if note is not None:
            self.note = note
        if self.enabled and time.monotonic() - self._drawn_at >= REDRAW_S:
            self._draw()

    def line(self) -> str:
        """The bar as it would be drawn now."""
        elapsed = time.monotonic() - self.started
        total = max(self.total, self.done)
        fraction = self.done / total if total else 1.0
        eighths = int(fraction * WIDTH * 8)
        bar = "█" * (eighths // 8) + ("▏▎▍▌▋▊▉"[eighths % 8 - 1] if eighths % 8 else "")
        eta = elapsed / fraction - elapsed if 0 < fraction < 1 else 0.0
        return (
            f"{self.label} {fraction:4.0%}|{bar:<{WIDTH}}| {self.done:,}/{total:,} {self.unit}"
            f"{'  ' + self.note if self.note else ''} [{_clock(elapsed)}<{_clock(eta)}]"
        )

    def _draw(self) -> None:
        text = self.line()
        self.stream.write("\r" + text + " " * max(0, self._width - len(text)))
        self.stream.flush()
        self._width = len(text)
        self._drawn_at = time.monotonic()

    def close(self) -> None:
        """Draw the final state and end the line (once)."""
        if self.enabled and not self._closed:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()
        self._closed = True
