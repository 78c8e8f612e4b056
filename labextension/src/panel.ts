/**
 * The "Experiments" sidebar: the store's runs grouped by experiment (the active notebook's
 * first, sweep children nested), searched with the filter language, sorted, paged, kept live
 * by polling with back-off, driven by mouse or keyboard; "Show deleted" lists the deleted
 * runs instead, to restore them.
 */

import { deleteIcon, LabIcon, refreshIcon } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { el } from './dom';
import {
  allOf,
  FAST_POLL_MS,
  formatTime,
  nextPollDelay,
  runsEndpoint
} from './format';
import { requestAPI } from './handler';
import { COMPARE_MAX, COMPARE_MIN, RunsView } from './menu';
import { IRunPage, IRunRecord, RunStatus } from './tokens';
import {
  appendPage,
  groupRuns,
  INotebookRuns,
  mergeHead,
  notebookClause,
  Row,
  visibleRows
} from './tree';

/** Runs asked for per page ("Load more" asks for the next). */
export const PAGE_SIZE = 200;

/** The active notebook's runs read for its group (whatever pages of the list are loaded). */
export const NOTEBOOK_ROWS = 100;

/** The most runs a poll re-reads (the server's cap on `limit`). */
export const MAX_POLL_ROWS = 500;

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

/** The sort choices always offered; metric keys of the loaded runs are added. */
const BASE_SORTS: [string, string][] = [
  ['', 'Newest first'],
  ['start_time ASC', 'Oldest first'],
  ['name ASC', 'Name'],
  ['status ASC', 'Status'],
  ['duration DESC', 'Longest']
];

const EMPTY_TEXT = 'No runs yet. Put %%track_run at the top of a cell, or use jt.start_run().';

/** A key in the filter language: backquoted unless a plain word. */
function fieldKey(key: string): string {
  return /^[A-Za-z_][\w.]*$/.test(key) ? key : `\`${key.replace(/`/g, '')}\``;
}

/** What the sidebar asks of its host. */
export interface IPanelHost {
  /** The path of the notebook in focus (relative to the server root), or null. */
  notebookPath(): string | null;
  openRun(runId: string): void;
  compare(runIds: string[]): void;
  /** Delete a run (the Delete key on its row): asks first. */
  deleteRun(runId: string): void;
}

/**
 * One `<li>` for a run: checkbox, name, status badge, short id, start time; all as text.
 * The badge's colour is keyed by its status (style/base.css), if the status is one of
 * `statuses`, the ones the server sent; any other status is shown as 'unknown'.
 */
export function renderRun(
  run: IRunRecord,
  statuses: readonly RunStatus[],
  depth = 0,
  selected = false
): HTMLLIElement {
  const item = el('li', 'jp-TrackerRun');
  item.dataset.runId = String(run.run_id);
  item.setAttribute('role', 'treeitem');
  item.style.setProperty('--jp-tracker-depth', String(depth));
  if (depth > 0) {
    item.classList.add('jp-mod-child');
  }

  const top = el('div', 'jp-TrackerRun-top');
  const box = el('input', 'jp-TrackerRun-select');
  box.type = 'checkbox';
  box.checked = selected;
  box.tabIndex = -1;
  box.title = 'Select to compare';
  const name = el('span', 'jp-TrackerRun-name', run.name || '(unnamed)');
  name.title = run.name || '';
  const status = String(run.status);
  const badge = el('span', 'jp-TrackerRun-status', status);
  badge.dataset.status = statuses.includes(status) ? status : 'unknown';
  top.append(box, name, badge);

  const meta = el('div', 'jp-TrackerRun-meta');
  const shortId = el('code', 'jp-TrackerRun-id', String(run.run_id).slice(0, 8));
  shortId.title = String(run.run_id);
  const started = el('span', 'jp-TrackerRun-time', formatTime(run.start_time));
  if (typeof run.start_time === 'number') {
    started.title = new Date(run.start_time).toISOString();
  }
  meta.append(shortId, started);

  item.append(top, meta);
  return item;
}

