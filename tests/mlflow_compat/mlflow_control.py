"""MLflow as the control: running an MLflow snippet on MLflow (in its own venv) and on
jupyter-tracker, each in a fresh process and store, MLflow's results cached by version and
snippet; and asking MLflow's interpreter for its signatures and docstring examples."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def mlflow_side(python: Path, command: str, names: list[str]) -> dict:
    """What ``mlflow_side.py`` prints for ``command`` and ``names``."""
    result = subprocess.run(
        [str(python), str(HERE / "mlflow_side.py"), command, *names],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(result.stdout)


def run_sides(
    python: Path, side: str, snippets: dict[str, str], folder: Path, template: Path | None
) -> dict[str, dict]:
    """Run each snippet with ``side``'s ``mlflow`` (one process importing it, forked per
    snippet), each in a fresh folder and store under ``folder``; what each stored, by id
    (see ``run_snippet.py``)."""
    works = {}
    for i, code in snippets.items():
        work = works[i] = folder / hashlib.sha256(i.encode()).hexdigest()[:12]
        work.mkdir(parents=True)
        (work / "snippet.py").write_text(code)
        if template is not None:
            shutil.copy(template, work / "mlflow.db")  # MLflow's schema, made once
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "JUPYTER_TRACKER_"))}
    proc = subprocess.run(
        [str(python), str(HERE / "run_snippet.py"), side, *map(str, works.values())],
        env=env,
        capture_output=True,
        text=True,
        timeout=3000,
    )
    results = {}
    for i, work in works.items():
        out, err = work / "out.json", work / "stderr.txt"
        stderr = err.read_text()[-3000:] if err.exists() else proc.stderr[-3000:]
        if out.exists():
            results[i] = {**json.loads(out.read_text()), "stderr": stderr}
        else:  # the comparison fails, showing why
            results[i] = {"outcome": "not run", "error": None, "stderr": stderr}
    return results


class Control:
    """MLflow's results of snippets, cached by MLflow's version and the snippet's text (a
    snippet's result does not change between test runs)."""

    def __init__(self, python: Path, cache, folder: Path) -> None:
        self.python, self.cache, self.folder = python, cache, folder
        self.version = mlflow_side(python, "examples", [])["version"]
        self.template: Path | None = None

    def _key(self, code: str) -> str:
        digest = hashlib.sha256(code.encode()).hexdigest()[:16]
        return f"jupyter_tracker/mlflow_compat/{self.version}/{digest}"

    def _template(self) -> Path:
        if self.template is None:
            self.template = self.folder / "template" / "mlflow.db"
            self.template.parent.mkdir(parents=True)
            subprocess.run(
                [
                    str(self.python),
                    "-c",
                    "import mlflow, sys; mlflow.set_tracking_uri(sys.argv[1]); "
                    "mlflow.search_experiments()",
                    f"sqlite:///{self.template}",
                ],
                cwd=self.template.parent,  # the Default experiment's artifacts go there
                capture_output=True,
                timeout=600,
                check=True,
            )
        return self.template

    def results(self, snippets: dict[str, str]) -> dict[str, dict]:
        """MLflow's result of each snippet (by id)."""
        out = {i: self.cache.get(self._key(code), None) for i, code in snippets.items()}
        missing = {i: snippets[i] for i, result in out.items() if result is None}
        if missing:
            ran = run_sides(self.python, "mlflow", missing, self.folder / "runs", self._template())
            for i, result in ran.items():
                out[i] = result
                if result["outcome"] != "not run":
                    self.cache.set(self._key(snippets[i]), result)
        return out
