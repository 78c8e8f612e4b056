/**
 * Shapes of the JSON the server extension returns: they mirror the TypedDicts of
 * `jupyter_tracker/model.py` (interface `IName` for `Name`, the same fields, `?` for a key
 * that may be absent, `| null` for `| None`); `tests/test_contract.py` compares the two.
 */

/**
 * A run's status: one of the statuses the server sends (`IRunPage.statuses`, from
 * `jupyter_tracker.model.STATUSES`), never a list copied here.
 */
export type RunStatus = string;

/** A float as the server sends it: JSON has no NaN or infinities, they come as their names. */
export type JsonFloat = number | 'NaN' | 'Infinity' | '-Infinity';

/** One run as listed (`GET runs`): latest metrics, params as text. */
export interface IRunRecord {
  run_id: string;
  name: string;
  status: RunStatus;
  experiment: string;
  /** Milliseconds since the epoch. */
  start_time: number;
  end_time: number | null;
  parent_id: string | null;
  notebook: string | null;
  cell_id: string | null;
  rerun_of: string | null;
  params: Record<string, string>;
  metrics: Record<string, JsonFloat>;
  tags: Record<string, string>;
}

/** One metric of a run without reading its points. */
export interface IMetricSummary {
  last: JsonFloat;
  step: number;
  count: number;
  min: JsonFloat;
  max: JsonFloat;
}

/** One version of an artifact path of a run. */
export interface IArtifact {
  path: string;
  version: number;
  sha256: string;
  size: number;
  media_type: string;
  created_at: number;
}

/** A param value replaced with `overwrite=True`. */
export interface IParamChange {
  key: string;
  value: string;
  type: string;
  replaced_at: number;
}

/** Where a tracked cell ran: the notebook path, the cell id, and how they were found. */
export interface ILocation {
  notebook: string | null;
  cell_id: string | null;
  how: string | null;
}

/** A name a tracked cell read from the namespace, where it came from, and its value when a
 * plain literal (then also an inherited param of the run). */
export interface IInput {
  name: string;
  execution_count: number | null;
  cell_id: string | null;
  value: string | null;
  param: boolean;
}

/** What a tracked cell captured (every part optional: older runs and scripts lack some). */
export interface ICaptureReport {
  magic_line?: string;
  execution_count?: number | null;
  kernel_id?: string | null;
  location?: ILocation;
  environment?: Record<string, unknown>;
  git?: Record<string, unknown>;
  dependency_slice?: Record<string, unknown>;
  history?: string[];
  inputs?: IInput[];
  warnings?: string[];
}

/** Everything stored about one run (`GET runs/{id}`). */
export interface IRunDetail extends IRunRecord {
  experiment_id: number;
  error: string | null;
  capture: ICaptureReport | null;
  source: string | null;
  host: string | null;
  pid: number | null;
  /** Soft-deleted: listed under "deleted", restorable until `gc`. */
  deleted: boolean;
  /** Key -> [text, Python type name]. */
  typed_params: Record<string, [string, string]>;
  param_history: IParamChange[];
  metric_summary: Record<string, IMetricSummary>;
  artifacts: IArtifact[];
}

/** An experiment with its number of (not deleted) runs. */
export interface IExperiment {
  id: number;
  name: string;
  created_at: number;
  runs: number;
}

/**
 * One page of runs (`GET runs`), with the statuses a run can have; `next` is the cursor of
 * the page after it (`GET runs?after=`), null on the last.
 */
export interface IRunPage {
  runs: IRunRecord[];
  next: string | null;
  limit: number;
  statuses: RunStatus[];
}

/** Every experiment (`GET experiments`). */
export interface IExperimentList {
  experiments: IExperiment[];
}

/** A run's lifecycle after `DELETE runs/{id}` or `POST runs/{id}/restore`. */
export interface IRunState {
  run_id: string;
  name: string;
  status: RunStatus;
  deleted: boolean;
}

/** A run's tags after `PUT runs/{id}/tags/{key}` (MLflow's system tags left out). */
export interface IRunTags {
  run_id: string;
  tags: Record<string, string>;
}

/** `GET runs/{id}/metrics/{key}?points=N`: the metric's count and (downsampled) points. */
export interface IMetricPoints {
  key: string;
  count: number;
  steps: number[];
  values: JsonFloat[];
  times: number[];
}

/**
 * What a run card output's metadata says (under `jupyter-tracker/run-card`): its run and
 * status; a card whose status is not `final` may be out of date (its kernel died first).
 */
export interface ICardState {
  run_id: string;
  status: RunStatus;
  final: boolean;
}

/** A run card as a display output (`GET runs/{id}/card`): its MIME bundle and metadata. */
export interface IRunCardOutput {
  data: Record<string, string>;
  metadata: Record<string, ICardState>;
}

/** What `POST runs/{id}/export` answers: the folder (relative to the server root), its files. */
export interface IExportResult {
  run_id: string;
  directory: string;
  files: string[];
}

/**
 * What `export --verify` concluded: one of `jupyter_tracker.model.VERIFY_OUTCOMES`
 * ("reproduced" first), as the server sends it.
 */
export type VerifyOutcome = string;

/** A param or final metric whose re-run value is not the original's (null: no such key). */
export interface IMismatch {
  kind: 'param' | 'metric' | 'outcome';
  key: string;
  original: string | null;
  rerun: string | null;
  /** The second re-run's value, when there was a second re-run. */
  second: string | null;
}

/** What `export --verify` found: the export re-run in a fresh process, compared. */
export interface IVerdict {
  outcome: VerifyOutcome;
  /** The one line, e.g. "reproduced: 4/4 metrics identical, 3/3 params". */
  summary: string;
  run_id: string;
  reruns: number;
  metrics_identical: number;
  metrics: number;
  params_identical: number;
  params: number;
  mismatches: IMismatch[];
  original_outcome: string;
  varying: string[];
  error: string | null;
  python: string;
  seconds: number;
  /** Milliseconds since the epoch. */
  verified_at: number;
}
