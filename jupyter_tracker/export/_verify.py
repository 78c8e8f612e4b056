"""``--verify``: an export's script re-run in a fresh process against a scratch store, its
params and final metrics compared with the original run's (``model.Verdict``).

The script runs as a user would run it (``python train.py`` in the export, with this
interpreter), with ``$JUPYTER_TRACKER_STORE`` pointing at a scratch store in a temporary
folder, so the original store is never written. A re-run that differs from the original runs
once more: two re-runs that disagree mean the code is not deterministic, which is said
instead of calling it a failure to reproduce.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..model import Mismatch, RunDetail, Verdict, VerifyOutcome
from ..render.formats import cut, terminal_cell, terminal_text, text_table
from ..store import DB_NAME, Store, now_ms, queries
from ..store._location import ENV_VAR
from ._code import SCRIPT

TIMEOUT_S = 600.0  # the least time a re-run gets (a long run gets 3 times its own duration)
PROGRESS_EVERY_S = 5.0  # a progress line while the script runs, this often
OUTPUT_TAIL = 2000  # characters of the script's output kept when it fails


@dataclass
class _Rerun:
    """One run of the script: what it logged, or why it could not finish."""

    params: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (text, type)
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    outcome: str = "FINISHED"  # how the run ended: its status, and the exception's type


def _outcome(status: str, error: str | None) -> str:
    """``FINISHED``, or e.g. ``FAILED (FloatingPointError)``: a failure reproduces when the
    re-run fails the same way."""
    lines = (error or "").strip().splitlines()
    kind = lines[-1].split(":", 1)[0].strip() if lines else ""
    return f"{status} ({kind})" if status != "FINISHED" and kind else status


def verify(
    directory: Path, original: RunDetail, progress: Callable[[str], None] | None = None
) -> Verdict:
    """Re-run the export in ``directory`` and compare it with run ``original``."""
    say = progress or (lambda line: None)
    started = time.monotonic()
    before = _Rerun(
        original["typed_params"],
        original["metrics"],
        outcome=_outcome(original["status"], original["error"]),
    )
    duration = ((original["end_time"] or original["start_time"]) - original["start_time"]) / 1000
    bound = max(TIMEOUT_S, 3 * duration)
    with tempfile.TemporaryDirectory(prefix="jupyter-tracker-verify-") as scratch:
        failed = before.outcome != "FINISHED"  # then failing the same way reproduces it
        runs = [_rerun(directory, Path(scratch), 1, original["run_id"], bound, say, failed)]
        if runs[0].error is None and _mismatches(before, runs):
            say(
                "verify: the re-run differs from the original; running it once more to see "
                "whether the code is deterministic"
            )
            runs.append(_rerun(directory, Path(scratch), 2, original["run_id"], bound, say, failed))
    return _verdict(before, original["run_id"], runs, time.monotonic() - started)


def _rerun(
    directory: Path,
    scratch: Path,
    n: int,
    run_id: str,
    bound: float,
    say: Callable[[str], None],
    failed: bool = False,
) -> _Rerun:
    store_dir, output = scratch / f"store-{n}", scratch / f"output-{n}.txt"
    env = {**os.environ, ENV_VAR: str(store_dir), "PYTHONUNBUFFERED": "1"}
    again = "" if n == 1 else " a second time"
    say(
        f"verify: running {SCRIPT}{again} in a fresh process against a scratch store "
        f"(stopped after {bound:.0f} s)"
    )
    start = time.monotonic()
    with open(output, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, SCRIPT],
            cwd=directory,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=os.name == "posix",  # its own group: stopped with its children
        )
        try:
            code = _wait(process, start + bound, output, say)
        finally:
            if process.poll() is None:
                _stop(process)
    if code is None:
        return _Rerun(
            error=f"{SCRIPT} did not finish within {bound:.0f} s and was stopped; run it by "
            f"hand (python {SCRIPT} in the export) to see where it waits"
        )
    if code != 0 and failed and (store_dir / DB_NAME).exists():
        logged = _logged(store_dir, run_id)
        if logged.error is None and logged.outcome != "FINISHED":
            return logged  # the script failed as its run did: an outcome to compare
    if code != 0:
        tail = _tail(output)
        last = tail.strip().splitlines()[-1] if tail.strip() else "no output"
        return _Rerun(error=f"{SCRIPT} exited with status {code} ({cut(last, 200)})\n{tail}")
    if not (store_dir / DB_NAME).exists():
        return _Rerun(
            error=f"{SCRIPT} ran but logged no run: is jupyter-tracker importable by "
            f"{sys.executable}?"
        )
    return _logged(store_dir, run_id)


def _wait(
    process: subprocess.Popen, deadline: float, output: Path, say: Callable[[str], None]
) -> int | None:
    """The exit status, or None at the deadline; a progress line every few seconds."""
    start = next_line = time.monotonic()
    next_line += PROGRESS_EVERY_S
    while True:
        try:
            return process.wait(timeout=max(0.0, min(next_line, deadline) - time.monotonic()))
        except subprocess.TimeoutExpired:
            now = time.monotonic()
            if now >= deadline:
                return None
            if now >= next_line:
                last = _tail(output, 400).strip().splitlines()
                shown = f": {terminal_cell(last[-1], 80)}" if last else ""
                say(f"verify: {SCRIPT} running for {now - start:.0f} s{shown}")
                next_line = now + PROGRESS_EVERY_S


def _stop(process: subprocess.Popen) -> None:
    if os.name == "posix":
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    else:
        process.kill()
    process.wait()


def _tail(output: Path, size: int = OUTPUT_TAIL) -> str:
    with open(output, "rb") as f:
        f.seek(max(0, f.seek(0, os.SEEK_END) - size))
        return terminal_text(f.read().decode("utf-8", "replace"), multiline=True)


def _logged(store_dir: Path, run_id: str) -> _Rerun:
    """The params and final metrics of the run the script logged in its scratch store: the
    one tagged with the original as its origin, else (a script that starts its own run) the
    first top-level run."""
    store = Store.open(store_dir)
    try:
        records = queries.records(store, order_by="start_time")
        tagged = [r for r in records if r["tags"].get("jupyter_tracker.origin") == run_id]
        chosen = (tagged or [r for r in records if r["parent_id"] is None] or records)[:1]
        if not chosen:
            return _Rerun(error=f"{SCRIPT} ran but logged no run")
        detail = queries.run_detail(store, chosen[0]["run_id"])
    finally:
        store.close()
    return _Rerun(
        detail["typed_params"],
        detail["metrics"],
        outcome=_outcome(detail["status"], detail["error"]),
    )


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b and type(a) is type(b)


def _shown(value: object, typed: bool) -> str | None:
    if value is None:
        return None
    if isinstance(value, tuple):  # a param: (text, type)
        return f"{value[0]} ({value[1]})" if typed else value[0]
    return repr(value)  # a float, exactly


def _mismatches(base: _Rerun, others: list[_Rerun]) -> list[Mismatch]:
    """The keys where another run's value is not ``base``'s, params first."""
    out: list[Mismatch] = []
    outcomes = [base.outcome, *(r.outcome for r in others)]
    if any(o != outcomes[0] for o in outcomes[1:]):
        shown = [*outcomes, None]
        out.append(
            Mismatch(
                kind="outcome", key="status", original=shown[0], rerun=shown[1], second=shown[2]
            )
        )
    for kind in ("param", "metric"):
        before = base.params if kind == "param" else base.metrics
        after = [r.params if kind == "param" else r.metrics for r in others]
        for key in sorted(set(before).union(*after)):
            values = [before.get(key), *(a.get(key) for a in after)]
            if all(_same(values[0], v) for v in values[1:]):
                continue
            # a param whose text is the same but whose type is not shows its type
            texts = {v[0] for v in values if isinstance(v, tuple)}
            typed = len(texts) == 1 and len({v for v in values if v is not None}) > 1
            shown = [_shown(v, typed) for v in values] + [None]
            out.append(
                Mismatch(
                    kind="param" if kind == "param" else "metric",
                    key=key,
                    original=shown[0],
                    rerun=shown[1],
                    second=shown[2],
                )
            )
    return out


def _verdict(original: _Rerun, run_id: str, runs: list[_Rerun], seconds: float) -> Verdict:
    error = next((r.error for r in runs if r.error is not None), None)
    first = runs[0]
    if error is None:
        wrong = _mismatches(original, [first])
        metrics, params = (
            set(original.metrics) | set(first.metrics),
            set(original.params) | set(first.params),
        )
        varying = [m["key"] for m in _mismatches(first, runs[1:])] if len(runs) > 1 else []
    else:
        wrong, varying = [], []
        metrics, params = set(original.metrics), set(original.params)
    outcome: VerifyOutcome
    if error is not None:
        outcome = "failed"
    elif not wrong:
        outcome = "reproduced"
    elif varying:
        outcome = "not deterministic"
    else:
        outcome = "not reproduced"
    verdict = Verdict(
        outcome=outcome,
        summary="",
        run_id=run_id,
        reruns=len(runs),
        metrics_identical=0 if error else len(metrics) - sum(m["kind"] == "metric" for m in wrong),
        metrics=len(metrics),
        params_identical=0 if error else len(params) - sum(m["kind"] == "param" for m in wrong),
        params=len(params),
        mismatches=_mismatches(original, runs) if wrong else [],
        original_outcome=original.outcome,
        varying=varying,
        error=error,
        python=sys.executable,
        seconds=round(seconds, 1),
        verified_at=now_ms(),
    )
    verdict["summary"] = _summary(verdict)
    return verdict


def _summary(v: Verdict) -> str:
    if v["outcome"] == "failed":
        return f"failed: {(v['error'] or '').splitlines()[0]}"
    metrics = "metric" if v["metrics"] == 1 else "metrics"
    params = "param" if v["params"] == 1 else "params"
    counts = (
        f"{v['metrics_identical']}/{v['metrics']} {metrics} identical, "
        f"{v['params_identical']}/{v['params']} {params}"
    )
    if v["outcome"] == "not deterministic":
        return (
            f"not deterministic: two re-runs gave different values of "
            f"{', '.join(v['varying'])} ({counts} as in the original)"
        )
    ended = (
        "" if v["original_outcome"] == "FINISHED" else f"{v['original_outcome']} as the original, "
    )
    return f"{v['outcome']}: {ended}{counts}"


def mismatch_rows(verdict: Verdict) -> tuple[list[str], list[list[str | None]]]:
    """The table of what differs: a header and one row per param or metric (None: missing)."""
    header = ["", "original", "re-run"] + ["re-run 2"] * (verdict["reruns"] > 1)
    rows = [
        [f"{m['kind']} {m['key']}", m["original"], m["rerun"]]
        + ([m["second"]] if verdict["reruns"] > 1 else [])
        for m in verdict["mismatches"]
    ]
    return header, rows


def verdict_text(verdict: Verdict) -> str:
    """The verdict for a terminal or a notebook: the one line, then the table of what differs
    (or the end of the script's output when it failed)."""
    lines = [f"verify: {verdict['summary']}"]
    if verdict["mismatches"]:
        header, rows = mismatch_rows(verdict)
        table = [[terminal_cell(c if c is not None else "(none)") for c in r] for r in rows]
        lines += ["  " + line for line in text_table(header, table).splitlines()]
    if verdict["outcome"] == "failed" and verdict["error"]:
        lines += ["  " + line for line in verdict["error"].splitlines()[1:]]
    return "\n".join(lines)
