/**
 * Shapes of the JSON the server extension returns; they mirror the one
 * serializer of the Python side (`jupyter_tracker._records`).
 */

/** The statuses a run can have. */
export type RunStatus = 'RUNNING' | 'FINISHED' | 'FAILED' | 'KILLED' | 'CRASHED';

/** One run as listed by `GET /jupyter-tracker/api/runs`. */
export interface IRunRecord {
  run_id: string;
  name: string | null;
  status: RunStatus;
  experiment: string;
  /** Milliseconds since the epoch. */
  start_time: number;
  end_time: number | null;
  parent_id: string | null;
  notebook: string | null;
  cell_id: string | null;
  params: Record<string, string>;
  metrics: Record<string, number | null>;
  tags: Record<string, string>;
}

/** The body of `GET /jupyter-tracker/api/runs`. */
export interface IRunList {
  runs: IRunRecord[];
  offset: number;
  limit: number;
}

/** One experiment as listed by `GET /jupyter-tracker/api/experiments`. */
export interface IExperiment {
  name: string;
  [key: string]: unknown;
}

/** The body of `GET /jupyter-tracker/api/experiments`. */
export interface IExperimentList {
  experiments: IExperiment[];
}

/** The body of an error answer (400, 404). */
export interface IErrorBody {
  error: string;
}
