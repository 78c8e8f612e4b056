"""The live run card: one display updated in place while a tracked cell runs.

The card is plain HTML (with SVG sparklines) sent with a ``display_id``, so the final state
is what a saved notebook keeps: readable on GitHub or nbviewer without a kernel. A
background thread re-renders it a few times a second from the run's in-memory state; it
never touches the logging hot path. Plain IPython in a terminal gets a text card.

Each card output's metadata names its run and whether its status is final
(``CARD_METADATA_KEY``): a card a dead kernel left unfinished is found and redrawn from the
store (``stored_card``, served by ``GET runs/{id}/card``) by the lab extension.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from ..model import FINAL_STATUSES, Artifact, CardState, RunCardOutput
from ..render.charts import sparkline
from ..render.colors import BORDER, ERROR, MUTED, TEXT, WARNING
from ..render.formats import capture_health, fmt_duration, fmt_number, fmt_size
from ..render.html import esc, status_badge
from ..run import Run
from ..store import Store, queries
from ..system_metrics import shown_order

UPDATE_INTERVAL_S = 0.5
MAX_SAMPLES = 120
MAX_SHOWN_PARAMS = 12
MAX_SHOWN_METRICS = 12
MAX_SHOWN_ARTIFACTS = 12
# Inline on every metric cell: JupyterLab's rendered-HTML tables would otherwise pad cells by
# 0.5em, right-align them and stripe the rows (and centre the table, 1em below it).
_CELL = "padding:1px 12px 1px 0;border:none;line-height:22px;vertical-align:middle"
# The output metadata key of a card (labextension/src/cards.ts reads it): model.CardState.
CARD_METADATA_KEY = "jupyter-tracker/run-card"


class RunCard:
    """The card of one run, shown in the cell's output and kept current until it ends."""

    def __init__(self, run: Any, *, html: bool = True, quiet: bool = False) -> None:
        self.run = run
        self.html = html
        self.quiet = quiet
        self.samples: dict[str, list[float]] = {}
        self.warnings: list[str] = []
        self._handle: Any = None  # IPython's DisplayHandle, once shown
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = time.monotonic()
        self._artifacts: list[Artifact] | None = None  # read once the run has ended

    # -- life cycle -------------------------------------------------------------------

    def show(self) -> None:
        """Display the card and start refreshing it while the run is RUNNING."""
        if self.quiet:
            return
        if not self.html:
            print(self.text(), flush=True)
            return
        from IPython.display import display

        out = self.output()
        self._handle = display(out["data"], metadata=out["metadata"], raw=True, display_id=True)
        self._thread = threading.Thread(
            target=self._refresh, name="jupyter-tracker-card", daemon=True
        )
        self._thread.start()

    def _refresh(self) -> None:
        while not self._stop.wait(UPDATE_INTERVAL_S):
            self._sample()
            self._update()

    def _update(self) -> None:
        out = self.output()
        self._handle.update(out["data"], metadata=out["metadata"], raw=True)

    def _sample(self) -> None:
        for key, value in list(self.run.metrics.items()):
            values = self.samples.setdefault(key, [])
            values.append(value)
            if len(values) > MAX_SAMPLES:
                del values[: len(values) - MAX_SAMPLES]

    def finish(self, final_samples: dict[str, list[float]] | None = None) -> None:
        """Stop refreshing and show the final state (curves from the stored history)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if final_samples is not None:
            self.samples = final_samples
        if self.quiet:
            return
        if self._handle is not None:
            self._update()
        elif not self.html:
            print(self.text(), flush=True)

    def output(self) -> RunCardOutput:
        """The card as a display output: its MIME bundle, and its metadata (the run's id,
        status and whether that status is final)."""
        run = self.run
        final = run.status in FINAL_STATUSES
        state: CardState = {"run_id": run.id, "status": run.status, "final": final}
        return {
            "data": {"text/html": self.render_html(), "text/plain": self.text()},
            "metadata": {CARD_METADATA_KEY: state},
        }

    # -- rendering --------------------------------------------------------------------

    def _elapsed(self) -> str:
        run = self.run
        if run.status != "RUNNING" and run._end_ms is not None:
            return fmt_duration((run._end_ms - run._start_ms) / 1000)
        return fmt_duration(time.monotonic() - self._started)

    def render_html(self) -> str:
        """The card as HTML; every user string escaped."""
        run = self.run
        rows = []
        for key, value in sorted(run.metrics.items(), key=_shown_first)[:MAX_SHOWN_METRICS]:
            rows.append(
                f'<tr style="background:transparent">'
                f'<td style="{_CELL};text-align:left">{esc(key)}</td>'
                f'<td style="{_CELL};text-align:right;width:7em;font-family:monospace">'
                f"{esc(fmt_number(value))}</td>"
                f'<td style="{_CELL}">{sparkline(self.samples.get(key, []))}</td></tr>'
            )
        params = sorted(run.params.items())
        shown = ", ".join(f"{esc(k)}={esc(fmt_number(v))}" for k, v in params[:MAX_SHOWN_PARAMS])
        if len(params) > MAX_SHOWN_PARAMS:
            shown += f", … ({len(params) - MAX_SHOWN_PARAMS} more)"
        parts = [
            f'<div class="jt-run-card" style="border:1px solid {BORDER};border-radius:6px;'
            "padding:6px 12px;margin:2px 0;font-family:system-ui,sans-serif;font-size:13px;"
            'max-width:min(760px,100%);box-sizing:border-box;overflow-wrap:anywhere">',
            f'<div><b>{esc(run.name)}</b> <code style="color:{MUTED}">{esc(run.id[:8])}</code> '
            f"{status_badge(run.status)} "
            f'<span style="color:{MUTED}">{esc(run.experiment)} · {esc(self._elapsed())}</span>'
            "</div>",
        ]
        if shown:
            parts.append(f'<div style="color:{TEXT};margin-top:2px">{shown}</div>')
        if rows:
            parts.append(
                '<table style="border-collapse:collapse;margin:4px 0 0">'
                + "".join(rows)
                + "</table>"
            )
        if run.status == "FAILED" and run.error:
            last = run.error.strip().splitlines()[-1]
            parts.append(f'<div style="color:{ERROR};margin-top:4px">{esc(last)}</div>')
        artifacts = self.artifacts()
        if artifacts:
            listed = " · ".join(
                f"<code>{esc(a['path'])}</code> {esc(fmt_size(a['size']))}"
                for a in artifacts[:MAX_SHOWN_ARTIFACTS]
            )
            if len(artifacts) > MAX_SHOWN_ARTIFACTS:
                listed += f" · … ({len(artifacts) - MAX_SHOWN_ARTIFACTS} more)"
            parts.append(
                f'<div class="jt-card-artifacts" style="color:{MUTED};font-size:12px;'
                f'margin-top:4px">artifacts: {listed}</div>'
            )
        health = capture_health(run.capture)
        if health:
            items = " · ".join(
                f'<span title="{esc(detail)}">{"✓" if ok else "✗"} {esc(what)}</span>'
                for what, ok, detail in health
            )
            parts.append(f'<div style="color:{MUTED};font-size:11px;margin-top:4px">{items}</div>')
        for warning in self.warnings:
            parts.append(
                f'<div style="color:{WARNING};font-size:12px;margin-top:2px">⚠ {esc(warning)}</div>'
            )
        parts.append("</div>")
        return "".join(parts)

    def artifacts(self) -> list[Artifact]:
        """The run's artifacts (name, size...) once it has ended, read once; none while it
        runs (the card is redrawn a few times a second)."""
        if self.run.status == "RUNNING":
            return []
        if self._artifacts is None:
            self._artifacts = list(self.run.artifacts)
        return self._artifacts

    def text(self) -> str:
        """The card as plain text (terminals, and the text/plain part of the output)."""
        run = self.run
        lines = [
            f"run {run.name} ({run.id[:8]}) {run.status} · {run.experiment} · {self._elapsed()}"
        ]
        if run.params:
            lines.append(
                "  params: "
                + ", ".join(f"{k}={fmt_number(v)}" for k, v in sorted(run.params.items()))
            )
        for key, value in sorted(run.metrics.items(), key=_shown_first):
            lines.append(f"  {key}: {fmt_number(value)}")
        if run.status == "FAILED" and run.error:
            lines.append("  error: " + run.error.strip().splitlines()[-1])
        if self.artifacts():
            lines.append(
                "  artifacts: "
                + ", ".join(f"{a['path']} ({fmt_size(a['size'])})" for a in self.artifacts())
            )
        health = capture_health(run.capture)
        if health:
            lines.append(
                "  captured: "
                + ", ".join(f"{what} {'yes' if ok else 'no'}" for what, ok, _ in health)
            )
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def stored_card(store: Store, run_id: str) -> RunCard:
    """The card of a stored run (a full id) as the kernel draws it once the run has ended:
    curves from the stored history, hidden-state warnings unless a sweep's child."""
    run = Run(queries.run_detail(store, run_id))
    card = RunCard(run)
    card.samples = {key: queries.sampled_points(store, run.id, key) for key in run.metrics}
    if run.parent_id is None and run.capture:
        card.warnings = list(run.capture.get("warnings") or [])
    return card


def _shown_first(item: tuple[str, float]) -> tuple[bool, str]:
    """The run's own metrics first, its system metrics after them."""
    return shown_order(item[0])
