"""What people read in an export: README.md and the one-run notebook run.ipynb.

User strings (names, params, tags, metric keys, paths, warnings) reach Markdown through ``md``:
on one line, every Markdown and HTML mark backslash-escaped, so they cannot inject HTML or
links or break a table, and read as the text itself.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from ..model import RunDetail, Verdict
from ._code import MANIFEST, SCRIPT, Script, one_line
from ._project import slug
from ._verify import mismatch_rows

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+!|~<>&-])")


def md(value: object) -> str:
    """User text as inline Markdown that shows as the text itself: one line, every Markdown
    mark (links, emphasis, code, headings, table pipes, HTML's ``<`` and ``&``)
    backslash-escaped: no HTML entities, which plain-text readers would show as such."""
    from ..render.formats import fmt_number

    text = fmt_number(value) if isinstance(value, float) else str(value)
    return _MARKDOWN.sub(r"\\\1", one_line(text))


def _time(ms: int | None) -> str:
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    if not rows:
        return []
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(row) + " |" for row in rows),
        "",
    ]


def origin_lines(detail: RunDetail) -> list[str]:
    """Where the run came from, as Markdown bullet points."""
    capture = detail.get("capture") or {}
    out = [
        f"- run `{detail['run_id']}` **{md(detail['name'])}**, experiment "
        f"{md(detail['experiment'])}, status {detail['status']}",
        f"- started {_time(detail['start_time'])}"
        + (f", ended {_time(detail['end_time'])}" if detail.get("end_time") else ""),
    ]
    if detail.get("notebook"):
        out.append(f"- notebook {md(detail['notebook'])}")
    if capture.get("execution_count") is not None:
        out.append(f"- cell In [{capture['execution_count']}]: {md(capture.get('magic_line', ''))}")
    git = capture.get("git") or {}
    if git.get("commit"):
        dirty = " (uncommitted changes: run.json, capture.git.diff)" * bool(git.get("dirty"))
        out.append(f"- git commit {md(git['commit'])}{dirty}")
    return out


def params_table(script: Script) -> list[str]:
    """Params with the option that sets each."""
    return _table(
        ["param", "option", "logged value", "type"],
        [[md(o.key), f"--{o.name}", md(o.text), o.kind] for o in script.options],
    )


def metrics_table(detail: RunDetail, files: dict[str, str] | None = None) -> list[str]:
    """Final value, step, min, max (and the history file, given ``files``) of each metric."""
    rows = [
        [md(key), md(s["last"]), str(s["step"]), md(s["min"]), md(s["max"]), str(s["count"])]
        + ([md(files.get(key, ""))] if files is not None else [])
        for key, s in detail["metric_summary"].items()
    ]
    header = ["metric", "last", "step", "min", "max", "points"]
    return _table(header + ["history"] * (files is not None), rows)


def verification(verdict: Verdict) -> list[str]:
    """The README's section on ``--verify``: the one line, then what differs (or, when the
    script failed, the end of its output as an indented code block)."""
    out = [
        "## Verification",
        "",
        f"`--verify` re-ran `python {SCRIPT}` in a fresh process ({md(verdict['python'])}) "
        f"against a scratch store on {_time(verdict['verified_at'])} "
        f"({verdict['reruns']} re-run{'s' * (verdict['reruns'] > 1)}, "
        f"{verdict['seconds']:.1f} s), and compared its params and final metrics with the "
        "run's:",
        "",
        f"**{md(verdict['summary'])}**",
        "",
    ]
    if verdict["outcome"] == "not deterministic":
        out += [
            "The code gives different results from one run to the next (an unseeded random "
            "generator, threads, the clock...): seed it to make the run reproducible.",
            "",
        ]
    header, rows = mismatch_rows(verdict)
    out += _table(header, [[md(c) if c is not None else "(none)" for c in row] for row in rows])
    if verdict["outcome"] == "failed" and verdict["error"]:
        out += ["    " + line for line in verdict["error"].splitlines()[1:]] + [""]
    return out


def readme(
    detail: RunDetail,
    script: Script,
    metric_files: dict[str, str],
    artifacts: list,
    notes: list,
    verdict: Verdict | None = None,
) -> str:
    """README.md: what the run was and how to re-run it (and, verified, what that found)."""
    opts = [] if script.starts_own_run else script.options
    example = next((o for o in opts if o.numeric), opts[0] if opts else None)
    python_example = f"python {SCRIPT}"
    mlflow_example = "mlflow run . --env-manager local"
    if example is not None:
        from ._code import _example_value

        value = _example_value(example)
        python_example += f" --{example.name} {value}"
        mlflow_example = f"mlflow run . -P {example.name}={value} --env-manager local"
    out = [f"# {md(detail['name'])}", "", "Exported from jupyter-tracker:", ""]
    out += origin_lines(detail)
    out += [
        "",
        "## Re-run it",
        "",
        "```",
        "pip install -r requirements.txt   # in a fresh environment",
        python_example,
        mlflow_example,
        "```",
        "",
    ]
    if script.starts_own_run:
        out += [
            f"The script starts its own run with `start_run`, so `{SCRIPT}` is the script "
            "as it ran: it takes no options (its params are in `params.yaml`), and its "
            "re-runs are not tagged with this run as their origin.",
            "",
        ]
    else:
        out += [
            f"Every option of `{SCRIPT}` (`python {SCRIPT} --help`) defaults to the value the "
            "run logged. With jupyter-tracker installed, a re-run is logged as a new run with "
            f"the params it was given, tagged `jupyter_tracker.origin` = `{detail['run_id']}`, "
            f"in the store the run came from (its path is in `{MANIFEST}`) when that store is "
            "reachable, else in a local store, `.jupyter_tracker/` in this folder; "
            "`$JUPYTER_TRACKER_STORE` overrides both, and the re-run says where in one line. "
            "Without jupyter-tracker the code runs the same and its `jupyter_tracker` calls do "
            "nothing. `mlflow run` passes `-P` values to the same options (see `MLproject`).",
            "",
        ]
    if script.kind == "cell":
        out += [
            f"`{SCRIPT}` holds the statements of earlier cells the run's cell needed (its "
            "dependency slice, in the order they ran: what defined or changed the names it "
            "read, never an earlier run's training or logging), then the run's own and "
            "inherited params from the command line, applied last, then the cell without its "
            "`%%track_run` line; `run.ipynb` holds the same code as a notebook.",
            "",
        ]
    if verdict is not None:
        out += verification(verdict)
    if opts or script.options:
        out += ["## Params", ""] + params_table(script)
    if detail["metric_summary"]:
        out += ["## Metrics", "", "Final values in `metrics.json`; every point in the CSVs.", ""]
        out += metrics_table(detail, metric_files)
    if artifacts:
        out += ["## Artifacts", ""]
        out += [f"- `artifacts/{md(a['path'])}` ({a['size']:,} bytes)" for a in artifacts]
        out.append("")
    out += [
        "## Files",
        "",
        f"- `{SCRIPT}`: the code, params as command-line options",
        "- `MLproject`, `python_env.yaml`, `requirements.txt`: for `mlflow run` and pip",
        "- `params.yaml`: the params with their types; `metrics.json`: final metric values",
        "- `metrics/`: each metric's history (step, value, timestamp in ms)",
        "- `artifacts/`: the latest version of each artifact",
        "- `run.json`: everything stored about the run (capture, environment, git, history)",
        "- `run.ipynb`: the code as a notebook",
        "",
    ]
    limits = list(notes) + list(script.notes)
    warnings = (detail.get("capture") or {}).get("warnings") or []
    limits += [f"Hidden-state warning when the run was tracked: {w}" for w in warnings]
    if script.skipped:
        limits.append(
            "IPython-only lines skipped in the script (kept in run.ipynb): "
            + "; ".join(script.skipped)
        )
    if script.kind == "cell":
        limits.append(
            "The dependency slice holds the statements that defined or changed names the run "
            "read, and seeds of random generators; code run only for other effects (chdir, "
            "writing files, functions imported from modules that change their arguments) is "
            "not in it. The kernel's whole input history is in run.json (capture.history)."
        )
    elif script.kind == "none":
        limits.append("The run's code was not recorded; the script only sets up its params.")
    out += ["## Limits", ""] + [f"- {md(line)}" for line in limits] + [""]
    return "\n".join(out)


def notebook(detail: RunDetail, script: Script, version: str) -> dict:
    """run.ipynb: a header with params and metrics, the slice cells and the tracked cell."""
    import nbformat
    from nbformat import v4

    header = [f"# {md(detail['name'])}", "", *origin_lines(detail), ""]
    header += ["## Params", ""] + params_table(script)
    if detail["metric_summary"]:
        header += ["## Metrics", ""] + metrics_table(detail)
    cells = [v4.new_markdown_cell("\n".join(header).rstrip())]
    if script.kind == "cell":
        cells.append(v4.new_code_cell("%load_ext jupyter_tracker"))
        for cell in script.cells:
            code = v4.new_code_cell(cell["source"])
            code.metadata["jupyter_tracker"] = {"execution_count": cell["count"]}
            cells.append(code)
        magic_line, _, body = (detail["source"] or "").lstrip().partition("\n")
        if magic_line.startswith("%%track_sweep"):  # one run of a sweep: its own values
            values = {o.key: o.value for o in script.options}
            magic_line = "%%track_run " + " ".join(
                f"{key}={values[key]!r}" for key in script.variables
            )
        tag = f" --tag jupyter_tracker.origin='{detail['run_id']}'"
        tracked = v4.new_code_cell(f"{magic_line}{tag}\n{body}")
        tracked.metadata["jupyter_tracker"] = {
            "run_id": detail["run_id"],
            "execution_count": (detail.get("capture") or {}).get("execution_count"),
        }
        cells.append(tracked)
    elif script.kind == "script":
        cells.append(v4.new_markdown_cell("The script that ran, unchanged:"))
        cells.append(v4.new_code_cell(detail["source"]))
    nb = v4.new_notebook(cells=cells)
    environment = (detail.get("capture") or {}).get("environment") or {}
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    if environment.get("python"):
        nb.metadata["language_info"]["version"] = environment["python"]
    nb.metadata["jupyter_tracker"] = {
        "origin": detail["run_id"],
        "exported_by": version,
        "project": slug(detail["name"]),
    }
    nbformat.validate(nb)
    return nb
