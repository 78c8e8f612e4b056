/**
 * What the sidebar's context menu offers for a row: which actions apply to a run in the
 * list being shown (active or deleted runs) with how many runs ticked. Pure (no DOM),
 * tested by `node --test` (labextension/test/).
 */

import { IRunRecord } from './tokens';

/** Which runs the sidebar lists: `GET runs?view=active` (the default) or `view=deleted`. */
export type RunsView = 'active' | 'deleted';

/** The actions of a sidebar row's context menu, in menu order. */
export const RUN_ACTIONS = [
  'open',
  'compare',
  'goToCell',
  'exportRun',
  'setTag',
  'deleteRun',
  'restoreRun'
] as const;

export type RunAction = (typeof RUN_ACTIONS)[number];

/** Compare takes this many runs. */
export const COMPARE_MIN = 2;
export const COMPARE_MAX = 20;

/** The row a context menu was opened on, and the state of the sidebar around it. */
export interface IMenuTarget {
  /** The run of the row (undefined: not a run row, or a run no longer loaded). */
  run: IRunRecord | undefined;
  view: RunsView;
  /** How many runs are ticked for comparison. */
  selected: number;
}

/**
 * Whether `action` applies: a deleted run can be opened or restored, nothing else; an
 * active run can be opened, exported, tagged or deleted (the server refuses a RUNNING one
 * with a 409 that is shown), and sent to its cell when a notebook cell made it.
 */
export function actionEnabled(action: RunAction, target: IMenuTarget): boolean {
  const { run, view, selected } = target;
  if (action === 'compare') {
    return selected >= COMPARE_MIN && selected <= COMPARE_MAX;
  }
  if (!run) {
    return false;
  }
  switch (action) {
    case 'open':
      return true;
    case 'goToCell':
      return view === 'active' && !!run.notebook && !!run.cell_id;
    case 'restoreRun':
      return view === 'deleted';
    default:
      return view === 'active';
  }
}

/** The title and text of the confirmation asked before deleting `run`. */
export function deletePrompt(run: Pick<IRunRecord, 'run_id' | 'name'>): string {
  const name = run.name ? `"${run.name}" (${run.run_id.slice(0, 8)})` : run.run_id.slice(0, 8);
  return (
    `Delete run ${name}? It leaves the list; "Show deleted" lists it again and ` +
    '"Restore" brings it back until `jupyter-tracker gc` purges it.'
  );
}
