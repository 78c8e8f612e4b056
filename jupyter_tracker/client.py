"""``MlflowClient``: MLflow's low-level tracking client over a local store. Its methods take
MLflow's parameters (a run id first for run methods) and return MLflow's entities; a run a
method names need not be active, and this process need not have started it.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

from ._limits import MAX_EXPERIMENT_NAME_LENGTH, MAX_RUN_NAME_LENGTH
from .entities import Experiment, FileInfo, Metric, RunOperations, ViewType
from .errors import InvalidInputError, OutOfScopeError
from .run import Run
from .session import (
    SERVER_SCHEMES,
    Session,
    check_name,
    check_values,
    session,
    store_path_for_uri,
)
from .store import Store, queries
from .store import _maintenance as maintenance

SEARCH_MAX_RESULTS_DEFAULT = 1000


class PagedList(list):
    """A page of results; ``token`` asks for the next page (None: this is the last)."""

    def __init__(self, items: list[Any], token: str | None) -> None:
        super().__init__(items)
        self.token = token


def run_entity(store: Store, run_id: str) -> Run:
    """The stored run ``run_id`` (a full id or a unique prefix) as MLflow's ``Run``."""
    full_id = store.resolve_run_id(run_id)
    detail = queries.run_detail(store, full_id, system_tags=True)
    return Run(detail, deleted=detail["deleted"])


def experiment_entity(store: Store, experiment_id: str | int) -> Experiment:
    """The experiment with this id as MLflow's ``Experiment`` (a clear error if none)."""
    for record in queries.experiments(store):
        if str(record["id"]) == str(experiment_id):
            return Experiment.from_record(record, store.path.as_uri())
    raise InvalidInputError(f"No experiment with id {experiment_id!r} in {store.path}.")


def synchronous_result(run: Any, synchronous: bool | None) -> RunOperations | None:
    """What a log call returns: written before returning when ``synchronous`` is True, a
    ``RunOperations`` to wait on when it is False (else buffered, as always)."""
    if synchronous:
        run._writer.flush_waiting()
    return RunOperations(run) if synchronous is False else None


