"""Run MLflow snippets as written, then write what each stored as JSON; run by MLflow's own
interpreter (the control) and by ours, where ``mlflow`` is ``jupyter_tracker``
(``import mlflow`` and ``from mlflow.entities import ...`` get jupyter-tracker's modules).

    python run_snippet.py mlflow|jupyter_tracker FOLDER...

Each FOLDER holds ``snippet.py``; it runs there, in a process of its own forked from one
that imported ``mlflow`` once (a fresh interpreter state, without paying for the import
each time), with the store ``MLFLOW_TRACKING_URI`` names (``sqlite:///FOLDER/mlflow.db``),
its stderr in ``stderr.txt``. ``out.json`` gets what was stored, read back through that
side's own ``MlflowClient``: experiments, and per run its experiment, name, status,
lifecycle, params, metric histories, tags, and artifacts (small text files with their text).
"""

from __future__ import annotations

import json
import os
import runpy
import sys
import traceback
import warnings

warnings.simplefilter("ignore")
TEXT_SUFFIXES = {"txt", "json", "html", "yml", "yaml", "csv", ""}  # read back as text
TEXT_LIMIT = 20_000


def alias_mlflow() -> None:
    """``mlflow`` (and its tracking modules) are jupyter-tracker's."""
    import jupyter_tracker

    sys.modules["mlflow"] = jupyter_tracker
    for part in ("client", "entities", "tracking", "data"):
        sys.modules[f"mlflow.{part}"] = getattr(jupyter_tracker, part)


def outcome(exc: BaseException | None) -> str:
    """``ok``, a built-in exception's name (NameError...), or ``error`` (a library's own)."""
    if exc is None:
        return "ok"
    name = type(exc).__name__
    return name if type(exc).__module__ == "builtins" and name != "Exception" else "error"


def files(client, run_id: str, path: str | None = None) -> list:
    found = []
    for entry in client.list_artifacts(run_id, path):
        if entry.is_dir:
            found += files(client, run_id, entry.path)
        else:
            found.append(entry.path)
    return found


def text_of(client, run_id: str, path: str, folder: str) -> str | None:
    name = path.rsplit("/", 1)[-1]
    if (name.rsplit(".", 1)[-1] if "." in name else "") not in TEXT_SUFFIXES:
        return None
    local = client.download_artifacts(run_id, path, folder)
    if os.path.getsize(local) > TEXT_LIMIT:
        return None
    with open(local, encoding="utf-8", errors="replace") as f:
        return f.read()


def stored(mlflow, uri: str) -> dict:
    from mlflow.entities import ViewType

    mlflow.set_tracking_uri(uri)  # the snippet may have moved it elsewhere
    client = mlflow.MlflowClient()
    experiments = client.search_experiments(view_type=ViewType.ALL)
    names = {e.experiment_id: e.name for e in experiments}
    runs = client.search_runs(list(names), run_view_type=ViewType.ALL, max_results=1000)
    folder = os.path.abspath("_downloads")
    out = []
    for run in runs:
        run_id = run.info.run_id
        paths = sorted(files(client, run_id))
        out.append(
            {
                "id": run_id,
                "experiment": names[run.info.experiment_id],
                "name": run.info.run_name,
                "status": run.info.status,
                "lifecycle": run.info.lifecycle_stage,
                "params": run.data.params,
                "metrics": {
                    key: [[m.step, m.value] for m in client.get_metric_history(run_id, key)]
                    for key in run.data.metrics
                },
                "latest": run.data.metrics,
                "tags": run.data.tags,
                "artifacts": {
                    p: text_of(client, run_id, p, os.path.join(folder, run_id)) for p in paths
                },
            }
        )
    return {"experiments": sorted(names.values()), "runs": out}


def run(snippet: str, out_path: str, uri: str) -> None:
    import mlflow

    failure = None
    try:
        runpy.run_path(snippet, run_name="__main__")
    except BaseException as exc:  # the snippet's own failure is part of the result
        failure = exc
        traceback.print_exc()
    while mlflow.active_run() is not None:
        mlflow.end_run()
    result = {"outcome": outcome(failure), "error": None if failure is None else str(failure)}
    result.update(stored(mlflow, uri))
    with open(out_path, "w") as f:
        json.dump(result, f, default=str)


def main(side: str, *folders: str) -> None:
    if side == "jupyter_tracker":
        alias_mlflow()
    import mlflow  # noqa: F401  (imported once, before forking)

    for folder in folders:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.chdir(folder)
                uri = os.environ["MLFLOW_TRACKING_URI"] = (
                    f"sqlite:///{os.path.abspath('mlflow.db')}"
                )
                with open("stderr.txt", "w") as err:
                    os.dup2(err.fileno(), 2)
                run("snippet.py", "out.json", uri)
                code = 0
            except BaseException:  # reading the store back failed: say why
                traceback.print_exc()
            finally:
                sys.stderr.flush()
                os._exit(code)  # no exit handlers of the parent's
        os.waitpid(pid, 0)


if __name__ == "__main__":
    main(*sys.argv[1:])
