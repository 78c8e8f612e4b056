"""Export: a run back to a project directory that re-runs outside Jupyter.

``export_run(store, run_id, directory)`` writes, inside ``directory`` and nowhere else:
``train.py`` (the code; params as command-line options), ``MLproject`` and
``python_env.yaml`` (``mlflow run DIR -P alpha=0.7 --env-manager local``),
``requirements.txt``, ``params.yaml``, ``metrics.json``, ``metrics/<key>.csv``,
``artifacts/<name>`` (latest versions), ``run.json`` (the run as stored), ``run.ipynb`` and
``README.md``.

The directory must be new, empty, or an earlier export of the same run: then the files that
export wrote (listed in its ``run.json`` with their SHA-256) are replaced and any other file
is left alone, unless one of them changed since (or a file the export would write is not
one of them): then ``ExportEditedError`` names them before anything is written, and
``force=True`` keeps each aside as ``<name>.orig`` and goes on. ``run.json`` itself is the
export's record, rewritten every time. Every path written goes through ``_paths.confined``,
so a stored name that could escape the directory stops the export before anything is
written. ``verify=True`` then re-runs the export (``_verify``) and records the verdict in
``run.json`` and the README.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .._paths import confined, open_regular, safe_relative_path
from ..errors import ExportEditedError, InvalidInputError, TrackerError
from ..model import Artifact, MetricSummary, RunDetail, Verdict, json_ready
from ..store import Store, now_ms, queries
from . import _code, _project, _report, _verify
from ._code import MANIFEST
from ._verify import verdict_text

PROGRESS_AFTER_S = 1.0  # say what the export is doing once it has taken this long


class ExportDirectoryError(TrackerError):
    """The export directory is a file, or holds files that are not an export of this run."""

    def __init__(self, path: Path, run_id: str, what: str) -> None:
        self.path, self.run_id = path, run_id
        super().__init__(
            f"Cannot export run {run_id[:8]} to {path}: {what}. Give a new or empty directory "
            f"(an earlier export of the same run is re-exported in place)."
        )


@dataclass
class Export:
    """What ``export_run`` wrote: the directory, the files (relative paths) and notes."""

    path: Path
    run_id: str
    name: str
    files: list[str]
    rerun: str  # the command that re-runs it, e.g. ``python train.py --alpha 1.0``
    notes: list[str] = field(default_factory=list)
    replaced: bool = False  # an earlier export of the run was replaced
    verdict: Verdict | None = None  # with verify=True: what re-running it found

    def summary(self) -> str:
        """A few lines for a terminal or a notebook: where, what, how to re-run."""
        top = sorted({f.split("/")[0] for f in self.files})
        counts = {
            d: sum(f.startswith(d + "/") for f in self.files) for d in ("metrics", "artifacts")
        }
        shown = [
            f"{name}/ ({counts[name]} file{'s' * (counts[name] != 1)})" if name in counts else name
            for name in top
        ]
        lines = [
            f"{'Re-exported' if self.replaced else 'Exported'} run {self.name} "
            f"({self.run_id[:8]}) to {self.path}",
            "  " + ", ".join(shown),
            f"  re-run: cd {shlex.quote(str(self.path))} && {self.rerun}",
        ]
        lines += [f"  note: {note}" for note in self.notes]
        if self.verdict is not None:
            lines.append(verdict_text(self.verdict))
        return "\n".join(lines)


class _Progress:
    """Reports a phase only once the export has run for a while, then at most once a second."""

    def __init__(self, report: Callable[[str], None] | None) -> None:
        self.report = report
        self.last = time.monotonic()

    def __call__(self, text: str) -> None:
        now = time.monotonic()
        if self.report is not None and now - self.last >= PROGRESS_AFTER_S:
            self.report(f"export: {text}")
            self.last = now


def export_run(
    store: Store,
    run_id: str,
    directory: str | os.PathLike,
    progress: Callable[[str], None] | None = None,
    *,
    verify: bool = False,
    force: bool = False,
) -> Export:
    """Write run ``run_id`` (an id or a unique prefix) as a project into ``directory``.

    ``progress`` gets a short line per phase when the export takes long (big artifacts,
    long metric histories) and while ``verify`` re-runs it. Raises ``RunNotFoundError``,
    ``ExportDirectoryError`` (a non-empty directory that is not an earlier export of this
    run), ``ExportEditedError`` (files of the earlier export changed since; not with
    ``force``) or ``InvalidInputError`` (a stored name that would land outside the
    directory); nothing is written then.
    """
    from .._version import __version__

    say = _Progress(progress)
    store.flush()  # points this process logged are in the database before they are read
    full_id = store.resolve_run_id(run_id)
    detail = queries.run_detail(store, full_id)
    if _code.code_kind(detail) == "cell" and _is_sweep_parent(detail):
        raise TrackerError(
            f"Run {detail['name']} ({full_id[:8]}) is the parent of a %%track_sweep; export "
            f"one of its runs ({detail['name']}-1, {detail['name']}-2, ...) instead."
        )
    root = Path(directory).expanduser().absolute()
    previous = _previous_export(root, full_id)

    script = _code.build(detail, __version__)
    notes = []
    if detail["status"] == "RUNNING":
        notes.append("The run was still RUNNING: this export is a snapshot of it.")
    metric_files = _metric_files(detail["metric_summary"])
    artifacts, skipped = _artifact_plan(store, detail["artifacts"])
    notes += skipped
    plain = {
        "train.py": script.text,
        "MLproject": _project.mlproject(
            detail["name"], [] if script.starts_own_run else script.options
        ),
        "python_env.yaml": _project.python_env((detail.get("capture") or {}).get("environment")),
        "requirements.txt": _project.requirements(
            _code.imported_modules(script.code), (detail.get("capture") or {}).get("environment")
        ),
        "params.yaml": _project.params_yaml(detail["name"], full_id, script.options),
        "metrics.json": json.dumps(
            json_ready(detail["metrics"]), indent=2, allow_nan=False, ensure_ascii=False
        )
        + "\n",
    }
    say("writing the notebook")
    notebook = _report.notebook(detail, script, __version__)
    plain["README.md"] = _report.readme(detail, script, metric_files, artifacts, notes)
    files = [
        *plain,
        "run.ipynb",
        *metric_files.values(),
        *(f"artifacts/{a['path']}" for a in artifacts),
    ]
    targets = {rel: confined(root, rel) for rel in [MANIFEST, *files]}  # all checked first
    changed = _changed(root, previous, files) if previous is not None else []
    if changed and not force:
        raise ExportEditedError(str(root), full_id, changed)
    kept = [f"{rel} changed since the last export: kept as {_keep(root, rel)}" for rel in changed]

    _clear(root, previous)
    root.mkdir(parents=True, exist_ok=True)
    record = json_ready(detail)
    record["typed_params"] = {
        k: {"value": v, "type": t} for k, (v, t) in detail["typed_params"].items()
    }
    written: dict[str, str | None] = dict.fromkeys(files)  # SHA-256 once written
    record["export"] = {
        "exported_at": now_ms(),
        "jupyter_tracker": __version__,
        "origin_store": str(store.path.absolute()),  # where re-runs log when it is reachable
        "files": written,  # a file the user changed since is not overwritten by a re-export
    }
    _write_record(targets[MANIFEST], record)  # first: an interrupted export is still known
    for rel, text in plain.items():
        written[rel] = _write(targets[rel], text)
    import nbformat

    written["run.ipynb"] = _write(targets["run.ipynb"], nbformat.writes(notebook))
    for i, (key, rel) in enumerate(metric_files.items(), 1):
        say(f"metric histories {i}/{len(metric_files)}")
        _write_history(store, full_id, key, targets[rel])
        written[rel] = _sha256(targets[rel])
    for i, artifact in enumerate(artifacts, 1):
        say(f"artifacts {i}/{len(artifacts)} ({artifact['size']:,} bytes: {artifact['path']})")
        rel = f"artifacts/{artifact['path']}"
        targets[rel].parent.mkdir(parents=True, exist_ok=True)
        with store.open_blob(artifact["sha256"], artifact["size"]) as src:
            written[rel] = _copy(src, targets[rel])
    _write_record(targets[MANIFEST], record)
    opts = [] if script.starts_own_run else script.options
    example = next((o for o in opts if o.numeric), opts[0] if opts else None)
    rerun = f"python {_code.SCRIPT}"
    if example is not None:
        rerun += f" --{example.name} {_code._example_value(example)}"
    done = Export(
        root,
        full_id,
        detail["name"],
        [MANIFEST, *files],
        rerun,
        kept + notes + script.notes,
        previous is not None,
    )
    if verify:
        done.verdict = _verify.verify(root, detail, progress)
        readme = _report.readme(detail, script, metric_files, artifacts, notes, done.verdict)
        written["README.md"] = _write(targets["README.md"], readme)
        record["export"]["verification"] = done.verdict
        _write_record(targets[MANIFEST], record)
    return done


def _is_sweep_parent(detail: RunDetail) -> bool:
    source = detail["source"] or ""
    marked = "jupyter_tracker.sweep_size" in detail["tags"] or "sweep_size" in detail["params"]
    return source.lstrip().startswith("%%track_sweep") and marked  # (a param in older stores)


def _previous_export(root: Path, run_id: str) -> dict[str, str | None] | None:
    """The files an earlier export of this run wrote into ``root`` with their SHA-256 (None:
    not recorded, the export was interrupted); None if ``root`` is new or empty."""
    if not root.exists():
        return None
    if not root.is_dir():
        raise ExportDirectoryError(root, run_id, "it is a file")
    if not any(root.iterdir()):
        return None
    try:
        record = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
        files = record["export"]["files"] if record.get("run_id") == run_id else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        files = None
    if isinstance(files, list):  # an export from before hashes were recorded
        files = dict.fromkeys(files)
    if not isinstance(files, dict):
        raise ExportDirectoryError(root, run_id, "it is not empty")
    return {
        rel: digest if isinstance(digest, str) else None
        for rel, digest in files.items()
        if isinstance(rel, str) and rel != MANIFEST
    }


def _changed(root: Path, previous: dict[str, str | None], files: list[str]) -> list[str]:
    """The files a re-export would overwrite or remove that are not as the earlier export
    wrote them: changed since (or no longer a regular file), or not written by it at all."""
    changed = []
    for rel in sorted(set(previous) | set(files)):
        try:
            path = confined(root, rel)
        except InvalidInputError:
            continue  # never touched: _clear skips it too
        if not os.path.lexists(path):
            continue
        if rel not in previous:
            changed.append(rel)  # the user's own file where the export now writes one
        elif previous[rel] is not None and _sha256(path) != previous[rel]:
            changed.append(rel)
    return changed


def _keep(root: Path, rel: str) -> str:
    """Move a changed file aside, to the first free ``<name>.orig`` (``.orig2``...)."""
    path = root / rel
    n = 1
    while os.path.lexists(aside := path.with_name(f"{path.name}.orig{n if n > 1 else ''}")):
        n += 1
    path.rename(aside)
    return aside.relative_to(root).as_posix()


def _sha256(path: Path) -> str | None:
    """The SHA-256 of a regular file's content; None for anything else (a link, a folder)."""
    digest = hashlib.sha256()
    try:
        with open_regular(path) as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    except (InvalidInputError, OSError):
        return None
    return digest.hexdigest()