class MlflowClient:
    """MLflow's ``MlflowClient`` for a local store: ``tracking_uri`` as in
    ``set_tracking_uri`` (a folder, ``file:`` or ``sqlite:`` URI), default the store in use.

    The model registry is out of scope (``registry_uri`` must stay None); other MLflow
    methods not offered here raise ``OutOfScopeError``.
    """

    def __init__(
        self,
        tracking_uri: str | None = None,
        registry_uri: str | None = None,
        workspace_store_uri: str | None = None,
    ) -> None:
        if registry_uri is not None:
            raise OutOfScopeError("MlflowClient(registry_uri=...)")
        if workspace_store_uri is not None:
            raise OutOfScopeError("MlflowClient(workspace_store_uri=...)")
        self._session: Session = session()
        if tracking_uri is None or (
            tracking_uri == self._session.tracking_uri and tracking_uri.startswith(SERVER_SCHEMES)
        ):
            self._store = self._session.current_store()
        elif str(tracking_uri).startswith(SERVER_SCHEMES):
            raise InvalidInputError(
                f"jupyter-tracker's MlflowClient reads local stores, not {tracking_uri!r}. "
                "MLflow's own client reads a server; `jupyter-tracker push --to mlflow "
                f"--tracking-uri {tracking_uri}` copies runs there."
            )
        else:
            self._store = self._session.open_store(store_path_for_uri(tracking_uri))
        self.tracking_uri = tracking_uri or self._session.tracking_uri or self._store.path.as_uri()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        raise OutOfScopeError(f"MlflowClient.{name}")

    # -- experiments ------------------------------------------------------------------------

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, Any] | None = None
    ) -> str:
        """Create experiment ``name``; its id. An existing name is a clear error.
        ``artifact_location`` is accepted and not used (artifacts live in the store);
        experiment tags are not kept, so ``tags`` is refused."""
        check_name(name, "Experiment name", MAX_EXPERIMENT_NAME_LENGTH)
        if tags:
            raise InvalidInputError(
                "jupyter-tracker keeps no experiment tags; tag the runs instead "
                f"(tags={dict(tags)!r} was not kept, and no experiment was created)."
            )
        found = self._store.experiment_id(name, create=False)
        if found is not None:
            raise InvalidInputError(f"Experiment {name!r} already exists (id {found}).")
        return str(self._session.experiment_id(self._store, name))

    def get_experiment(self, experiment_id: str) -> Experiment:
        """The experiment with this id (a clear error if there is none)."""
        return experiment_entity(self._store, experiment_id)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """The experiment named ``name``, or None."""
        found = self._store.experiment_id(name, create=False)
        return None if found is None else experiment_entity(self._store, found)

    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int | None = SEARCH_MAX_RESULTS_DEFAULT,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
        page_token: Any = None,
    ) -> PagedList:
        """Experiments, newest first: ``filter_string`` compares ``name``, ``experiment_id``
        or ``creation_time`` (``=, !=, <, <=, >, >=, LIKE, ILIKE``, joined by ``AND``);
        ``order_by`` on the same fields. Experiments are never deleted here, so
        ``ViewType.DELETED_ONLY`` finds none."""
        everything = [
            Experiment.from_record(r, self._store.path.as_uri())
            for r in queries.experiments(self._store)
        ]
        found = [] if ViewType.checked(view_type) == ViewType.DELETED_ONLY else everything
        found = _ordered(_matching(found, filter_string), order_by)
        start = int(page_token or 0)
        end = len(found) if max_results is None else start + int(max_results)
        return PagedList(found[start:end], str(end) if end < len(found) else None)

    # -- runs -------------------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str,
        start_time: int | None = None,
        tags: dict[str, Any] | None = None,
        run_name: str | None = None,
    ) -> Run:
        """A new RUNNING run in that experiment (not made active); end it with
        ``set_terminated``, or it ends with this process."""
        experiment = self._session.experiment_names([experiment_id], self._store)[0]
        if run_name is not None:
            check_name(run_name, "Run name", MAX_RUN_NAME_LENGTH)
        check_values(None, tags)
        run = self._session.create(self._store, experiment, run_name, start_ms=start_time)
        for key, value in (tags or {}).items():
            run.set_tag(key, value)
        return self.get_run(run.id)

    def get_run(self, run_id: str) -> Run:
        """The run ``run_id`` as stored now."""
        return run_entity(self._store, run_id)

    def get_parent_run(self, run_id: str) -> Run | None:
        """The parent of run ``run_id``, or None."""
        parent = self.get_run(run_id).parent_id
        return None if parent is None else self.get_run(parent)

    def log_param(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> Any:
        """Log one param of run ``run_id``; returns ``value``."""
        with self._session.logging_to(run_id, self._store) as run:
            run.log_param(key, value)
            synchronous_result(run, synchronous)
        return value

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        timestamp: int | None = None,
        step: int | None = None,
        synchronous: bool | None = None,
        dataset_name: str | None = None,
        dataset_digest: str | None = None,
        model_id: str | None = None,
    ) -> RunOperations | None:
        """Log one metric point of run ``run_id`` (without ``step``: the key's next step).
        The dataset a point was computed on is not kept; models are out of scope."""
        if model_id is not None:
            raise OutOfScopeError("log_metric(model_id=...)")
        with self._session.logging_to(run_id, self._store) as run:
            run.log_metric(key, value, step, timestamp)
            return synchronous_result(run, synchronous)

    def log_batch(
        self,
        run_id: str,
        metrics: Any = (),
        params: Any = (),
        tags: Any = (),
        synchronous: bool | None = None,
    ) -> RunOperations | None:
        """Log ``Metric``, ``Param`` and ``RunTag`` entities to run ``run_id`` (every key and
        value checked before any is written)."""
        check_values({p.key: p.value for p in params}, {t.key: t.value for t in tags})
        with self._session.logging_to(run_id, self._store) as run:
            for param in params:
                run.log_param(param.key, param.value)
            for tag in tags:
                run.set_tag(tag.key, tag.value)
            for metric in metrics:
                run.log_metric(metric.key, metric.value, metric.step, metric.timestamp)
            return synchronous_result(run, synchronous)

    def set_tag(
        self, run_id: str, key: str, value: Any, synchronous: bool | None = None
    ) -> RunOperations | None:
        """Set one tag of run ``run_id``."""
        with self._session.logging_to(run_id, self._store) as run:
            run.set_tag(key, value)
            return synchronous_result(run, synchronous)

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove one tag of run ``run_id``."""
        with self._session.logging_to(run_id, self._store) as run:
            run.delete_tag(key)

    def set_terminated(
        self, run_id: str, status: str | None = None, end_time: int | None = None
    ) -> None:
        """End run ``run_id`` with ``status`` (default FINISHED) at ``end_time`` (ms, default
        now); a run that has ended stays as it ended."""
        with self._session.logging_to(run_id, self._store) as run:
            run.end(status or "FINISHED", end_ms=end_time)

    def update_run(self, run_id: str, status: str | None = None, name: str | None = None) -> None:
        """Rename run ``run_id`` and/or end it with ``status``."""
        with self._session.logging_to(run_id, self._store) as run:
            if name is not None:
                run.rename(check_name(name, "Run name", MAX_RUN_NAME_LENGTH))
            if status is not None and status != "RUNNING":
                run.end(status)

    def delete_run(self, run_id: str) -> None:
        """Delete run ``run_id`` (soft: ``restore_run`` undoes it, ``jupyter-tracker gc``
        purges it). A run this process still writes is ended (KILLED) first."""
        full_id = self._store.resolve_run_id(run_id)
        live = self._session.writing(self._store, full_id)
        if live is not None and live.pid == os.getpid():
            live.end("KILLED")
        maintenance.delete_run(self._store, full_id)

    def restore_run(self, run_id: str) -> None:
        """Undo ``delete_run``."""
        maintenance.restore_runs(self._store, [run_id])

    def search_runs(
        self,
        experiment_ids: list[str],
        filter_string: str = "",
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        """Runs of these experiments (ids, or one id) matching ``filter_string`` (the
        ``search_runs`` language), newest first unless ``order_by`` says; ``page_token``
        asks for the next page."""
        ids = [experiment_ids] if isinstance(experiment_ids, (str, int)) else experiment_ids
        names = self._session.experiment_names(list(ids), self._store)
        start = int(page_token or 0)
        records = queries.records(
            self._store,
            filter_string or None,
            order_by,
            names,
            start,
            int(max_results) + 1,
            view=ViewType.view(run_view_type),
        )
        more = len(records) > max_results
        runs = [run_entity(self._store, r["run_id"]) for r in records[:max_results]]
        return PagedList(runs, str(start + max_results) if more else None)

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every point of metric ``key`` of run ``run_id``, in logging order."""
        full_id = self._store.resolve_run_id(run_id)
        steps, values, times = queries.metric_points(self._store, full_id, key)
        return [
            Metric(key, value, time, step, run_id=full_id)
            for step, value, time in zip(steps, values, times, strict=True)
        ]

    # -- artifacts --------------------------------------------------------------------------

    def log_artifact(self, run_id: str, local_path: Any, artifact_path: str | None = None) -> None:
        """Log the file (or folder) ``local_path`` under the folder ``artifact_path``."""
        with self._session.logging_to(run_id, self._store) as run:
            run.log_file(local_path, artifact_path)

    def log_artifacts(self, run_id: str, local_dir: str, artifact_path: str | None = None) -> None:
        """Log every file under ``local_dir`` under the folder ``artifact_path``."""
        with self._session.logging_to(run_id, self._store) as run:
            run.log_folder(local_dir, artifact_path)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        """Log ``text`` as the artifact ``artifact_file``."""
        with self._session.logging_to(run_id, self._store) as run:
            run.log_text(text, artifact_file)

    def log_dict(self, run_id: str, dictionary: dict[str, Any], artifact_file: str) -> None:
        """Log ``dictionary`` as JSON (YAML for ``.yaml``/``.yml``) under ``artifact_file``."""
        with self._session.logging_to(run_id, self._store) as run:
            run.log_dict(dictionary, artifact_file)

    def log_figure(
        self,
        run_id: str,
        figure: Any,
        artifact_file: str,
        *,
        save_kwargs: dict[str, Any] | None = None,
    ) -> None:
        """Log a matplotlib or Plotly figure under ``artifact_file``."""
        with self._session.logging_to(run_id, self._store) as run:
            run.log_figure(figure, artifact_file, save_kwargs)

    def log_image(
        self,
        run_id: str,
        image: Any,
        artifact_file: str | None = None,
        key: str | None = None,
        step: int | None = None,
        timestamp: int | None = None,
        synchronous: bool | None = None,
    ) -> None:
        """Log a numpy array or PIL image as ``artifact_file``, or as ``key`` at ``step``."""
        with self._session.logging_to(run_id, self._store) as run:
            run.log_image(image, artifact_file, key, step, timestamp)

    def log_table(self, run_id: str, data: Any, artifact_file: str) -> None:
        """Log a dict of columns or a DataFrame as the table ``artifact_file``."""
        with self._session.logging_to(run_id, self._store) as run:
            run.log_table(data, artifact_file)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        """The files and folders directly under ``path`` (default: the root) of a run's
        artifacts (latest versions)."""
        full_id = self._store.resolve_run_id(run_id)
        prefix = path.strip("/") + "/" if path and path.strip("/") else ""
        entries: dict[str, FileInfo] = {}
        for artifact in queries.artifacts(self._store, full_id):
            if not artifact["path"].startswith(prefix):
                continue
            head, sep, _ = artifact["path"][len(prefix) :].partition("/")
            if sep:
                entries.setdefault(head, FileInfo(prefix + head, True, None))
            else:
                entries[head] = FileInfo(artifact["path"], False, artifact["size"])
        return [entries[k] for k in sorted(entries)]

    def download_artifacts(self, run_id: str, path: str, dst_path: str | None = None) -> str:
        """Copy the artifact file or folder ``path`` of a run to ``dst_path`` (default: a new
        temporary folder); the local path of the copy."""
        from ._paths import confined, safe_relative_path

        full_id = self._store.resolve_run_id(run_id)
        wanted = safe_relative_path(path) if path.strip("/") else ""
        chosen = [
            a
            for a in queries.artifacts(self._store, full_id)
            if not wanted or a["path"] == wanted or a["path"].startswith(wanted + "/")
        ]
        if not chosen:
            raise InvalidInputError(f"Run {full_id[:8]} has no artifact {path!r}.")
        if dst_path is None:
            import tempfile

            dst_path = tempfile.mkdtemp(prefix="jupyter-tracker-artifacts-")
        base = Path(dst_path)
        for artifact in chosen:
            target = confined(base, artifact["path"])
            target.parent.mkdir(parents=True, exist_ok=True)
            with (
                self._store.open_blob(artifact["sha256"], artifact["size"]) as blob,
                open(target, "wb") as out,
            ):
                shutil.copyfileobj(blob, out)
        return str(base / wanted) if wanted else str(base)


