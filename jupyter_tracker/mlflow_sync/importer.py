"""Import: MLflow runs brought into the store with params, metric histories, tags,
artifacts, parent links, status and times; each run in one transaction, recorded in the
ledger so that importing again adds only what is new (nothing, for runs that did not
change), and a run that was pushed from this store is never brought back as a copy.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .._artifacts import _media_type
from .._paths import safe_relative_path
from ..errors import InvalidInputError, TrackerError
from ..render.formats import plural
from ..store import Store, queries, sync
from ..store.sync import RemoteSide, RunCopy, ValueKey, digest
from ..values import param_text
from . import mapping
from .progress import Progress
from .sources import MAX_META_BYTES, Point, RemoteRun, Source, open_source

_RUN_ID = re.compile(r"[0-9a-f]{8,64}")


@dataclass
class ImportReport:
    """What an import did: runs brought in or grown (local ids), runs left as they were."""

    source: str
    imported: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    from_here: int = 0  # runs this store pushed there
    running: int = 0  # runs not ended yet, left for a later import
    points: int = 0
    artifacts: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line: what came in and what was left."""
        done = [
            plural(len(self.imported), "new run") if self.imported else "",
            f"{plural(len(self.updated), 'run')} grown" if self.updated else "",
        ]
        carried = ", ".join(
            plural(n, what)
            for n, what in ((self.points, "metric point"), (self.artifacts, "artifact"))
            if n
        )
        left = ", ".join(
            text
            for n, text in (
                (self.unchanged, f"{plural(self.unchanged, 'run')} unchanged"),
                (self.from_here, f"{plural(self.from_here, 'run')} pushed from this store"),
                (self.running, f"{plural(self.running, 'run')} still running, left for later"),
            )
            if n
        )
        head = " and ".join(filter(None, done))
        line = f"Imported {head} from {self.source}" if head else f"Nothing new in {self.source}"
        return line + (f": {carried}" if carried else "") + (f" ({left})." if left else ".")

    def __repr__(self) -> str:
        return f"<ImportReport {self.summary()}>"


def import_runs(
    store: Store, tracking_uri: str, experiment: str | None = None, *, progress: bool = True
) -> ImportReport:
    """Bring the runs of an MLflow server, ``sqlite:///`` database or ``mlruns`` folder (all
    experiments, or ``experiment``) into the store, each into the experiment of that name."""
    source = open_source(tracking_uri)
    try:
        experiments = dict(source.experiments())
        if experiment is not None:
            chosen = {i: n for i, n in experiments.items() if n == experiment}
            if not chosen:
                raise TrackerError(
                    f"No experiment {experiment!r} in {source.server}; it has "
                    f"{', '.join(repr(n) for n in experiments.values()) or 'none'}."
                )
            experiments = chosen
        runs = _parents_first(source.runs(experiments) if experiments else [])
        report = ImportReport(source.server)
        bar = Progress(f"import from {source.server}", len(runs), "runs", enabled=progress)
        try:
            for run in runs:
                _Importer(store, source, report).import_run(run)
                bar.update(1)
        finally:
            bar.close()
        report.notes += source.notes
        return report
    finally:
        source.close()


def _parents_first(runs: list[RemoteRun]) -> list[RemoteRun]:
    by_id = {r.run_id: r for r in runs}

    def depth(run: RemoteRun) -> int:
        seen = {run.run_id}
        parent = run.tags.get(mapping.PARENT_TAG)
        while parent in by_id and parent not in seen:
            seen.add(parent)
            parent = by_id[parent].tags.get(mapping.PARENT_TAG)
        return len(seen)

    return sorted(runs, key=lambda r: (depth(r), r.start_time, r.run_id))


def stored_param(text: str, kind: str | None) -> tuple[str, str, float | None]:
    """A param as the store keeps it, from MLflow's text and (for runs pushed from a
    jupyter-tracker store) its Python type."""
    stored = param_text(text)
    if kind is None or kind == "str":
        return stored
    return text, kind, stored[2] if kind in ("int", "float") else None


