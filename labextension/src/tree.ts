/**
 * The sidebar's shape of a page of runs: the active notebook's runs first, then one group
 * per experiment, sweep children nested under their parent. Pure (no DOM), tested by
 * `node --test` (labextension/test/).
 */

import { IRunRecord } from './tokens';

/** A run with the runs nested under it (a sweep's children). */
export interface IRunNode {
  run: IRunRecord;
  children: IRunNode[];
}

/** A collapsible group of the sidebar. */
export interface IRunGroup {
  /** Stable key (remembers whether it is collapsed): `notebook:` or `experiment:<name>`. */
  key: string;
  title: string;
  nodes: IRunNode[];
  /** Runs in the group, children included. */
  count: number;
  /** The group has more runs than listed (the server said so). */
  more?: boolean;
}

/** One visible line of the list, for drawing and keyboard navigation. */
export type Row =
  | { kind: 'group'; group: IRunGroup; collapsed: boolean }
  | { kind: 'run'; node: IRunNode; depth: number; groupKey: string };

/** The key of the active notebook's group. */
export const NOTEBOOK_GROUP = 'notebook:';

/** A path without `./`, duplicate or trailing slashes, with `/` separators. */
export function normalizePath(path: string): string {
  return path
    .replace(/\\/g, '/')
    .split('/')
    .filter(part => part !== '' && part !== '.')
    .join('/');
}

/**
 * Whether a run's recorded notebook path is the notebook open at `path` (relative to the
 * server root). The kernel may record it absolute, so the end of the path must match.
 */
export function sameNotebook(recorded: string | null, path: string | null): boolean {
  if (!recorded || !path) {
    return false;
  }
  const a = normalizePath(recorded);
  const b = normalizePath(path);
  return a === b || a.endsWith(`/${b}`);
}

/** A string literal of the filter language: backslashes and quotes escaped. */
export function filterString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * The filter clause `sameNotebook` stands for, for `GET runs`: the run's notebook is `path`
 * or ends with `/path` (`%` and `_` in the path matched as themselves).
 */
export function notebookClause(path: string): string {
  const p = normalizePath(path);
  const pattern = `%/${p.replace(/\\/g, '\\\\').replace(/[%_]/g, '\\$&')}`;
  return `notebook = ${filterString(p)} or notebook LIKE ${filterString(pattern)}`;
}

/** Nest each run under its parent when the parent is in `runs`; order kept. */
export function nest(runs: IRunRecord[]): IRunNode[] {
  const nodes = new Map<string, IRunNode>();
  runs.forEach(run => nodes.set(run.run_id, { run, children: [] }));
  const roots: IRunNode[] = [];
  for (const run of runs) {
    const node = nodes.get(run.run_id)!;
    const parent = run.parent_id ? nodes.get(run.parent_id) : undefined;
    if (parent && parent !== node) {
      parent.children.push(node);
    } else {
      roots.push(node);
    }
  }
  return roots;
}

/** The runs of the notebook in focus, as asked of the server: maybe only the first page. */
export interface INotebookRuns {
  runs: IRunRecord[];
  has_more: boolean;
}

/**
 * The groups: "This notebook" (runs recorded from `notebookPath`: `notebookRuns`, the ones
 * the server found, then any other of `runs`) if any, then one per experiment in the order
 * their newest run comes in `runs` (already sorted by the server).
 */
export function groupRuns(
  runs: IRunRecord[],
  notebookPath: string | null,
  notebookRuns: INotebookRuns = { runs: [], has_more: false }
): IRunGroup[] {
  const groups: IRunGroup[] = [];
  const mine = appendPage(
    notebookRuns.runs.filter(run => sameNotebook(run.notebook, notebookPath)),
    runs.filter(run => sameNotebook(run.notebook, notebookPath))
  );
  if (mine.length > 0) {
    const name = normalizePath(notebookPath!).split('/').pop();
    groups.push({
      key: NOTEBOOK_GROUP,
      title: `This notebook: ${name}`,
      nodes: nest(mine),
      count: mine.length,
      more: notebookRuns.has_more
    });
  }
  const byExperiment = new Map<string, IRunRecord[]>();
  for (const run of runs) {
    const name = run.experiment || 'Default';
    if (!byExperiment.has(name)) {
      byExperiment.set(name, []);
    }
    byExperiment.get(name)!.push(run);
  }
  for (const [name, members] of byExperiment) {
    groups.push({ key: `experiment:${name}`, title: name, nodes: nest(members), count: members.length });
  }
  return groups;
}

/** The visible rows: each group's header, then (unless collapsed) its runs depth-first. */
export function visibleRows(groups: IRunGroup[], collapsed: ReadonlySet<string>): Row[] {
  const rows: Row[] = [];
  const walk = (nodes: IRunNode[], depth: number, groupKey: string) => {
    for (const node of nodes) {
      rows.push({ kind: 'run', node, depth, groupKey });
      walk(node.children, depth + 1, groupKey);
    }
  };
  for (const group of groups) {
    const isCollapsed = collapsed.has(group.key);
    rows.push({ kind: 'group', group, collapsed: isCollapsed });
    if (!isCollapsed) {
      walk(group.nodes, 0, group.key);
    }
  }
  return rows;
}

/**
 * Merge a fresh first page into the runs loaded so far: the fresh rows replace the head,
 * older pages stay, duplicates (a run that moved between pages) kept once.
 */
export function mergeHead(loaded: IRunRecord[], head: IRunRecord[]): IRunRecord[] {
  const seen = new Set(head.map(run => run.run_id));
  return [...head, ...loaded.slice(head.length).filter(run => !seen.has(run.run_id))];
}

/** Append a further page, skipping runs already loaded. */
export function appendPage(loaded: IRunRecord[], page: IRunRecord[]): IRunRecord[] {
  const seen = new Set(loaded.map(run => run.run_id));
  return [...loaded, ...page.filter(run => !seen.has(run.run_id))];
}
