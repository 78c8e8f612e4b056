/**
 * Pure formatting and query helpers of the Experiments sidebar and views: no DOM, no
 * JupyterLab, so `node --test` checks them (labextension/test/).
 */

import { JsonFloat } from './tokens';

/** Metric-name words meaning smaller is better / larger is better (as the Python panels). */
const LOWER_IS_BETTER = new Set(['loss', 'error', 'err', 'mse', 'rmse', 'mae', 'perplexity']);
const HIGHER_IS_BETTER = new Set([
  'acc',
  'accuracy',
  'f1',
  'auc',
  'precision',
  'recall',
  'score',
  'r2'
]);

/** Polling: quick while something is RUNNING, backing off to this when nothing changes. */
export const FAST_POLL_MS = 2000;
export const SLOW_POLL_MS = 30000;

/** A JSON float (NaN and infinities arrive as their names) as a number. */
export function toNumber(value: JsonFloat | null | undefined): number {
  if (typeof value === 'number') {
    return value;
  }
  if (value === 'Infinity') {
    return Infinity;
  }
  if (value === '-Infinity') {
    return -Infinity;
  }
  return NaN;
}

/** A metric value for display: 4 significant digits, NaN and ±inf by name. */
export function formatValue(value: JsonFloat | null | undefined): string {
  if (value === null || value === undefined) {
    return '';
  }
  const n = toNumber(value);
  if (Number.isNaN(n)) {
    return 'NaN';
  }
  if (!Number.isFinite(n)) {
    return n > 0 ? 'inf' : '-inf';
  }
  if (Number.isInteger(n) && Math.abs(n) < 1e15) {
    return String(n);
  }
  const abs = Math.abs(n);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) {
    return n.toExponential(3);
  }
  return String(Number(n.toPrecision(4)));
}

/** A start time as "Nov 22, 14:03:07"; '' when absent. */
export function formatTime(ms: number | null | undefined, locale?: string): string {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) {
    return '';
  }
  return new Date(ms).toLocaleString(locale, {
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit'
  });
}

/** How long a run took ("1.5 s", "2 min 5 s", "1 h 2 min"); '' while unknown. */
export function formatDuration(start: number | null, end: number | null): string {
  if (typeof start !== 'number' || typeof end !== 'number' || end < start) {
    return '';
  }
  const s = (end - start) / 1000;
  if (s < 60) {
    return `${Number(s.toPrecision(2))} s`;
  }
  const m = Math.floor(s / 60);
  if (m < 60) {
    return `${m} min ${Math.round(s - m * 60)} s`;
  }
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** What the sidebar asks `GET runs` for. */
export interface IRunsQuery {
  filter?: string;
  order_by?: string;
  /** `active` (the server's default), `deleted` or `all`. */
  view?: string;
  /** The cursor of the page to read (a page's `next`); none: the first page. */
  after?: string | null;
  limit?: number;
}

/** `runs?...`: the endpoint with its query string (empty arguments left out). */
export function runsEndpoint(query: IRunsQuery): string {
  const args = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && String(value).trim() !== '') {
      args.set(key, String(value).trim());
    }
  }
  const text = args.toString();
  return text ? `runs?${text}` : 'runs';
}

/** Filters that must all hold, as one filter ('' when none). */
export function allOf(...filters: string[]): string {
  const parts = filters.map(f => f.trim()).filter(f => f !== '');
  return parts.length > 1 ? parts.map(f => `(${f})`).join(' and ') : (parts[0] ?? '');
}

/**
 * A notebook's path as the file browser opens it: `path` (absolute, as the kernel recorded
 * it) made relative to the server `root`; with no root known (Notebook 7's pages give
 * none), the longest of the `open` notebook paths it ends with, else `path` without its
 * leading slashes.
 */
export function relativePath(path: string, root: string, open: readonly string[] = []): string {
  const base = root.replace(/\\/g, '/').replace(/\/+$/, '');
  const p = path.replace(/\\/g, '/');
  if (base && p.startsWith(`${base}/`)) {
    return p.slice(base.length + 1);
  }
  const known = open.filter(o => p === o || p.endsWith(`/${o}`));
  if (known.length) {
    return known.reduce((a, b) => (b.length > a.length ? b : a));
  }
  return p.replace(/^\/+/, '');
}

/** A path segment (run id, metric key, artifact path) for a URL: each part encoded. */
export function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/**
 * The next polling delay: fast while a run is RUNNING or the list just changed, else
 * doubled from the last delay up to `SLOW_POLL_MS`.
 */
export function nextPollDelay(previous: number, busy: boolean): number {
  if (busy) {
    return FAST_POLL_MS;
  }
  return Math.min(SLOW_POLL_MS, Math.max(FAST_POLL_MS, previous * 2));
}

/** Whether a larger value of metric `key` is better (Python's `higher_is_better`). */
export function higherIsBetter(key: string): boolean {
  const words = new Set(
    key
      .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
      .toLowerCase()
      .split(/[^a-z0-9]+/)
  );
  const has = (set: Set<string>) => [...words].some(w => set.has(w));
  return !has(LOWER_IS_BETTER) && has(HIGHER_IS_BETTER);
}

/** The index of the best finite value (ties: the first); -1 when none is finite. */
export function bestIndex(values: (JsonFloat | null | undefined)[], higher: boolean): number {
  let best = -1;
  values.forEach((value, i) => {
    const n = toNumber(value ?? 'NaN');
    if (!Number.isFinite(n)) {
      return;
    }
    const current = best < 0 ? NaN : toNumber(values[best] as JsonFloat);
    if (best < 0 || (higher ? n > current : n < current)) {
      best = i;
    }
  });
  return best;
}

/** The keys whose values differ between the records (missing counts as a value). */
export function differingKeys(records: Record<string, string>[]): string[] {
  const keys = new Set<string>();
  records.forEach(r => Object.keys(r).forEach(k => keys.add(k)));
  return [...keys]
    .filter(k => new Set(records.map(r => (k in r ? `=${r[k]}` : '∅'))).size > 1)
    .sort();
}

/** Every key of the records, sorted. */
export function allKeys(records: Record<string, unknown>[]): string[] {
  const keys = new Set<string>();
  records.forEach(r => Object.keys(r).forEach(k => keys.add(k)));
  return [...keys].sort();
}