/** The "Experiments" sidebar. */
export class ExperimentsPanel extends Widget {
  constructor(host: IPanelHost) {
    super();
    this._host = host;
    this.id = 'jupyter-tracker-experiments';
    this.addClass('jp-TrackerPanel');
    this.title.icon = experimentsIcon;
    this.title.caption = 'Experiments';

    const header = el('div', 'jp-TrackerPanel-header');
    header.append(el('h2', 'jp-TrackerPanel-title', 'Experiments'));
    this._compareButton = el('button', 'jp-TrackerPanel-compare jp-mod-styled', 'Compare');
    this._compareButton.title = `Tick ${COMPARE_MIN} to ${COMPARE_MAX} runs to compare them`;
    this._compareButton.addEventListener('click', () => this._host.compare(this.selectedIds));
    const refresh = el('button', 'jp-TrackerPanel-refresh');
    refresh.title = 'Refresh the list of runs';
    refresh.setAttribute('aria-label', 'Refresh');
    refreshIcon.element({ container: refresh, elementPosition: 'center' });
    refresh.addEventListener('click', () => void this.refresh());
    this._deletedToggle = el('button', 'jp-TrackerPanel-deleted');
    this._deletedToggle.title = 'Show deleted runs (to restore them)';
    this._deletedToggle.setAttribute('aria-label', 'Show deleted');
    this._deletedToggle.setAttribute('aria-pressed', 'false');
    deleteIcon.element({ container: this._deletedToggle, elementPosition: 'center' });
    this._deletedToggle.addEventListener('click', () =>
      this.setView(this._view === 'deleted' ? 'active' : 'deleted')
    );
    header.append(this._deletedToggle, refresh);

    const controls = el('div', 'jp-TrackerPanel-controls');
    this._search = el('input', 'jp-TrackerPanel-search');
    this._search.type = 'search';
    this._search.placeholder = "Filter: metrics.loss < 0.1 and params.lr = '0.01'";
    this._search.setAttribute('aria-label', 'Filter runs');
    this._search.addEventListener('keydown', event => {
      if (event.key === 'Enter') {
        event.preventDefault();
        this._applyQuery();
      } else if (event.key === 'ArrowDown') {
        event.preventDefault();
        this._focusRow(0);
      }
    });
    this._search.addEventListener('search', () => this._applyQuery());
    this._sort = el('select', 'jp-TrackerPanel-sort');
    this._sort.setAttribute('aria-label', 'Sort runs');
    this._sort.addEventListener('change', () => this._applyQuery());
    const sortRow = el('div', 'jp-TrackerPanel-sortRow');
    sortRow.append(this._sort, this._compareButton);
    controls.append(this._search, sortRow);

    this._notice = el(
      'div',
      'jp-TrackerPanel-notice',
      'Deleted runs: open one or right-click it to restore it.'
    );
    this._notice.hidden = true;
    this._error = el('pre', 'jp-TrackerPanel-error');
    this._error.hidden = true;
    this._empty = el('div', 'jp-TrackerPanel-empty', EMPTY_TEXT);
    this._empty.hidden = true;
    this._list = el('ul', 'jp-TrackerPanel-list');
    this._list.setAttribute('role', 'tree');
    this._list.tabIndex = 0;
    this._list.addEventListener('click', event => this._onClick(event));
    this._list.addEventListener('keydown', event => this._onKey(event));
    document.addEventListener('contextmenu', this._onContextMenu, true);
    this._more = el('button', 'jp-TrackerPanel-more jp-mod-styled', 'Load more');
    this._more.hidden = true;
    this._more.addEventListener('click', () => void this._loadMore());
    this.node.append(
      header,
      controls,
      this._notice,
      this._error,
      this._empty,
      this._list,
      this._more
    );
    this._renderSorts();
    this._updateCompare();
  }

  /** The ids of the ticked runs, in the order they were ticked. */
  get selectedIds(): string[] {
    return [...this._selected];
  }

  /** Which runs are listed: the active ones, or the deleted ones. */
  get view(): RunsView {
    return this._view;
  }

  /**
   * The run of the row the last context menu was opened on (undefined when it was opened
   * anywhere else): polls redraw the rows, so the menu's own target may be gone by the time
   * one of its commands runs.
   */
  get menuRunId(): string | undefined {
    return this._menuRunId;
  }

  /** The loaded run with this id, if any. */
  runById(id: string | undefined): IRunRecord | undefined {
    return id ? this._runs.find(run => run.run_id === id) : undefined;
  }

