/**
 * The compare view in the main area for 2 to 20 runs: the params that differ (or all),
 * the final metrics with the best run marked, one metric's curves overlaid, and each run's
 * cell source diffed against a baseline run's.
 */

import { Widget } from '@lumino/widgets';

import { CurveControls, drawChart, ISeries } from './chart';
import { diffRows, hasChanges, lineDiff } from './diff';
import { el } from './dom';
import { allKeys, bestIndex, differingKeys, encodePath, formatValue, higherIsBetter } from './format';
import { requestAPI } from './handler';
import { CURVE_POINTS } from './runview';
import { IMetricPoints, IRunDetail } from './tokens';

/** Several runs side by side. */
export class CompareView extends Widget {
  constructor(runIds: string[], openRun: (id: string) => void) {
    super();
    this._ids = runIds;
    this._openRun = openRun;
    this.addClass('jp-TrackerView');
    this.addClass('jp-TrackerCompare');
    this.id = `jupyter-tracker-compare-${Date.now()}`;
    this.title.label = `Compare ${runIds.length} runs`;
    this.title.closable = true;
    void this._load();
  }

  private async _load(): Promise<void> {
    try {
      this._runs = await Promise.all(
        this._ids.map(id => requestAPI<IRunDetail>(`runs/${encodeURIComponent(id)}`))
      );
    } catch (error) {
      this.node.replaceChildren(el('div', 'jp-TrackerView-error', `Could not load the runs: ${(error as Error).message}`));
      return;
    }
    this._render();
  }

  private _label(run: IRunDetail): string {
    return `${run.name || '(unnamed)'} ${run.run_id.slice(0, 8)}`;
  }

  private _header(first: string): HTMLTableRowElement {
    const tr = el('tr', '');
    tr.append(el('th', '', first));
    for (const run of this._runs) {
      const th = el('th', '');
      const a = el('a', 'jp-TrackerView-runLink', this._label(run));
      a.href = '#';
      a.addEventListener('click', event => {
        event.preventDefault();
        this._openRun(run.run_id);
      });
      th.append(a);
      tr.append(th);
    }
    return tr;
  }

  private _render(): void {
    const runs = this._runs;
    const title = el('h2', 'jp-TrackerView-title', `${runs.length} runs`);

    const params = el('section', 'jp-TrackerView-section');
    const allToggle = el('input', 'jp-TrackerCompare-all');
    allToggle.type = 'checkbox';
    allToggle.checked = this._allParams;
    allToggle.addEventListener('change', () => {
      this._allParams = allToggle.checked;
      this._render();
    });
    const toggleLabel = el('label', 'jp-TrackerCompare-toggle');
    toggleLabel.append(allToggle, document.createTextNode(' show all params'));
    const records = runs.map(r => r.params);
    const keys = this._allParams ? allKeys(records) : differingKeys(records);
    const pt = el('table', 'jp-TrackerView-table jp-TrackerCompare-params');
    pt.append(this._header('param'));
    for (const key of keys) {
      const tr = el('tr', '');
      tr.append(el('th', '', key));
      runs.forEach(r => tr.append(el('td', '', key in r.params ? r.params[key] : '—')));
      pt.append(tr);
    }
    params.append(
      el('h3', 'jp-TrackerView-heading', this._allParams ? 'Params' : 'Params that differ'),
      toggleLabel,
      keys.length ? pt : el('p', '', 'All params are the same.')
    );

    const metrics = el('section', 'jp-TrackerView-section');
    metrics.append(el('h3', 'jp-TrackerView-heading', 'Final metrics (best marked)'));
    const mt = el('table', 'jp-TrackerView-table jp-TrackerCompare-metrics');
    mt.append(this._header('metric'));
    const metricKeys = allKeys(runs.map(r => r.metrics));
    for (const key of metricKeys) {
      const values = runs.map(r => r.metrics[key]);
      const best = bestIndex(values, higherIsBetter(key));
      const tr = el('tr', '');
      tr.append(el('th', '', key));
      values.forEach((v, i) => {
        const td = el('td', i === best ? 'jp-mod-best' : '', formatValue(v));
        if (i === best) {
          td.title = higherIsBetter(key) ? 'Best (highest)' : 'Best (lowest)';
        }
        tr.append(td);
      });
      mt.append(tr);
    }
    metrics.append(metricKeys.length ? mt : el('p', '', 'No metrics.'));

    const curves = el('section', 'jp-TrackerView-section');
    curves.append(el('h3', 'jp-TrackerView-heading', 'Curves'));
    const chart = el('div', 'jp-TrackerView-chart');
    if (metricKeys.length) {
      const choose = el('select', 'jp-TrackerCompare-metric');
      metricKeys.forEach(k => {
        const o = el('option', '', k);
        o.value = k;
        choose.append(o);
      });
      this._metric = metricKeys.includes(this._metric) ? this._metric : metricKeys[0];
      choose.value = this._metric;
      const controls: CurveControls = new CurveControls(() => redraw());
      const redraw = () => {
        this._metric = choose.value;
        void this._drawCurves(this._metric, controls.log, controls.smoothing, chart);
      };
      choose.addEventListener('change', redraw);
      curves.append(choose, controls.node, chart);
      redraw();
    }
    this.node.replaceChildren(title, params, metrics, curves, this._sources());
  }

