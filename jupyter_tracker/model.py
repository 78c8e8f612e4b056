"""The declared data shapes: the one JSON contract of runs for REST, panels, export and CLI.

Records are plain dicts typed with ``TypedDict`` (they go to JSON as they are);
``labextension/src/tokens.ts`` mirrors these names and a test compares the two.
Statuses live here once; the frontends receive them rather than copy them.
"""

from __future__ import annotations

import math
from typing import Any, Literal, TypedDict

Status = Literal["RUNNING", "FINISHED", "FAILED", "KILLED", "CRASHED"]
STATUSES: tuple[Status, ...] = ("RUNNING", "FINISHED", "FAILED", "KILLED", "CRASHED")
FINAL_STATUSES: tuple[Status, ...] = ("FINISHED", "FAILED", "KILLED", "CRASHED")
# Where the REST API lives, under the Jupyter server's base URL (the server registers its
# routes there; the panels' download links point there).
API_PREFIX = "jupyter-tracker/api"

# The fields of a run record, in the order of the run table and ``search_runs``' columns.
RUN_COLUMNS = (
    "run_id",
    "name",
    "status",
    "experiment",
    "start_time",
    "end_time",
    "parent_id",
    "notebook",
    "cell_id",
    "rerun_of",
)


class RunRecord(TypedDict):
    """One run as listed (search, the run table, ``GET runs``): latest metrics, text params."""

    run_id: str
    name: str
    status: Status
    experiment: str
    start_time: int  # ms since the epoch
    end_time: int | None
    parent_id: str | None
    notebook: str | None
    cell_id: str | None
    rerun_of: str | None
    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]


class MetricSummary(TypedDict):
    """One metric of a run without reading its points."""

    last: float
    step: int
    count: int
    min: float
    max: float


class Artifact(TypedDict):
    """One version of an artifact path of a run."""

    path: str
    version: int
    sha256: str
    size: int
    media_type: str
    created_at: int


class ParamChange(TypedDict):
    """A param value replaced with ``overwrite=True``."""

    key: str
    value: str
    type: str
    replaced_at: int


class Location(TypedDict):
    """Where a tracked cell ran: the notebook path, the cell id, and how they were found."""

    notebook: str | None
    cell_id: str | None
    how: str | None


class Input(TypedDict):
    """A name a tracked cell read from the namespace: the cell that last defined it, and its
    value when it is a plain literal (numbers, text, bools, None, small lists/tuples/dicts of
    them); such a value is also an inherited param of the run (``param`` true)."""

    name: str
    execution_count: int | None  # the cell that defined it (None: not found in the history)
    cell_id: str | None
    value: str | None  # the literal's repr, or None when it is not a plain literal
    param: bool


class CaptureReport(TypedDict, total=False):
    """What a tracked cell captured (every part optional: older runs and scripts lack some)."""

    magic_line: str
    execution_count: int | None
    kernel_id: str | None
    location: Location
    environment: dict[str, Any]
    git: dict[str, Any]
    dependency_slice: dict[str, Any]
    history: list[str]
    inputs: list[Input]
    warnings: list[str]


class RunDetail(RunRecord):
    """Everything stored about one run (``get_run``, ``GET runs/{id}``, the detail, export)."""

    experiment_id: int
    error: str | None
    capture: CaptureReport | None
    source: str | None
    host: str | None
    pid: int | None
    deleted: bool  # soft-deleted: listed under "deleted", restorable until ``gc``
    typed_params: dict[str, tuple[str, str]]  # key -> (text, Python type name)
    param_history: list[ParamChange]
    metric_summary: dict[str, MetricSummary]
    artifacts: list[Artifact]


class Experiment(TypedDict):
    """An experiment with its number of (not deleted) runs."""

    id: int
    name: str
    created_at: int
    runs: int


class RunPage(TypedDict):
    """One page of runs (``GET runs``), with the statuses a run can have, for the frontends;
    ``next`` is the cursor of the page after it (``GET runs?after=``), None on the last."""

    runs: list[RunRecord]
    next: str | None
    limit: int
    statuses: list[Status]


class ExperimentList(TypedDict):
    """Every experiment (``GET experiments``)."""

    experiments: list[Experiment]


class RunState(TypedDict):
    """A run's lifecycle after ``DELETE runs/{id}`` or ``POST runs/{id}/restore``."""

    run_id: str
    name: str
    status: Status
    deleted: bool


class RunTags(TypedDict):
    """A run's tags after ``PUT runs/{id}/tags/{key}`` (MLflow's system tags left out)."""

    run_id: str
    tags: dict[str, str]


class MetricPoints(TypedDict):
    """``GET runs/{id}/metrics/{key}``: how many points the metric has, and at most the
    asked number of them (first, last and spikes kept); NaN/inf values are JSON text."""

    key: str
    count: int
    steps: list[int]
    values: list[float]
    times: list[int]


class CardState(TypedDict):
    """What a run card output's metadata says (under ``jupyter-tracker/run-card``): its run
    and status; a card whose status is not ``final`` may be out of date (its kernel died
    before the last update)."""

    run_id: str
    status: Status
    final: bool


class RunCardOutput(TypedDict):
    """A run card as a display output (what ``GET runs/{id}/card`` answers): its MIME bundle
    (``text/html``, ``text/plain``) and its metadata, a ``CardState``."""

    data: dict[str, str]
    metadata: dict[str, CardState]


class ExportResult(TypedDict):
    """What ``POST runs/{id}/export`` answers: the run, the folder written (relative to the
    server root) and its files (relative to the folder)."""

    run_id: str
    directory: str
    files: list[str]


# What ``export --verify`` concluded, best first: the re-run matched the original; it did not,
# the same way twice; two re-runs disagreed with each other; it could not run to the end.
VerifyOutcome = Literal["reproduced", "not reproduced", "not deterministic", "failed"]
VERIFY_OUTCOMES: tuple[VerifyOutcome, ...] = (
    "reproduced",
    "not reproduced",
    "not deterministic",
    "failed",
)


class Mismatch(TypedDict):
    """A param or final metric whose re-run value is not the original's (values as text,
    floats exact; None: that run has no such key)."""

    kind: Literal["param", "metric", "outcome"]  # outcome: the status (and exception type)
    key: str
    original: str | None
    rerun: str | None
    second: str | None  # the second re-run's value, when there was a second re-run


class Verdict(TypedDict):
    """What ``export --verify`` found: the export's script re-run in a fresh process against a
    scratch store, its params and final metrics (latest value per key, NaN equal to NaN)
    compared with the original run's; a re-run that differs is run once more to tell code
    that is not deterministic from code that does not reproduce the run."""

    outcome: VerifyOutcome
    summary: str  # the one line, e.g. "reproduced: 4/4 metrics identical, 3/3 params"
    run_id: str  # the original run
    reruns: int  # how many times the script ran (2 when the first re-run differed)
    metrics_identical: int
    metrics: int
    params_identical: int
    params: int
    mismatches: list[Mismatch]  # against the original
    original_outcome: str  # FINISHED, or e.g. "FAILED (FloatingPointError)": what reproduces
    varying: list[str]  # keys whose values differed between the two re-runs
    error: str | None  # why the script could not run to the end (outcome "failed")
    python: str  # the interpreter that ran it
    seconds: float
    verified_at: int  # ms since the epoch


def json_ready(value: Any) -> Any:
    """Records as JSON can carry them: NaN and infinities become the strings JavaScript
    prints for them (``"NaN"``, ``"Infinity"``, ``"-Infinity"``)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    return value