  /** List the active or the deleted runs (ticks are kept only within one list). */
  setView(view: RunsView): void {
    if (view === this._view) {
      return;
    }
    this._view = view;
    this._selected.clear();
    this._deletedToggle.setAttribute('aria-pressed', String(view === 'deleted'));
    this._deletedToggle.classList.toggle('jp-mod-active', view === 'deleted');
    this._notice.hidden = view !== 'deleted';
    this.node.dataset.view = view;
    this._empty.textContent = view === 'deleted' ? 'No deleted runs.' : EMPTY_TEXT;
    this._applyQuery();
  }

  /** A run left this list (deleted or restored): unticked, and the first page read again. */
  runMoved(id: string): void {
    this._selected.delete(id);
    this._applyQuery();
  }

  /** Re-read the loaded runs now (overlapping calls share one request); resets back-off. */
  async refresh(): Promise<void> {
    if (!this._pending) {
      const pending = this._poll().finally(() => {
        if (this._pending === pending) {
          this._pending = null;
        }
      });
      this._pending = pending;
    }
    return this._pending;
  }

  /** Something may have started a run (a cell ran): look soon and keep looking quickly. */
  nudge(): void {
    this._delay = FAST_POLL_MS;
    this._schedule(500);
  }

  /** The active notebook changed: its runs come first. */
  notebookChanged(): void {
    this._render();
    void this.refresh();
  }

  dispose(): void {
    this._stopPolling();
    document.removeEventListener('contextmenu', this._onContextMenu, true);
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._delay = FAST_POLL_MS;
    this._schedule(0);
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this._stopPolling();
  }

  protected onBeforeDetach(msg: Message): void {
    this._stopPolling();
    super.onBeforeDetach(msg);
  }

  private _applyQuery(): void {
    this._filter = this._search.value.trim();
    this._orderBy = this._sort.value;
    this._runs = [];
    this._notebookRuns = { runs: [], has_more: false };
    this._next = null;
    this._generation += 1; // pages asked for before are for another query: dropped
    this._pending = null;
    void this.refresh();
  }

  private async _poll(): Promise<void> {
    const limit = Math.min(Math.max(this._runs.length, PAGE_SIZE), MAX_POLL_ROWS);
    const generation = this._generation;
    const notebook = this._fetchNotebook(); // drawn when it comes, without holding the list
    const page = await this._fetch(null, limit);
    if (page && generation === this._generation) {
      const before = JSON.stringify(this._runs.slice(0, limit));
      this._runs = mergeHead(this._runs, page.runs);
      if (this._runs.length <= limit) {
        this._next = page.next;
      }
      this._changed = before !== JSON.stringify(page.runs);
      this._render();
    }
    const mine = await notebook;
    if (generation === this._generation && JSON.stringify(mine) !== JSON.stringify(this._notebookRuns)) {
      this._notebookRuns = mine;
      this._changed = true;
      this._render();
    }
  }

  private async _loadMore(): Promise<void> {
    const generation = this._generation;
    const page = await this._fetch(this._next, PAGE_SIZE);
    if (page && generation === this._generation) {
      this._runs = appendPage(this._runs, page.runs);
      this._next = page.next;
      this._render();
    }
  }

  /**
   * The first runs of the notebook in focus that pass the filter, however far down the list
   * they are (none when no notebook is in focus or the request fails: the list's own request
   * shows the error).
   */
  private async _fetchNotebook(): Promise<INotebookRuns> {
    const path = this._host.notebookPath();
    if (!path) {
      return { runs: [], has_more: false };
    }
    const query = {
      filter: allOf(this._filter, notebookClause(path)),
      order_by: this._orderBy,
      view: this._view === 'active' ? undefined : this._view,
      limit: NOTEBOOK_ROWS
    };
    try {
      const page = await requestAPI<IRunPage>(runsEndpoint(query));
      return { runs: page.runs, has_more: page.next !== null };
    } catch {
      return { runs: [], has_more: false };
    }
  }