  /** Each run's source against the baseline's (the first run unless another is chosen). */
  private _sources(): HTMLElement {
    const runs = this._runs;
    const section = el('section', 'jp-TrackerView-section jp-TrackerCompare-sources');
    section.append(el('h3', 'jp-TrackerView-heading', 'Source diff'));
    const choose = el('select', 'jp-TrackerCompare-baseline');
    choose.setAttribute('aria-label', 'Baseline run');
    runs.forEach((run, i) => {
      const o = el('option', '', this._label(run));
      o.value = String(i);
      choose.append(o);
    });
    this._baseline = Math.min(this._baseline, runs.length - 1);
    choose.value = String(this._baseline);
    const label = el('label', 'jp-TrackerCompare-toggle', 'against ');
    label.append(choose);
    const diffs = el('div', 'jp-TrackerCompare-diffs');
    const draw = () => {
      const base = runs[this._baseline];
      diffs.replaceChildren(
        ...runs.filter(run => run !== base).map(run => this._diffBlock(base, run))
      );
    };
    choose.addEventListener('change', () => {
      this._baseline = Number(choose.value);
      draw();
    });
    draw();
    section.append(label, diffs);
    return section;
  }

  private _diffBlock(base: IRunDetail, run: IRunDetail): HTMLElement {
    const block = el('div', 'jp-TrackerDiff');
    block.append(el('div', 'jp-TrackerDiff-title', `${this._label(base)} → ${this._label(run)}`));
    if (base.source === null || run.source === null) {
      const which = run.source === null ? run : base;
      block.append(el('p', 'jp-TrackerDiff-note', `${this._label(which)} has no recorded source.`));
      return block;
    }
    const diff = lineDiff(base.source, run.source);
    if (!hasChanges(diff)) {
      block.append(el('p', 'jp-TrackerDiff-note', 'Same source.'));
      return block;
    }
    const lines = el('div', 'jp-TrackerDiff-lines');
    for (const row of diffRows(diff)) {
      if (row.kind === 'skip') {
        lines.append(el('div', 'jp-TrackerDiff-skip', `… ${row.count} unchanged line${row.count === 1 ? '' : 's'}`));
        continue;
      }
      const line = el('div', `jp-TrackerDiff-line jp-mod-${row.kind}`);
      const sign = { same: ' ', add: '+', del: '-' }[row.kind];
      line.append(
        el('span', 'jp-TrackerDiff-num', row.oldLine === null ? '' : String(row.oldLine)),
        el('span', 'jp-TrackerDiff-num', row.newLine === null ? '' : String(row.newLine)),
        el('span', 'jp-TrackerDiff-sign', sign),
        el('span', 'jp-TrackerDiff-text', row.text)
      );
      lines.append(line);
    }
    block.append(lines);
    return block;
  }

  private async _drawCurves(key: string, log: boolean, smoothing: number, into: HTMLElement): Promise<void> {
    const series: ISeries[] = await Promise.all(
      this._runs.map(async run => {
        try {
          const p = await requestAPI<IMetricPoints>(
            `runs/${encodeURIComponent(run.run_id)}/metrics/${encodePath(key)}?points=${CURVE_POINTS}`
          );
          return { label: this._label(run), steps: p.steps, values: p.values };
        } catch {
          return { label: this._label(run), steps: [], values: [] };
        }
      })
    );
    into.replaceChildren(drawChart(series, log, smoothing));
  }

  private _ids: string[];
  private _openRun: (id: string) => void;
  private _runs: IRunDetail[] = [];
  private _allParams = false;
  private _metric = '';
  private _baseline = 0;
}