def _copy(src, target: Path) -> str:
    """Copy a stream into ``target``; the SHA-256 of what was written."""
    digest = hashlib.sha256()
    with open(target, "wb") as dst:
        while chunk := src.read(1 << 20):
            digest.update(chunk)
            dst.write(chunk)
    return digest.hexdigest()


def _clear(root: Path, previous: dict[str, str | None] | None) -> None:
    """Remove what an earlier export wrote (never a path that leads outside ``root``)."""
    if not previous:
        return
    folders: set[Path] = set()
    for rel in previous:
        try:
            path = confined(root, rel)
        except InvalidInputError:
            continue
        if path.is_file() or path.is_symlink():
            path.unlink()
        folders.update(p for p in path.parents if p != root and root in p.parents)
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        if folder.is_dir() and not folder.is_symlink() and not any(folder.iterdir()):
            folder.rmdir()


def _write(target: Path, text: str) -> str:
    """Write ``text`` (ending with a newline); the SHA-256 of what was written."""
    data = (text if text.endswith("\n") else text + "\n").encode("utf-8")
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as f:
        f.write(data)
    return hashlib.sha256(data).hexdigest()


def _write_record(target: Path, record: dict) -> None:
    _write(target, json.dumps(json_ready(record), indent=2, allow_nan=False, ensure_ascii=False))