  /** The page after cursor `after` (null: the first), or null with the error shown. */
  private async _fetch(after: string | null, limit: number): Promise<IRunPage | null> {
    const view = this._view === 'active' ? undefined : this._view;
    const query = { filter: this._filter, order_by: this._orderBy, view, after, limit };
    try {
      const page = await requestAPI<IRunPage>(runsEndpoint(query));
      this._statuses = page.statuses;
      this._error.hidden = true;
      this._error.textContent = '';
      return page;
    } catch (error) {
      const message = (error as Error).message ?? String(error);
      this._error.textContent = this._filter || this._orderBy
        ? message
        : `Could not load runs: ${message}`;
      this._error.hidden = false;
      return null;
    }
  }

  /** Note the row a context menu opens on (before the menu shows: capture phase). */
  private _onContextMenu = (event: MouseEvent): void => {
    const target = event.target instanceof Element && this.node.contains(event.target) ? event.target : null;
    this._menuRunId = target?.closest<HTMLElement>('.jp-TrackerRun')?.dataset.runId;
  };

  private _render(): void {
    const groups = groupRuns(this._runs, this._host.notebookPath(), this._notebookRuns);
    this._rows = visibleRows(groups, this._collapsed);
    const focused = this._focusKey();
    const items = this._rows.map(row => {
      if (row.kind === 'group') {
        const item = el('li', 'jp-TrackerGroup');
        item.dataset.group = row.group.key;
        item.setAttribute('role', 'treeitem');
        item.setAttribute('aria-expanded', String(!row.collapsed));
        const caret = el('span', 'jp-TrackerGroup-caret', row.collapsed ? '▸' : '▾');
        const title = el('span', 'jp-TrackerGroup-title', row.group.title);
        const count = el('span', 'jp-TrackerGroup-count', `${row.group.count}${row.group.more ? '+' : ''}`);
        item.append(caret, title, count);
        return item;
      }
      const run = row.node.run;
      return renderRun(run, this._statuses, row.depth, this._selected.has(run.run_id));
    });
    items.forEach(item => (item.tabIndex = -1)); // focusable; Tab enters the list itself
    this._list.replaceChildren(...items);
    this._empty.hidden = this._runs.length > 0 || !this._error.hidden;
    this._more.hidden = this._next === null;
    this._renderSorts();
    this._updateCompare();
    if (focused !== null) {
      this._restoreFocus(focused);
    }
  }

  /** Sort choices: the fixed ones, then each metric of the loaded runs both ways. */
  private _renderSorts(): void {
    const keys = new Set<string>();
    this._runs.slice(0, MAX_POLL_ROWS).forEach(run => Object.keys(run.metrics).forEach(k => keys.add(k)));
    const options: [string, string][] = [...BASE_SORTS];
    [...keys].sort().forEach(key => {
      options.push([`metrics.${fieldKey(key)} ASC`, `${key} ↑`]);
      options.push([`metrics.${fieldKey(key)} DESC`, `${key} ↓`]);
    });
    const signature = options.map(o => o[0]).join('\n');
    if (signature === this._sortSignature) {
      return;
    }
    this._sortSignature = signature;
    const current = this._sort.value || this._orderBy;
    this._sort.replaceChildren(
      ...options.map(([value, label]) => {
        const option = el('option', '', label);
        option.value = value;
        return option;
      })
    );
    this._sort.value = current;
  }

  private _updateCompare(): void {
    const n = this._selected.size;
    this._compareButton.disabled = n < COMPARE_MIN || n > COMPARE_MAX;
    this._compareButton.textContent = n > 0 ? `Compare (${n})` : 'Compare';
  }

  private _onClick(event: MouseEvent): void {
    const target = event.target as HTMLElement;
    const group = target.closest<HTMLElement>('.jp-TrackerGroup');
    if (group) {
      this._toggleGroup(group.dataset.group!);
      return;
    }
    const item = target.closest<HTMLElement>('.jp-TrackerRun');
    if (!item) {
      return;
    }
    const id = item.dataset.runId!;
    if (target.classList.contains('jp-TrackerRun-select')) {
      this._toggleSelected(id, (target as HTMLInputElement).checked);
      return;
    }
    this._focusRow(this._indexOf(item));
    this._host.openRun(id);
  }

