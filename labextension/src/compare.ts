/**
 * The compare view in the main area for 2 to 20 runs: the params that differ (or all),
 * the final metrics with the best run marked, and one metric's curves overlaid.
 */

import { Widget } from '@lumino/widgets';

import { drawChart, IMetricPoints, ISeries } from './chart';
import { el } from './dom';
import { allKeys, bestIndex, differingKeys, encodePath, formatValue, higherIsBetter } from './format';
import { requestAPI } from './handler';
import { CURVE_POINTS } from './runview';
import { IRunDetail } from './tokens';

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
      const log = el('input', 'jp-TrackerView-log');
      log.type = 'checkbox';
      const label = el('label', 'jp-TrackerView-logLabel');
      label.append(log, document.createTextNode(' log scale'));
      const redraw = () => {
        this._metric = choose.value;
        void this._drawCurves(this._metric, log.checked, chart);
      };
      choose.addEventListener('change', redraw);
      log.addEventListener('change', redraw);
      curves.append(choose, label, chart);
      redraw();
    }
    this.node.replaceChildren(title, params, metrics, curves);
  }

  private async _drawCurves(key: string, log: boolean, into: HTMLElement): Promise<void> {
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
    into.replaceChildren(drawChart(series, log));
  }

  private _ids: string[];
  private _openRun: (id: string) => void;
  private _runs: IRunDetail[] = [];
  private _allParams = false;
  private _metric = '';
}