class _Importer:
    def __init__(self, store: Store, source: Source, report: ImportReport) -> None:
        self.store, self.source, self.report = store, source, report
        self.server = source.server

    def import_run(self, run: RemoteRun) -> None:
        """Bring one run in (or what is new of it), or say why not."""
        if mapping.is_running(run.status):
            self.report.running += 1
            return
        state = run.state()
        fields = mapping.local_fields(run.status, run.tags)
        link = sync.link_of_remote(self.store, self.server, run.run_id)
        remote: RemoteSide = {
            "server": self.server,
            "remote_run_id": run.run_id,
            "remote_experiment_id": run.experiment_id,
            "remote_state": state,
            "status": run.status,
            "end_time": run.end_time,
            "name": run.name,
            "values": {},
        }
        if link is not None and link["origin"] == "push":
            self.report.from_here += 1
            return
        if link is not None and link["remote_state"] == state:
            self.report.unchanged += 1
            return
        if link is None and fields["run_id"] and sync.run_exists(self.store, fields["run_id"]):
            sync.link_pushed_run(self.store, fields["run_id"], remote)  # its ledger was lost
            self.report.from_here += 1
            return
        local_id = link["run_id"] if link is not None else self._new_id(run, fields["run_id"])
        copy = self._copy(run, local_id, fields, remote["values"], grown=link is not None)
        sync.import_run(self.store, copy, remote)
        (self.report.updated if link is not None else self.report.imported).append(local_id)

    def _new_id(self, run: RemoteRun, pushed_as: str | None) -> str:
        for candidate in filter(None, (pushed_as, run.run_id)):
            if _RUN_ID.fullmatch(candidate) and not sync.run_exists(self.store, candidate):
                return candidate
        return os.urandom(16).hex()

    def _copy(
        self,
        run: RemoteRun,
        run_id: str,
        fields: mapping.LocalFields,
        values: dict[ValueKey, str],
        grown: bool,
    ) -> RunCopy:
        """The run in the store's terms (for a run imported before, only what is new);
        ``values`` gets the digest of each param, tag and artifact the server holds."""
        tags = dict(fields["tags"])
        parent_remote = fields["parent_remote_id"]
        parent = (
            sync.local_ids(self.store, self.server, [parent_remote]).get(parent_remote)
            if parent_remote
            else None
        )
        if mapping.PARENT_TAG in tags and parent is not None:
            tags[mapping.PARENT_TAG] = parent
        params = {}
        for key, text in run.params.items():
            values[("param", key)] = digest(text)
            try:
                params[key] = stored_param(text, fields["param_types"].get(key))
            except InvalidInputError as exc:
                self.report.notes.append(f"Run {run.run_id[:8]}: param {key!r} left out ({exc}).")
        values.update({("tag", k): digest(v) for k, v in run.tags.items()})
        points = {key: self._new_points(run, run_id, key, grown) for key in run.metrics}
        self.report.points += sum(len(p) for p in points.values())
        meta, artifacts = self._artifacts(run, run_id, values, grown)
        return {
            "run_id": run_id,
            "experiment": run.experiment,
            "name": run.name or run_id[:8],
            "status": fields["status"],
            "start_time": run.start_time,
            "end_time": run.end_time,
            "parent_id": parent,
            "notebook": fields["notebook"],
            "cell_id": fields["cell_id"],
            "rerun_of": fields["rerun_of"],
            "source": meta["source"],
            "capture": meta["capture"],
            "error": meta["error"],
            "params": params,
            "tags": tags,
            "points": points,
            "artifacts": artifacts,
        }

    def _new_points(self, run: RemoteRun, run_id: str, key: str, grown: bool) -> list[Point]:
        """The points of a metric the store lacks (all of them for a new run)."""
        points = self.source.history(run, key)
        if not grown:
            return points
        steps, values, times = queries.metric_points(self.store, run_id, key)
        have = Counter(_same(p) for p in zip(steps, values, times, strict=True))
        new = []
        for point in points:
            if have[_same(point)]:
                have[_same(point)] -= 1
            else:
                new.append(point)
        return new

    def _artifacts(
        self, run: RemoteRun, run_id: str, values: dict[ValueKey, str], grown: bool
    ) -> tuple[dict, list[tuple[str, str, int, str]]]:
        """The run's own files read back, and the artifacts to add as (path, sha256, size,
        media type): each file stored as a blob first (an unused blob is collected by gc)."""
        meta_files: dict[str, bytes] = {}
        added = []
        for path, size in self.source.artifact_files(run):
            try:
                name = safe_relative_path(path)
            except InvalidInputError as exc:
                self.report.notes.append(f"Run {run.run_id[:8]}: artifact left out ({exc}).")
                continue
            self.store.blob_dir.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=self.store.blob_dir, suffix=".import.tmp")
            try:
                with os.fdopen(fd, "w+b") as tmp:
                    self.source.fetch(run, path, tmp)
                    if name in mapping.META_ARTIFACTS and size <= MAX_META_BYTES:
                        tmp.seek(0)
                        meta_files[name] = tmp.read()
                if name in meta_files:
                    values[("artifact", name)] = digest(meta_files[name])
                    continue
                sha, stored = self.store.put_blob_file(Path(tmp_name))
            finally:
                os.unlink(tmp_name)
            values[("artifact", name)] = sha
            latest = queries.artifact_version(self.store, run_id, name) if grown else None
            if latest is None or latest["sha256"] != sha:
                added.append((name, sha, stored, _media_type(name)))
                self.report.artifacts += 1
        return mapping.read_meta_artifacts(meta_files), added


def _same(point: tuple[int, float, int]) -> tuple[int, object, int]:
    step, value, time = point
    return step, ("nan" if value != value else value), time
