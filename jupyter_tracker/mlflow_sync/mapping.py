"""How a local run is written as an MLflow run, and read back: statuses, the tags that carry
what MLflow has no field for, ``mlflow.*`` system tags, and the run's own files.

Push writes with ``remote_tags``, ``remote_status`` and ``meta_artifacts``; import reads
with ``local_fields`` and ``read_meta_artifacts``. Both directions live here so that a run
pushed then imported comes back as it was.
"""

from __future__ import annotations

import getpass
import json
from typing import Any, TypedDict

from .._limits import MAX_TAG_VALUE_LENGTH
from ..model import CaptureReport, RunDetail

PREFIX = "jupyter_tracker."
TAG_RUN_ID = PREFIX + "run_id"  # the local id: an import into another store keeps it
TAG_STATUS = PREFIX + "status"  # CRASHED, which MLflow has not (the run is FAILED there)
TAG_PARAM_TYPES = PREFIX + "param_types"  # {key: Python type} of params that are not str
TAG_NOTEBOOK = PREFIX + "notebook"
TAG_CELL_ID = PREFIX + "cell_id"
TAG_RERUN_OF = PREFIX + "rerun_of"
TAG_ADDED = PREFIX + "added_tags"  # the tags push added, dropped again by import
TRANSPORT_TAGS = (
    TAG_RUN_ID,
    TAG_STATUS,
    TAG_PARAM_TYPES,
    TAG_NOTEBOOK,
    TAG_CELL_ID,
    TAG_RERUN_OF,
    TAG_ADDED,
)
PARENT_TAG = "mlflow.parentRunId"
RUN_NAME_TAG = "mlflow.runName"

# The run's own files, as artifacts of the MLflow run.
SOURCE_ARTIFACT = "jupyter_tracker/source.py"  # the cell or script that ran
CAPTURE_ARTIFACT = "jupyter_tracker/capture.json"  # the capture report
ERROR_ARTIFACT = "jupyter_tracker/error.txt"  # the traceback of a failed run
META_ARTIFACTS = (SOURCE_ARTIFACT, CAPTURE_ARTIFACT, ERROR_ARTIFACT)

# MLflow's statuses (its file store writes them as numbers).
MLFLOW_STATUSES = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}


def remote_status(status: str) -> str:
    """A local status as MLflow says it (CRASHED is FAILED, with ``TAG_STATUS``)."""
    return "FAILED" if status == "CRASHED" else status


def local_status(status: str, tags: dict[str, str]) -> str:
    """An MLflow status as the store says it."""
    if status == "FAILED" and tags.get(TAG_STATUS) == "CRASHED":
        return "CRASHED"
    return "RUNNING" if status == "SCHEDULED" else status


def is_running(status: str) -> bool:
    """Whether an MLflow run has not ended yet."""
    return status in ("RUNNING", "SCHEDULED")


def remote_tags(
    detail: RunDetail, own_tags: dict[str, str], parent_remote_id: str | None
) -> dict[str, str]:
    """Every tag the MLflow run gets: the run's own (``own_tags``, system tags included),
    what MLflow has no field for, and the ``mlflow.*`` system tags MLflow's client sets
    (unless the run has them already); the parent is named by its id on the server."""
    tags = dict(own_tags)
    had_parent_tag = tags.pop(PARENT_TAG, None) is not None  # a local id
    capture: CaptureReport = detail["capture"] or {}
    location: dict[str, Any] = dict(capture.get("location") or {})
    git: dict[str, Any] = dict(capture.get("git") or {})
    notebook = detail["notebook"] or location.get("notebook")
    added = {
        "mlflow.user": user(),
        "mlflow.source.type": "NOTEBOOK" if notebook or detail["cell_id"] else "LOCAL",
        "mlflow.source.name": notebook or "",
        "mlflow.source.git.commit": git.get("commit") or "",
        "mlflow.source.git.branch": git.get("branch") or "",
        RUN_NAME_TAG: detail["name"],
    }
    added = {k: v for k, v in added.items() if v and k not in tags}
    if parent_remote_id is not None:
        tags[PARENT_TAG] = parent_remote_id
        if not had_parent_tag:
            added[PARENT_TAG] = parent_remote_id
    tags.update(added)
    ours = {
        TAG_RUN_ID: detail["run_id"],
        TAG_STATUS: detail["status"] if detail["status"] == "CRASHED" else "",
        TAG_NOTEBOOK: detail["notebook"] or "",
        TAG_CELL_ID: detail["cell_id"] or "",
        TAG_RERUN_OF: detail["rerun_of"] or "",
        TAG_ADDED: ",".join(sorted(added)),
    }
    types = {k: t for k, (_, t) in detail["typed_params"].items() if t != "str"}
    if types:
        ours[TAG_PARAM_TYPES] = json.dumps(types, sort_keys=True, separators=(",", ":"))
    tags.update({k: v for k, v in ours.items() if v and len(v) <= MAX_TAG_VALUE_LENGTH})
    return tags


def user() -> str:
    """This process's user name, as MLflow's client records it (``mlflow.user``)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        return ""


class LocalFields(TypedDict):
    """What an MLflow run's tags say about the local run it is (or becomes)."""

    run_id: str | None  # the id it had in the store it was pushed from
    status: str
    tags: dict[str, str]  # the run's own tags (not those push added; the parent's remote id)
    parent_remote_id: str | None
    notebook: str | None
    cell_id: str | None
    rerun_of: str | None
    param_types: dict[str, str]


def local_fields(status: str, tags: dict[str, str]) -> LocalFields:
    """Read back what ``remote_tags`` and ``remote_status`` wrote (any MLflow run reads too)."""
    added = set(filter(None, tags.get(TAG_ADDED, "").split(",")))
    try:
        types = json.loads(tags.get(TAG_PARAM_TYPES) or "{}")
    except ValueError:
        types = {}
    return {
        "run_id": tags.get(TAG_RUN_ID),
        "status": local_status(status, tags),
        "tags": {k: v for k, v in tags.items() if k not in TRANSPORT_TAGS and k not in added},
        "parent_remote_id": tags.get(PARENT_TAG),
        "notebook": tags.get(TAG_NOTEBOOK),
        "cell_id": tags.get(TAG_CELL_ID),
        "rerun_of": tags.get(TAG_RERUN_OF),
        "param_types": types if isinstance(types, dict) else {},
    }


def meta_artifacts(detail: RunDetail) -> dict[str, bytes]:
    """The run's own files as MLflow artifacts: its source, capture report and traceback."""
    files = {}
    if detail["source"] is not None:
        files[SOURCE_ARTIFACT] = detail["source"].encode("utf-8")
    if detail["capture"]:
        files[CAPTURE_ARTIFACT] = json.dumps(
            detail["capture"], indent=1, sort_keys=True, default=str
        ).encode("utf-8")
    if detail["error"]:
        files[ERROR_ARTIFACT] = detail["error"].encode("utf-8")
    return files


def read_meta_artifacts(files: dict[str, bytes]) -> dict[str, Any]:
    """``source``, ``capture`` and ``error`` from the run's own files (None when absent)."""
    source = files.get(SOURCE_ARTIFACT)
    error = files.get(ERROR_ARTIFACT)
    capture = None
    if CAPTURE_ARTIFACT in files:
        try:
            capture = json.loads(files[CAPTURE_ARTIFACT])
        except ValueError:
            capture = None
    return {
        "source": None if source is None else source.decode("utf-8", "replace"),
        "capture": capture if isinstance(capture, dict) else None,
        "error": None if error is None else error.decode("utf-8", "replace"),
    }