# -- searching experiments: a few comparisons joined by AND, over a handful of rows ------------

_FIELDS = {
    "name": lambda e: e.name,
    "experiment_id": lambda e: int(e.experiment_id),
    "creation_time": lambda e: e.creation_time,
    "last_update_time": lambda e: e.last_update_time,
}
_COMPARISON = re.compile(
    r"\s*(?:attributes\.)?(?P<field>[\w.`\"]+)\s*(?P<op>!=|<>|<=|>=|=|<|>|\bI?LIKE\b)\s*"
    r"(?P<value>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|-?\d+)\s*(?:\bAND\b|$)",
    re.IGNORECASE,
)
_OPS = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<>": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _like(pattern: str, flags: int) -> re.Pattern[str]:
    parts = (".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), flags | re.DOTALL)


def _matching(experiments: list[Experiment], filter_string: str | None) -> list[Experiment]:
    """The experiments ``filter_string`` selects (``name LIKE 'a%' AND experiment_id > 2``)."""
    text = (filter_string or "").strip()
    position = 0
    while position < len(text):
        found = _COMPARISON.match(text, position)
        if found is None:
            raise InvalidInputError(
                f"Cannot read the experiment filter {text!r} at position {position}: compare "
                f"{', '.join(_FIELDS)} (=, !=, <, <=, >, >=, LIKE, ILIKE), joined by AND."
            )
        field, op, value = found["field"].strip('`"'), found["op"].upper(), found["value"]
        if field.lower().startswith("tags."):
            raise InvalidInputError("jupyter-tracker keeps no experiment tags to filter on.")
        if field.lower() not in _FIELDS:
            raise InvalidInputError(
                f"Experiments have no field {field!r}; use {', '.join(_FIELDS)}."
            )
        get = _FIELDS[field.lower()]
        wanted: Any = value[1:-1] if value[0] in "'\"" else int(value)
        if op in ("LIKE", "ILIKE"):
            pattern = _like(str(wanted), re.IGNORECASE if op == "ILIKE" else 0)
            experiments = [e for e in experiments if pattern.fullmatch(str(get(e)))]
        else:
            if field.lower() == "experiment_id":
                wanted = int(wanted)
            experiments = [e for e in experiments if _OPS[op](get(e), wanted)]
        position = found.end()
    return experiments


def _ordered(experiments: list[Experiment], order_by: list[str] | None) -> list[Experiment]:
    """``experiments`` sorted by ``order_by`` (``"name"``, ``"experiment_id DESC"``...),
    default newest first."""
    keys = order_by or ["creation_time DESC", "experiment_id DESC"]
    for clause in reversed(keys):
        field, _, direction = clause.strip().partition(" ")
        field = field.removeprefix("attributes.").lower()
        if field not in _FIELDS or direction.strip().upper() not in ("", "ASC", "DESC"):
            raise InvalidInputError(
                f"Cannot order experiments by {clause!r}; use {', '.join(_FIELDS)} [ASC|DESC]."
            )
        experiments = sorted(
            experiments, key=_FIELDS[field], reverse=direction.strip().upper() == "DESC"
        )
    return experiments
