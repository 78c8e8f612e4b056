/**
 * The run view in the main area: params, metrics and their curves, tags (editable),
 * artifacts (downloads, and previews of raster images, text and tables), the cell source
 * (highlighted), the capture warnings, links to related runs and a "Go to cell" button.
 * Every stored string reaches the page as text.
 */

import { IEditorLanguageRegistry, jupyterHighlightStyle } from '@jupyterlab/codemirror';
import { PageConfig, URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { Widget } from '@lumino/widgets';

import { CurveControls, drawChart, ISeries } from './chart';
import { el } from './dom';
import { encodePath, formatDuration, formatTime, formatValue, relativePath } from './format';
import { API_NAMESPACE, requestAPI } from './handler';
import {
  headLines,
  IMAGE_PREVIEW_MAX,
  parseDelimited,
  Preview,
  previewKind,
  TEXT_PREVIEW_MAX
} from './preview';
import { IArtifact, IMetricPoints, IRunDetail } from './tokens';

/** Points asked per curve. */
export const CURVE_POINTS = 300;

/** Curves drawn at first (the others are a tick away). */
const FIRST_CURVES = 3;

/** A RUNNING run's view reads it again this often (while shown and not being edited). */
export const LIVE_MS = 2000;

/** Artifact previews open at first (the others load when opened). */
const FIRST_PREVIEWS = 5;

/** What the run view asks of its host. */
export interface IRunViewHost {
  openRun(runId: string): void;
  /** Open the run's notebook at its cell; a sentence when that cannot be done. */
  goToCell(run: IRunDetail): Promise<string | null>;
  /** Bring a deleted run back (the view is read again once it is). */
  restore(runId: string): Promise<void>;
  /** JupyterLab's editor languages, to highlight the cell source (plain text without). */
  languages?: IEditorLanguageRegistry | null;
}

/** The download URL of a run's artifact (the REST route; the browser's session cookie). */
export function artifactUrl(runId: string, path: string, version?: number): string {
  const base = ServerConnection.makeSettings().baseUrl;
  const url = URLExt.join(base, API_NAMESPACE, 'runs', encodeURIComponent(runId), 'artifacts', encodePath(path));
  return version ? `${url}?version=${version}` : url;
}

/**
 * An artifact's bytes, read with the server connection (the route always answers a download,
 * `application/octet-stream`: the type the preview gives them is the artifact's own).
 */
async function fetchArtifact(runId: string, artifact: IArtifact): Promise<Blob> {
  const settings = ServerConnection.makeSettings();
  const url = artifactUrl(runId, artifact.path, artifact.version);
  const response = await ServerConnection.makeRequest(url, {}, settings);
  if (!response.ok) {
    throw new Error(`${response.status} ${response.statusText}`.trim());
  }
  return response.blob();
}

/** Put the editor's highlight style in the page once (an open editor may not have yet). */
function mountHighlightStyle(): void {
  const id = 'jp-TrackerView-highlightStyle';
  const rules = jupyterHighlightStyle.module?.getRules();
  if (rules && !document.getElementById(id)) {
    const style = el('style', '', rules);
    style.id = id;
    document.head.append(style);
  }
}

function section(title: string): HTMLElement {
  const node = el('section', 'jp-TrackerView-section');
  node.append(el('h3', 'jp-TrackerView-heading', title));
  return node;
}

function table(rows: [string, string][], className = ''): HTMLTableElement {
  const t = el('table', `jp-TrackerView-table ${className}`.trim());
  for (const [key, value] of rows) {
    const tr = el('tr', '');
    tr.append(el('th', '', key), el('td', '', value));
    t.append(tr);
  }
  return t;
}

/** One run, in the main area. */
export class RunView extends Widget {
  constructor(runId: string, host: IRunViewHost) {
    super();
    this.runId = runId;
    this._host = host;
    this.addClass('jp-TrackerView');
    this.id = `jupyter-tracker-run-${runId}`;
    this.title.label = `Run ${runId.slice(0, 8)}`;
    this.title.closable = true;
    void this.load();
  }

  readonly runId: string;

  /**
   * (Re)read the run and its drawn curves, then redraw (the ticked curves, log scale and
   * smoothing kept); while the run is RUNNING, again every `LIVE_MS`.
   */
  async load(): Promise<void> {
    window.clearTimeout(this._liveTimer);
    let run: IRunDetail;
    try {
      run = await requestAPI<IRunDetail>(`runs/${encodeURIComponent(this.runId)}`);
    } catch (error) {
      this.node.replaceChildren(el('div', 'jp-TrackerView-error', `Could not load run ${this.runId}: ${(error as Error).message}`));
      return;
    }
    const keys = Object.keys(run.metric_summary).sort();
    if (this._chosen === null && keys.length) {
      this._chosen = new Set(keys.slice(0, FIRST_CURVES));
    }
    this._points.clear();
    await this._fetchPoints(run.run_id, [...(this._chosen ?? [])].filter(k => keys.includes(k)));
    if (this.isDisposed) {
      return;
    }
    this._render(run);
    if (run.end_time === null) { // still running
      this._liveTimer = window.setTimeout(() => this._live(), LIVE_MS);
    }
  }

  dispose(): void {
    window.clearTimeout(this._liveTimer);
    this._revokeUrls();
    super.dispose();
  }

  /** Read a RUNNING run again, unless hidden or a tag is being edited (then wait). */
  private _live(): void {
    const tagInputs = [...this.node.querySelectorAll<HTMLInputElement>('.jp-TrackerView-tags input')];
    const editing = tagInputs.some(i => i === document.activeElement || i.value !== i.defaultValue);
    if (this.isDisposed) {
      return;
    }
    if (!this.isVisible || document.hidden || editing) {
      this._liveTimer = window.setTimeout(() => this._live(), LIVE_MS);
      return;
    }
    void this.load();
  }

  private _render(run: IRunDetail): void {
    this._revokeUrls();
    this.title.label = `${run.name || run.run_id.slice(0, 8)}`;
    this.title.caption = `Run ${run.run_id}`;
    const header = el('div', 'jp-TrackerView-header');
    const name = el('h2', 'jp-TrackerView-title', run.name || '(unnamed)');
    const badge = el('span', 'jp-TrackerRun-status', run.status);
    badge.dataset.status = run.status;
    header.append(name, badge);

    const actions = el('div', 'jp-TrackerView-actions');
    this._cellMessage = el('div', 'jp-TrackerView-cellMessage');
    this._cellMessage.hidden = true;
    const goto = el('button', 'jp-TrackerView-goto jp-mod-styled jp-mod-accept', 'Go to cell');
    goto.disabled = !run.notebook;
    goto.title = run.notebook ? `Open ${run.notebook} at the run's cell` : 'This run was not made by a notebook cell';
    goto.addEventListener('click', async () => {
      const message = await this._host.goToCell(run);
      this._cellMessage.textContent = message ?? '';
      this._cellMessage.hidden = !message;
    });
    const reload = el('button', 'jp-TrackerView-reload jp-mod-styled', 'Refresh');
    reload.addEventListener('click', () => void this.load());
    actions.append(goto, reload);

    const about = table([
      ['Run id', run.run_id],
      ['Experiment', run.experiment],
      ['Started', formatTime(run.start_time)],
      ['Duration', formatDuration(run.start_time, run.end_time)],
      ['Notebook', run.notebook ?? ''],
      ['Cell id', run.cell_id ?? ''],
      ['Host', run.host ?? '']
    ].filter(([, v]) => v !== '') as [string, string][]);

    const parts: HTMLElement[] = [header, actions, this._cellMessage, about];
    if (run.deleted) {
      parts.splice(1, 0, this._deletedNotice(run));
    }
    parts.push(this._links(run));
    if (run.error) {
      const s = section('Error');
      s.append(el('pre', 'jp-TrackerView-source', run.error));
      parts.push(s);
    }
    const warnings = run.capture?.warnings ?? [];
    if (warnings.length) {
      const s = section('Warnings');
      const ul = el('ul', 'jp-TrackerView-warnings');
      warnings.forEach(w => ul.append(el('li', '', w)));
      s.append(ul);
      parts.push(s);
    }
    const params = section('Params');
    const keys = Object.keys(run.params).sort();
    params.append(keys.length ? table(keys.map(k => [k, run.params[k]])) : el('p', '', 'No params.'));
    parts.push(params, this._metrics(run), this._tags(run), this._artifacts(run));
    if (run.source !== null) {
      const s = section('Source');
      s.append(this._source(run.source));
      parts.push(s);
    }
    this.node.replaceChildren(...parts);
  }

  /** "This run is deleted", with a Restore button. */
  private _deletedNotice(run: IRunDetail): HTMLElement {
    const notice = el('div', 'jp-TrackerView-deleted');
    notice.setAttribute('role', 'status');
    const text = el('span', 'jp-TrackerView-deletedText', 'This run is deleted.');
    const hint = el(
      'span',
      'jp-TrackerView-deletedHint',
      'The sidebar lists it under "Show deleted" until `jupyter-tracker gc` purges it.'
    );
    const restore = el('button', 'jp-TrackerView-restore jp-mod-styled jp-mod-accept', 'Restore');
    restore.addEventListener('click', () => {
      restore.disabled = true;
      void this._host.restore(run.run_id).finally(() => (restore.disabled = false));
    });
    notice.append(text, hint, restore);
    return notice;
  }

  private _links(run: IRunDetail): HTMLElement {
    const box = el('div', 'jp-TrackerView-links');
    const link = (label: string, id: string) => {
      const a = el('a', 'jp-TrackerView-runLink', `${label} ${id.slice(0, 8)}`);
      a.href = '#';
      a.dataset.runId = id;
      a.addEventListener('click', event => {
        event.preventDefault();
        this._host.openRun(id);
      });
      box.append(a);
    };
    if (run.parent_id) {
      link('Parent', run.parent_id);
    }
    if (run.rerun_of) {
      link('Re-run of', run.rerun_of);
    }
    const children = requestAPI<{ runs: { run_id: string; name: string }[] }>(
      `runs?filter=${encodeURIComponent(`parent_id = '${run.run_id}'`)}&limit=100`
    );
    children.then(
      page => page.runs.forEach(child => link(`Child ${child.name}`, child.run_id)),
      () => undefined
    );
    return box;
  }

  private _metrics(run: IRunDetail): HTMLElement {
    const s = section('Metrics');
    const keys = Object.keys(run.metric_summary).sort();
    if (!keys.length) {
      s.append(el('p', '', 'No metrics.'));
      return s;
    }
    const t = el('table', 'jp-TrackerView-table jp-TrackerView-metrics');
    const head = el('tr', '');
    ['', 'metric', 'last', 'min', 'max', 'steps'].forEach(h => head.append(el('th', '', h)));
    t.append(head);
    const chosen = this._chosen ?? new Set<string>();
    const chart = el('div', 'jp-TrackerView-chart');
    const controls: CurveControls = new CurveControls(() => {
      this._curves = { log: controls.log, smoothing: controls.smoothing };
      redraw();
    }, this._curves);
    const redraw = () =>
      void this._drawCurves(run.run_id, [...chosen], controls.log, controls.smoothing, chart);
    for (const key of keys) {
      const m = run.metric_summary[key];
      const tr = el('tr', '');
      const box = el('input', 'jp-TrackerView-curve');
      box.type = 'checkbox';
      box.checked = chosen.has(key);
      box.title = 'Draw this curve';
      box.addEventListener('change', () => {
        box.checked ? chosen.add(key) : chosen.delete(key);
        redraw();
      });
      const cell = el('td', '');
      cell.append(box);
      tr.append(cell, el('td', '', key), el('td', '', formatValue(m.last)), el('td', '', formatValue(m.min)),
        el('td', '', formatValue(m.max)), el('td', '', String(m.count)));
      t.append(tr);
    }
    s.append(t, controls.node, chart);
    redraw();
    return s;
  }

  private async _drawCurves(
    runId: string,
    keys: string[],
    log: boolean,
    smoothing: number,
    into: HTMLElement
  ): Promise<void> {
    await this._fetchPoints(runId, keys);
    const series: ISeries[] = keys
      .filter(key => this._points.has(key))
      .map(key => ({ label: key, steps: this._points.get(key)!.steps, values: this._points.get(key)!.values }));
    into.replaceChildren(
      series.length ? drawChart(series, log, smoothing) : el('p', '', 'Tick a metric to draw its curve.')
    );
  }

  /** The points of these metrics not read yet (a metric that fails to load is left out). */
  private async _fetchPoints(runId: string, keys: string[]): Promise<void> {
    await Promise.all(
      keys
        .filter(key => !this._points.has(key))
        .map(async key => {
          try {
            const points = await requestAPI<IMetricPoints>(
              `runs/${encodeURIComponent(runId)}/metrics/${encodePath(key)}?points=${CURVE_POINTS}`
            );
            this._points.set(key, points);
          } catch {
            // drawn without it
          }
        })
    );
  }

  private _tags(run: IRunDetail): HTMLElement {
    const s = section('Tags');
    const t = el('table', 'jp-TrackerView-table jp-TrackerView-tags');
    const status = el('div', 'jp-TrackerView-tagStatus', this._tagMessage);
    this._tagMessage = ''; // said once, after the reload that shows the tag
    const row = (key: string, value: string, fresh: boolean) => {
      const tr = el('tr', '');
      const keyCell = el('th', '');
      const keyInput = el('input', 'jp-TrackerView-tagKey');
      keyInput.defaultValue = key;
      keyInput.readOnly = !fresh;
      keyInput.placeholder = 'new tag';
      keyCell.append(keyInput);
      const valueCell = el('td', '');
      const valueInput = el('input', 'jp-TrackerView-tagValue');
      valueInput.defaultValue = value;
      const save = el('button', 'jp-TrackerView-tagSave jp-mod-styled', 'Set');
      save.addEventListener('click', async () => {
        const k = keyInput.value.trim();
        if (!k) {
          return;
        }
        try {
          await requestAPI(`runs/${encodeURIComponent(run.run_id)}/tags/${encodePath(k)}`, {
            method: 'PUT',
            body: JSON.stringify({ value: valueInput.value })
          });
          this._tagMessage = `Tag ${k} set.`;
          void this.load();
        } catch (error) {
          status.textContent = (error as Error).message;
        }
      });
      valueCell.append(valueInput, save);
      tr.append(keyCell, valueCell);
      t.append(tr);
    };
    Object.keys(run.tags).sort().forEach(k => row(k, run.tags[k], false));
    row('', '', true);
    s.append(t, status);
    return s;
  }

  /** The cell source, highlighted as Python when JupyterLab's languages are at hand. */
  private _source(source: string): HTMLElement {
    const pre = el('pre', 'jp-TrackerView-source');
    const languages = this._host.languages;
    if (!languages) {
      pre.textContent = source;
      return pre;
    }
    mountHighlightStyle();
    pre.classList.add('jp-TrackerView-highlighted');
    languages.highlight(source, languages.findBest('python'), pre).catch(() => {
      pre.textContent = source;
    });
    return pre;
  }

  private _artifacts(run: IRunDetail): HTMLElement {
    const s = section('Artifacts');
    if (!run.artifacts.length) {
      s.append(el('p', '', 'No artifacts.'));
      return s;
    }
    const ul = el('ul', 'jp-TrackerView-artifacts');
    let previews = 0;
    for (const a of run.artifacts) {
      const li = el('li', '');
      const link = el('a', 'jp-TrackerView-artifact', a.path);
      link.href = artifactUrl(run.run_id, a.path, a.version);
      link.download = a.path.split('/').pop() ?? a.path;
      li.append(link, el('span', 'jp-TrackerView-artifactMeta', ` v${a.version}, ${a.size.toLocaleString()} bytes, ${a.media_type}`));
      const preview = previewKind(a.media_type, a.size);
      if (preview.kind !== 'none') {
        li.append(this._preview(run.run_id, a, preview, previews++ < FIRST_PREVIEWS));
      }
      ul.append(li);
    }
    s.append(ul);
    return s;
  }

  /** A collapsible preview of one artifact, read when first opened (and kept while open). */
  private _preview(
    runId: string,
    artifact: IArtifact,
    preview: Preview,
    openAtFirst: boolean
  ): HTMLElement {
    const key = `${artifact.path}@${artifact.version}`;
    const details = el('details', 'jp-TrackerView-preview');
    details.dataset.kind = preview.kind;
    details.append(el('summary', '', 'Preview'));
    let loaded = false;
    const load = () => {
      this._previewOpen.set(key, details.open);
      if (!details.open || loaded) {
        return;
      }
      loaded = true;
      const body = el('div', 'jp-TrackerView-previewBody', 'Loading…');
      details.append(body);
      let bytes = this._bytes.get(key);
      if (!bytes) {
        bytes = fetchArtifact(runId, artifact);
        this._bytes.set(key, bytes);
      }
      bytes.then(
        blob => body.replaceChildren(this._previewContent(blob, preview, artifact.path)),
        error => {
          this._bytes.delete(key); // tried again on the next read
          const message = `Could not load the preview: ${(error as Error).message}`;
          body.replaceChildren(el('div', 'jp-TrackerView-previewError', message));
        }
      );
    };
    details.addEventListener('toggle', load);
    details.open = this._previewOpen.get(key) ?? openAtFirst;
    load();
    return details;
  }

  /** The preview itself: an image from a typed Blob, text in a <pre>, or a table, all as text. */
  private _previewContent(blob: Blob, preview: Preview, path: string): HTMLElement {
    if (blob.size > (preview.kind === 'image' ? IMAGE_PREVIEW_MAX : TEXT_PREVIEW_MAX)) {
      return el('div', 'jp-TrackerView-previewError', 'Too big to preview.');
    }
    if (preview.kind === 'image') {
      const url = URL.createObjectURL(new Blob([blob], { type: preview.mediaType }));
      this._urls.push(url);
      const img = el('img', 'jp-TrackerView-previewImage');
      img.alt = path;
      img.src = url;
      return img;
    }
    const box = el('div', '');
    void blob.text().then(text => {
      if (preview.kind === 'table') {
        const { rows, truncatedRows, truncatedColumns } = parseDelimited(text, preview.delimiter);
        const t = el('table', 'jp-TrackerView-table jp-TrackerView-previewTable');
        rows.forEach((row, i) => {
          const tr = el('tr', '');
          row.forEach(cell => tr.append(el(i === 0 ? 'th' : 'td', '', cell)));
          t.append(tr);
        });
        box.append(t);
        if (truncatedRows || truncatedColumns) {
          box.append(el('div', 'jp-TrackerView-previewMore', '… (truncated)'));
        }
      } else {
        const head = headLines(text);
        box.append(el('pre', 'jp-TrackerView-previewText', head.text));
        if (head.truncated) {
          box.append(el('div', 'jp-TrackerView-previewMore', '… (truncated)'));
        }
      }
    });
    return box;
  }

  /** Let go of the previous rendering's image URLs. */
  private _revokeUrls(): void {
    this._urls.forEach(url => URL.revokeObjectURL(url));
    this._urls = [];
  }

  private _host: IRunViewHost;
  /** Artifact bytes read for previews, by path@version (an artifact version never changes). */
  private _bytes = new Map<string, Promise<Blob>>();
  /** Whether each preview was left open, kept across re-renderings. */
  private _previewOpen = new Map<string, boolean>();
  /** Object URLs of the shown images, revoked when the view is rendered again or disposed. */
  private _urls: string[] = [];
  private _points = new Map<string, IMetricPoints>();
  private _cellMessage: HTMLDivElement = el('div', '');
  private _tagMessage = '';
  /** The ticked curves (null until the run has metrics: then the first few). */
  private _chosen: Set<string> | null = null;
  private _curves = { log: false, smoothing: 0 };
  private _liveTimer = 0;
}

/** An absolute notebook path made one the file browser opens (see `relativePath`). */
export function serverRelative(path: string, open: readonly string[] = []): string {
  return relativePath(path, PageConfig.getOption('serverRoot') || '', open);
}
