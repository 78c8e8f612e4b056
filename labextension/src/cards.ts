/**
 * Run cards brought up to date from the store.
 *
 * A run card is an HTML output that its kernel updates in place while the run runs
 * (`jupyter_tracker/notebook/card.py`); a kernel that dies mid-cell never sends the last
 * update, so the card (and the saved file) would go on saying the run is running. Each card
 * output's metadata names its run and whether its status is final. When a notebook opens and
 * whenever its kernel restarts, dies or changes, every card not final is asked for again
 * (`GET runs/{id}/card`): once the store has the run's final status (CRASHED, KILLED...),
 * the card is replaced with the server's, drawn by the kernel's own renderer, and the
 * notebook is marked dirty so that its file says so too. Runs still running are asked
 * about again later, less and less often.
 */

import { ICodeCellModel } from '@jupyterlab/cells';
import { NotebookPanel } from '@jupyterlab/notebook';
import { IOutputModel } from '@jupyterlab/rendermime';
import { PartialJSONObject } from '@lumino/coreutils';

import { requestAPI } from './handler';
import { ICardState, IRunCardOutput } from './tokens';

/** The card's output metadata key (`jupyter_tracker.notebook.card.CARD_METADATA_KEY`). */
export const CARD_METADATA_KEY = 'jupyter-tracker/run-card';

/** Kernel statuses after which a running card's kernel may be gone. */
const KERNEL_GONE = ['restarting', 'autorestarting', 'dead'];

/** Waits before asking again about runs still running: then every last one. */
const RETRY_DELAYS_MS = [1000, 2000, 4000, 8000, 15000, 30000];

/** A card output whose status is not final, where it is. */
interface IUnfinishedCard {
  cell: ICodeCellModel;
  index: number;
  output: IOutputModel;
  runId: string;
}

/** Keep the run cards of `panel` up to date for as long as it is open. */
export function keepCardsCurrent(panel: NotebookPanel): void {
  const cards = new CardRefresher(panel);
  void panel.context.ready.then(() => cards.check());
  panel.sessionContext.statusChanged.connect((_, status) => {
    if (KERNEL_GONE.includes(status)) {
      cards.check();
    }
  });
  panel.sessionContext.kernelChanged.connect(() => cards.check());
  panel.disposed.connect(() => cards.dispose());
}

/** The card outputs of a notebook whose status is not final. */
function unfinishedCards(panel: NotebookPanel): IUnfinishedCard[] {
  const found: IUnfinishedCard[] = [];
  const cells = panel.content.model?.cells;
  for (let i = 0; cells && i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type !== 'code') {
      continue;
    }
    const outputs = (cell as ICodeCellModel).outputs;
    for (let index = 0; index < outputs.length; index++) {
      const output = outputs.get(index);
      const state = output.metadata[CARD_METADATA_KEY] as ICardState | undefined;
      if (state && state.final === false && typeof state.run_id === 'string') {
        found.push({ cell: cell as ICodeCellModel, index, output, runId: state.run_id });
      }
    }
  }
  return found;
}

class CardRefresher {
  constructor(private readonly _panel: NotebookPanel) {}

  /** Ask about every unfinished card now (and again later while some still run). */
  check(): void {
    this._retries = 0;
    void this._refresh();
  }

  dispose(): void {
    this._disposed = true;
    window.clearTimeout(this._timer);
  }

  private async _refresh(): Promise<void> {
    window.clearTimeout(this._timer);
    if (this._busy) {
      this._again = true;
      return;
    }
    this._busy = true;
    try {
      await this._replaceEnded();
    } finally {
      this._busy = false;
    }
    if (this._again && !this._disposed) {
      this._again = false;
      return this._refresh();
    }
  }

  private async _replaceEnded(): Promise<void> {
    const runIds = new Set(unfinishedCards(this._panel).map(card => card.runId));
    const answers = new Map<string, IRunCardOutput>();
    for (const runId of runIds) {
      try {
        answers.set(
          runId,
          await requestAPI<IRunCardOutput>(`runs/${encodeURIComponent(runId)}/card`)
        );
      } catch (error) {
        // A run of another store, or no server: the card stays as it is.
        console.debug('jupyter-tracker: no card for run', runId, error);
      }
    }
    if (this._disposed) {
      return;
    }
    let replaced = false;
    let running = false;
    // Found again: outputs may have changed while the server answered.
    for (const card of unfinishedCards(this._panel)) {
      const answer = answers.get(card.runId);
      if (!answer) {
        continue;
      }
      if (!answer.metadata[CARD_METADATA_KEY]?.final) {
        running = true;
        continue;
      }
      card.cell.outputs.set(card.index, {
        ...card.output.toJSON(),
        data: answer.data,
        metadata: answer.metadata as unknown as PartialJSONObject
      });
      replaced = true;
    }
    if (replaced) {
      this._panel.context.model.dirty = true;
    }
    if (running) {
      const delay = RETRY_DELAYS_MS[Math.min(this._retries, RETRY_DELAYS_MS.length - 1)];
      this._retries += 1;
      this._timer = window.setTimeout(() => void this._refresh(), delay);
    }
  }

  private _again = false;
  private _busy = false;
  private _disposed = false;
  private _retries = 0;
  private _timer = 0;
}
