import { LabIcon, refreshIcon } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { requestAPI } from './handler';
import { IRunPage, IRunRecord, RunStatus } from './tokens';

/** How often the list refreshes while the panel is visible. */
export const REFRESH_MS = 3000;

/** How many runs the panel lists (newest first). */
export const RUN_LIMIT = 50;

const ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M9 2h6v2h-1v5.2l5.6 9.3A2.3 2.3 0 0 1 17.6 22H6.4a2.3 2.3 0 0 1-2-3.5L10 9.2V4H9V2zm3 9-2.5 4h5z"/>
  </g>
</svg>`;

/** The sidebar's icon: a flask. */
export const experimentsIcon = new LabIcon({
  name: 'jupyter-tracker:experiments',
  svgstr: ICON_SVG
});

/** A DOM element with a class and text: every data string reaches the page this way. */
function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

function formatTime(ms: number | null): string {
  if (typeof ms !== 'number' || !isFinite(ms)) {
    return '';
  }
  return new Date(ms).toLocaleString(undefined, {
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit'
  });
}

/**
 * One `<li>` for a run: name, status badge, short id, start time; all as text.
 * The badge's colour is keyed by its status (style/base.css), if the status is one of
 * `statuses`, the ones the server sent; any other status is shown as 'unknown'.
 */
export function renderRun(run: IRunRecord, statuses: readonly RunStatus[]): HTMLLIElement {
  const item = el('li', 'jp-TrackerRun');
  item.dataset.runId = String(run.run_id);

  const top = el('div', 'jp-TrackerRun-top');
  const name = el('span', 'jp-TrackerRun-name', run.name || '(unnamed)');
  name.title = run.name || '';
  const status = String(run.status);
  const badge = el('span', 'jp-TrackerRun-status', status);
  badge.dataset.status = statuses.includes(status) ? status : 'unknown';
  top.append(name, badge);

  const meta = el('div', 'jp-TrackerRun-meta');
  const shortId = el('code', 'jp-TrackerRun-id', String(run.run_id).slice(0, 8));
  shortId.title = String(run.run_id);
  const started = el('span', 'jp-TrackerRun-time', formatTime(run.start_time));
  if (typeof run.start_time === 'number') {
    started.title = new Date(run.start_time).toISOString();
  }
  const experiment = el('span', 'jp-TrackerRun-experiment', run.experiment || '');
  meta.append(shortId, experiment, started);

  item.append(top, meta);
  return item;
}

/** The "Experiments" sidebar: the store's latest runs, refreshed while visible. */
export class ExperimentsPanel extends Widget {
  constructor() {
    super();
    this.id = 'jupyter-tracker-experiments';
    this.addClass('jp-TrackerPanel');
    this.title.icon = experimentsIcon;
    this.title.caption = 'Experiments';

    const header = el('div', 'jp-TrackerPanel-header');
    header.append(el('h2', 'jp-TrackerPanel-title', 'Experiments'));
    const refresh = el('button', 'jp-TrackerPanel-refresh');
    refresh.title = 'Refresh the list of runs';
    refresh.setAttribute('aria-label', 'Refresh');
    refreshIcon.element({ container: refresh, elementPosition: 'center' });
    refresh.addEventListener('click', () => void this.refresh());
    header.append(refresh);

    this._error = el('div', 'jp-TrackerPanel-error');
    this._error.hidden = true;
    this._empty = el(
      'div',
      'jp-TrackerPanel-empty',
      'No runs yet. Put %%track_run at the top of a cell, or use jt.start_run().'
    );
    this._empty.hidden = true;
    this._list = el('ul', 'jp-TrackerPanel-list');
    this.node.append(header, this._error, this._empty, this._list);
  }

  /** Fetch the runs and redraw the list; overlapping calls share one request. */
  async refresh(): Promise<void> {
    if (this._pending) {
      return this._pending;
    }
    this._pending = this._load().finally(() => {
      this._pending = null;
    });
    return this._pending;
  }

  dispose(): void {
    this._stopPolling();
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this.refresh();
    this._startPolling();
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this._stopPolling();
  }

  protected onBeforeDetach(msg: Message): void {
    this._stopPolling();
    super.onBeforeDetach(msg);
  }

  private async _load(): Promise<void> {
    try {
      const page = await requestAPI<IRunPage>(`runs?limit=${RUN_LIMIT}`);
      this._render(page);
      this._error.hidden = true;
      this._error.textContent = '';
    } catch (error) {
      this._error.textContent = `Could not load runs: ${(error as Error).message ?? error}`;
      this._error.hidden = false;
    }
  }

  private _render({ runs, statuses }: IRunPage): void {
    this._list.replaceChildren(...runs.map(run => renderRun(run, statuses)));
    this._empty.hidden = runs.length > 0;
  }

  private _startPolling(): void {
    if (this._timer === null) {
      this._timer = window.setInterval(() => {
        if (this.isVisible && !document.hidden) {
          void this.refresh();
        }
      }, REFRESH_MS);
    }
  }

  private _stopPolling(): void {
    if (this._timer !== null) {
      window.clearInterval(this._timer);
      this._timer = null;
    }
  }

  private _error: HTMLDivElement;
  private _empty: HTMLDivElement;
  private _list: HTMLUListElement;
  private _pending: Promise<void> | null = null;
  private _timer: number | null = null;
}