def _metric_files(summary: dict[str, MetricSummary]) -> dict[str, str]:
    """``metrics/<key>.csv`` per metric (``/`` in a key makes folders); keys that would not
    make a safe or distinct path get a flat name with a short hash."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for key in summary:
        try:
            rel = "metrics/" + safe_relative_path(f"{key}.csv")
            ok = rel == f"metrics/{key}.csv"
        except InvalidInputError:
            ok = False
        low = rel.lower() if ok else ""
        clash = ok and any(
            t == low or t.startswith(low + "/") or low.startswith(t + "/") for t in taken
        )
        if not ok or clash:
            flat = re.sub(r"[^A-Za-z0-9_.-]+", "_", key).strip("._") or "metric"
            rel = f"metrics/{flat}-{hashlib.sha256(key.encode()).hexdigest()[:8]}.csv"
        taken.add(rel.lower())
        out[key] = rel
    return out


def _artifact_plan(store: Store, artifacts: list[Artifact]) -> tuple[list[Artifact], list[str]]:
    """The artifacts to copy (names checked: a bad one raises) and notes on those left out."""
    for artifact in artifacts:
        if safe_relative_path(artifact["path"]) != artifact["path"]:
            raise InvalidInputError(
                f"Artifact name {artifact['path']!r} is not a normalised relative path; "
                "nothing was exported."
            )
    paths = {a["path"] for a in artifacts}
    keep, notes = [], []
    for artifact in artifacts:
        path = artifact["path"]
        if any(other.startswith(path + "/") for other in paths):
            notes.append(f"Artifact {path!r} not exported: other artifacts use it as a folder.")
        elif (problem := _blob_problem(store, artifact)) is not None:
            notes.append(f"Artifact {path!r} not exported: {problem}")
        else:
            keep.append(artifact)
    return keep, notes


def _blob_problem(store: Store, artifact: Artifact) -> str | None:
    """Why an artifact's content cannot be copied (missing, a link, a FIFO, altered), or None."""
    try:
        store.open_blob(artifact["sha256"], artifact["size"]).close()
    except FileNotFoundError:
        return "its content is missing from the store."
    except (InvalidInputError, OSError) as exc:
        return f"its content in the store is unusable ({exc})."
    return None


def _write_history(store: Store, run_id: str, key: str, target: Path) -> None:
    steps, values, times = queries.metric_points(store, run_id, key)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(("step", "value", "timestamp"))
        writer.writerows(zip(steps, values, times, strict=True))