  private _onKey(event: KeyboardEvent): void {
    const items = [...this._list.children] as HTMLElement[];
    const current = items.indexOf(document.activeElement as HTMLElement);
    const row = current >= 0 ? this._rows[current] : undefined;
    switch (event.key) {
      case 'ArrowDown':
        this._focusRow(Math.min(items.length - 1, current + 1));
        break;
      case 'ArrowUp':
        if (current <= 0) {
          this._search.focus();
        } else {
          this._focusRow(current - 1);
        }
        break;
      case 'Home':
        this._focusRow(0);
        break;
      case 'End':
        this._focusRow(items.length - 1);
        break;
      case 'ArrowLeft':
      case 'ArrowRight':
        if (row?.kind === 'group' && row.collapsed === (event.key === 'ArrowRight')) {
          this._toggleGroup(row.group.key);
        }
        break;
      case 'Enter':
        if (row?.kind === 'group') {
          this._toggleGroup(row.group.key);
        } else if (row?.kind === 'run') {
          this._host.openRun(row.node.run.run_id);
        }
        break;
      case 'Delete':
        if (row?.kind === 'run' && this._view === 'active') {
          this._host.deleteRun(row.node.run.run_id);
        }
        break;
      case ' ':
        if (row?.kind === 'run') {
          const id = row.node.run.run_id;
          this._toggleSelected(id, !this._selected.has(id));
          this._render();
        }
        break;
      default:
        return;
    }
    event.preventDefault();
  }

  private _toggleGroup(key: string): void {
    if (!this._collapsed.delete(key)) {
      this._collapsed.add(key);
    }
    this._render();
  }

  private _toggleSelected(id: string, on: boolean): void {
    if (on) {
      this._selected.add(id);
    } else {
      this._selected.delete(id);
    }
    this._updateCompare();
  }

  private _indexOf(item: HTMLElement): number {
    return [...this._list.children].indexOf(item);
  }

  private _focusRow(index: number): void {
    const items = [...this._list.children] as HTMLElement[];
    items.forEach((item, i) => (item.tabIndex = i === index ? 0 : -1));
    items[index]?.focus();
  }

  /** Which row has the focus, to give it back after a redraw. */
  private _focusKey(): string | null {
    const active = document.activeElement as HTMLElement | null;
    if (!active || active.parentElement !== this._list) {
      return null;
    }
    return active.dataset.runId ?? `group:${active.dataset.group}`;
  }

  private _restoreFocus(key: string): void {
    const index = this._rows.findIndex(row =>
      row.kind === 'run' ? row.node.run.run_id === key : `group:${row.group.key}` === key
    );
    if (index >= 0) {
      this._focusRow(index);
    }
  }

  /** Poll again after `ms` (or the back-off delay), only while shown and the page visible. */
  private _schedule(ms?: number): void {
    this._stopPolling();
    if (!this.isVisible) {
      return;
    }
    this._timer = window.setTimeout(async () => {
      this._timer = null;
      if (!document.hidden) {
        await this.refresh();
        const running = this._runs.some(run => run.end_time === null); // still running
        this._delay = nextPollDelay(this._delay, running || this._changed);
      }
      this._schedule();
    }, ms ?? this._delay);
  }

  private _stopPolling(): void {
    if (this._timer !== null) {
      window.clearTimeout(this._timer);
      this._timer = null;
    }
  }

  private _host: IPanelHost;
  private _search: HTMLInputElement;
  private _sort: HTMLSelectElement;
  private _compareButton: HTMLButtonElement;
  private _deletedToggle: HTMLButtonElement;
  private _notice: HTMLDivElement;
  private _error: HTMLPreElement;
  private _empty: HTMLDivElement;
  private _list: HTMLUListElement;
  private _more: HTMLButtonElement;
  private _runs: IRunRecord[] = [];
  private _rows: Row[] = [];
  private _statuses: RunStatus[] = [];
  /** The cursor of the page after the loaded runs (null: none). */
  private _next: string | null = null;
  private _notebookRuns: INotebookRuns = { runs: [], has_more: false };
  private _menuRunId: string | undefined;
  private _view: RunsView = 'active';
  private _filter = '';
  private _orderBy = '';
  private _sortSignature = '';
  private _collapsed = new Set<string>();
  private _selected = new Set<string>();
  private _changed = false;
  private _generation = 0;
  private _delay = FAST_POLL_MS;
  private _pending: Promise<void> | null = null;
  private _timer: number | null = null;
}
