"""Push: runs of the store copied into an MLflow tracking server, sending only what it lacks.

For each run (parents before children): the MLflow run is created once (tagged with the
local id, so a push that died before recording the answer finds it again), then params,
tags and metric points go in ``runs/log-batch`` requests within MLflow's limits, artifacts
(with the run's source, capture report and traceback) to its artifact root, and status,
end time and name last. The ledger (``store.sync``) records each confirmed request, so an
interrupted push resumes where it stopped and a second push sends nothing.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..model import RunDetail
from ..render.formats import plural
from ..store import Store, queries, sync
from ..store.sync import Link, ValueKey, digest
from . import mapping
from .artifacts import ArtifactRoot
from .progress import Progress
from .rest import Client, ServerRefusedError, metric_json

# MLflow's limits for one runs/log-batch request (mlflow/utils/validation.py).
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_ENTITIES_PER_BATCH = 1000
MAX_REQUEST_BYTES = 900_000  # under MLflow's 1 MB, with room for the JSON around the items
READ_CHUNK = 5000  # metric points read from the store at a time


@dataclass
class PushReport:
    """What a push did: runs sent (local id -> the server's id), what they carried, notes."""

    server: str
    remote_ids: dict[str, str] = field(default_factory=dict)
    unchanged: int = 0
    points: int = 0
    params: int = 0
    tags: int = 0
    artifacts: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line: how many runs went and what they carried."""
        if not self.remote_ids:
            return f"Nothing to push: {plural(self.unchanged, 'run')} already on {self.server}."
        sent = ", ".join(
            plural(n, what)
            for n, what in (
                (self.points, "metric point"),
                (self.params, "param"),
                (self.tags, "tag"),
                (self.artifacts, "artifact"),
            )
            if n
        )
        unchanged = f" ({plural(self.unchanged, 'run')} unchanged)" if self.unchanged else ""
        return (
            f"Pushed {plural(len(self.remote_ids), 'run')} to {self.server}"
            f"{': ' + sent if sent else ''}{unchanged}."
        )

    def __repr__(self) -> str:
        return f"<PushReport {self.summary()}>"


def push(
    store: Store,
    tracking_uri: str,
    run_ids: list[str] | None = None,
    experiment: str | None = None,
    *,
    progress: bool = True,
    client: Client | None = None,
) -> PushReport:
    """Copy runs (``run_ids``, or those of local ``experiment``, or all) and their ancestors
    into the MLflow server at ``tracking_uri``, each into the experiment of the same name;
    only what the server lacks is sent. A progress bar on stderr when ``progress``."""
    client = client or Client(tracking_uri)
    selection = sync.selected_runs(store, run_ids, experiment)
    todo = sync.stale_runs(store, client.uri, selection)
    report = PushReport(client.uri, unchanged=len(selection) - len(todo))
    if not todo:
        return report
    bar = Progress(
        f"push to {client.uri}",
        sync.unsent_points(store, client.uri, todo),
        "points",
        enabled=progress,
    )
    pusher = _Pusher(store, client, bar, report)
    try:
        for i, run_id in enumerate(todo, 1):
            bar.update(note=f"run {i}/{len(todo)}")
            pusher.push_run(run_id)
    finally:
        bar.close()
    return report


class _Pusher:
    """One push: the server, what it knows of experiments, and the report being filled."""

    def __init__(self, store: Store, client: Client, bar: Progress, report: PushReport) -> None:
        self.store, self.client, self.bar, self.report = store, client, bar, report
        self.server = client.uri
        self._experiments: dict[str, str] = {}  # local experiment name -> the server's id
        self._tagged: dict[str, dict[str, str]] = {}  # server experiment -> local id -> run

    def push_run(self, run_id: str, again: bool = True) -> None:
        """Send what the server lacks of one run; the ledger records each confirmed step."""
        state = sync.fingerprints(self.store, [run_id])[run_id]  # before reading the run
        detail = queries.run_detail(self.store, run_id)
        link, created = self._link(detail)
        try:
            self._send_data(detail, link)
            self._send_artifacts(detail, link)
            self._send_fields(detail, link)
        except ServerRefusedError as exc:
            if exc.code != "RESOURCE_DOES_NOT_EXIST" or created or not again:
                raise
            self.report.notes.append(
                f"Run {run_id[:8]} was gone from the server (deleted there); pushed anew."
            )
            sync.forget(self.store, run_id, self.server)
            return self.push_run(run_id, again=False)
        sync.record(self.store, run_id, self.server, local_state=state)
        assert link["remote_run_id"] is not None
        self.report.remote_ids[run_id] = link["remote_run_id"]

    # -- the remote run -------------------------------------------------------------------

    def _experiment(self, name: str) -> str:
        if name not in self._experiments:
            self._experiments[name] = self.client.experiment_id(name)
        return self._experiments[name]

    def _runs_tagged(self, experiment_id: str) -> dict[str, str]:
        """Runs of a server experiment that carry a local id (pushed before): local -> id."""
        if experiment_id not in self._tagged:
            found = {}
            for run in self.client.search_runs(
                [experiment_id], f"tags.`{mapping.TAG_RUN_ID}` LIKE '%'"
            ):
                for tag in run.get("data", {}).get("tags", []):
                    if tag["key"] == mapping.TAG_RUN_ID:
                        found[tag["value"]] = run["info"]["run_id"]
            self._tagged[experiment_id] = found
        return self._tagged[experiment_id]

    def _link(self, detail: RunDetail) -> tuple[Link, bool]:
        """The ledger's link of the run to its run on the server, creating that run if the
        server has none (found by its tag otherwise); whether it was created now."""
        run_id = detail["run_id"]
        link = sync.link(self.store, run_id, self.server)
        if link is not None and link["remote_run_id"] is not None:
            return link, False
        experiment_id = self._experiment(detail["experiment"])
        remote_id = self._runs_tagged(experiment_id).get(run_id)
        sync.claim(self.store, run_id, self.server, experiment_id)
        created = remote_id is None
        if remote_id is None:
            answer = self.client.call(
                "runs/create",
                {
                    "experiment_id": experiment_id,
                    "run_name": detail["name"],
                    "start_time": detail["start_time"],
                    "user_id": sync.all_tags(self.store, run_id).get("mlflow.user")
                    or mapping.user(),
                    "tags": [{"key": mapping.TAG_RUN_ID, "value": run_id}],
                },
            )
            remote_id = str(answer["run"]["info"]["run_id"])
        kept = sync.settle(self.store, run_id, self.server, remote_id)
        if created and kept != remote_id:  # another process created it first: keep theirs
            self.client.call("runs/delete", {"run_id": remote_id})
        link = sync.link(self.store, run_id, self.server)
        assert link is not None and link["remote_run_id"] is not None
        return link, created

    # -- params, tags and metrics -------------------------------------------------------

    def _send_data(self, detail: RunDetail, link: Link) -> None:
        run_id, have = detail["run_id"], link["values"]
        params: list[tuple[str, str]] = []
        for key, (text, _) in detail["typed_params"].items():
            known = have.get(("param", key))
            if known is None:
                params.append((key, text))
            elif known != digest(text):
                self.report.notes.append(
                    f"Param {key!r} of run {run_id[:8]} changed after it was pushed; MLflow "
                    "keeps a param's first value, so the server keeps the old one."
                )
        parent = detail["parent_id"]
        parent_remote = (
            sync.remote_ids(self.store, self.server, [parent]).get(parent) if parent else None
        )
        own_tags = sync.all_tags(self.store, run_id)
        tags = [
            (k, v)
            for k, v in mapping.remote_tags(detail, own_tags, parent_remote).items()
            if have.get(("tag", k)) != digest(v)
        ]
        sent = dict(link["series"])
        points = self._points(
            run_id,
            [
                (key, sent.get(key, 0), summary["count"])
                for key, summary in detail["metric_summary"].items()
                if summary["count"] > sent.get(key, 0)
            ],
        )
        for batch_params, batch_tags, metrics in _batches(params, tags, points):
            self.client.call(
                "runs/log-batch",
                {
                    "run_id": link["remote_run_id"],
                    "params": [{"key": k, "value": v} for k, v in batch_params],
                    "tags": [{"key": k, "value": v} for k, v in batch_tags],
                    "metrics": [
                        {"key": key, "value": metric_json(v), "timestamp": t, "step": step}
                        for key, (step, v, t) in metrics
                    ],
                },
            )
            for key, _ in metrics:
                sent[key] = sent.get(key, 0) + 1
            values: dict[ValueKey, str] = {("param", k): digest(v) for k, v in batch_params}
            values.update({("tag", k): digest(v) for k, v in batch_tags})
            sync.record(
                self.store,
                run_id,
                self.server,
                series={key: sent[key] for key in {key for key, _ in metrics}},
                values=values,
            )
            self.report.points += len(metrics)
            self.report.params += len(batch_params)
            self.report.tags += len(batch_tags)
            self.bar.update(len(metrics))

    def _points(
        self, run_id: str, todo: list[tuple[str, int, int]]
    ) -> Iterator[tuple[str, tuple[int, float, int]]]:
        """(key, point) of every point the server lacks, series by series in logging order."""
        for key, start, count in todo:
            while start < count:
                chunk = sync.points_from(self.store, run_id, key, start, READ_CHUNK)
                if not chunk:
                    break
                for point in chunk:
                    yield key, point
                start += len(chunk)

    # -- artifacts, then status, end time and name ----------------------------------------

    def _send_artifacts(self, detail: RunDetail, link: Link) -> None:
        have = link["values"]
        files: list[tuple[str, str, Any]] = [
            (a["path"], a["sha256"], lambda a=a: self.store.open_blob(a["sha256"], a["size"]))
            for a in detail["artifacts"]
            if a["path"] not in mapping.META_ARTIFACTS
        ]
        files += [
            (path, digest(data), lambda data=data: io.BytesIO(data))
            for path, data in mapping.meta_artifacts(detail).items()
        ]
        todo = [f for f in files if have.get(("artifact", f[0])) != f[1]]
        if not todo:
            return
        remote_id = link["remote_run_id"]
        info = self.client.call("runs/get", query={"run_id": remote_id})["run"]["info"]
        root = ArtifactRoot(self.client, info["artifact_uri"])
        for path, sha, open_data in todo:
            root.put(path, open_data)
            sync.record(self.store, detail["run_id"], self.server, values={("artifact", path): sha})
            self.report.artifacts += 1

    def _send_fields(self, detail: RunDetail, link: Link) -> None:
        status = mapping.remote_status(detail["status"])
        fields = {"status": status, "end_time": detail["end_time"], "name": detail["name"]}
        if (link["status"], link["end_time"], link["name"]) == tuple(fields.values()):
            return
        body: dict[str, Any] = {
            "run_id": link["remote_run_id"],
            "status": status,
            "run_name": detail["name"],
        }
        if detail["end_time"] is not None:
            body["end_time"] = detail["end_time"]
        self.client.call("runs/update", body)
        sync.record(self.store, detail["run_id"], self.server, fields=fields)


def _cost(key: str, value: str) -> int:
    return len(key.encode()) + len(value.encode()) + 32


def _batches(
    params: list[tuple[str, str]],
    tags: list[tuple[str, str]],
    points: Iterator[tuple[str, tuple[int, float, int]]],
) -> Iterator[tuple[list[tuple[str, str]], list[tuple[str, str]], list]]:
    """``runs/log-batch`` contents within MLflow's limits: at most 100 params, 100 tags and
    1,000 items in all, and under 1 MB."""
    params, tags = list(params), list(tags)
    waiting: tuple[str, tuple[int, float, int]] | None = None
    while True:
        budget = MAX_REQUEST_BYTES
        batch: list[list[tuple[str, str]]] = [[], []]
        for queue, out in ((params, batch[0]), (tags, batch[1])):
            while queue and len(out) < MAX_PARAMS_TAGS_PER_BATCH and _cost(*queue[0]) <= budget:
                budget -= _cost(*queue[0])
                out.append(queue.pop(0))
        metrics: list[tuple[str, tuple[int, float, int]]] = []
        room = MAX_ENTITIES_PER_BATCH - len(batch[0]) - len(batch[1])
        while len(metrics) < room:
            item = waiting if waiting is not None else next(points, None)
            waiting = None
            if item is None:
                break
            cost = len(item[0]) + 96
            if cost > budget:
                waiting = item
                break
            budget -= cost
            metrics.append(item)
        if not (batch[0] or batch[1] or metrics):
            return
        yield batch[0], batch[1], metrics
