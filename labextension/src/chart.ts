/**
 * Metric curves as a small SVG: `smooth` and `chartLines` (smoothing as TensorBoard does:
 * the raw curve kept faint) and `layoutChart` (path data and ticks) are pure and tested;
 * `drawChart` puts them in the page with theme colours (style/sidebar.css) and
 * `CurveControls` are the log-scale and smoothing inputs above a chart.
 */

import { el } from './dom';
import { JsonFloat } from './tokens';
import { formatValue, toNumber } from './format';

/** One curve: a label and its points (values may be NaN or infinite: gaps). */
export interface ISeries {
  label: string;
  steps: number[];
  values: JsonFloat[];
}

export interface IChartLayout {
  /** One SVG path `d` per series ('' when it has no drawable point). */
  paths: string[];
  /** Per series, its points with no drawable neighbour (a line cannot show them). */
  dots: { x: number; y: number }[][];
  xTicks: { pos: number; text: string }[];
  yTicks: { pos: number; text: string }[];
}

/** The smoothing slider's range: 0 (raw) to this weight. */
export const MAX_SMOOTHING = 0.99;

/**
 * The exponential moving average TensorBoard draws, debiased so the first points are not
 * pulled towards 0: `weight` 0 returns the values, 0.99 smooths hardest. NaN and infinite
 * values stay gaps (and do not enter the average); a constant series stays as it is.
 */
export function smooth(values: JsonFloat[], weight: number): number[] {
  const numbers = values.map(toNumber);
  const w = Math.min(Math.max(weight, 0), MAX_SMOOTHING);
  const finite = numbers.filter(Number.isFinite);
  if (w === 0 || finite.every(v => v === finite[0])) {
    return numbers;
  }
  let last = 0;
  let count = 0;
  return numbers.map(v => {
    if (!Number.isFinite(v)) {
      return v;
    }
    last = last * w + (1 - w) * v;
    count += 1;
    return last / (1 - w ** count);
  });
}

/** One drawn line: the series' points, its colour index and whether it is the faint raw one. */
export interface IChartLine {
  series: ISeries;
  colour: number;
  faint: boolean;
}

/** The lines to draw: each series as is, or (smoothing > 0) faint raw then smoothed on top. */
export function chartLines(series: ISeries[], smoothing: number): IChartLine[] {
  if (!(smoothing > 0)) {
    return series.map((s, i) => ({ series: s, colour: i % 8, faint: false }));
  }
  return [
    ...series.map((s, i) => ({ series: s, colour: i % 8, faint: true })),
    ...series.map((s, i) => ({
      series: { ...s, values: smooth(s.values, smoothing) },
      colour: i % 8,
      faint: false
    }))
  ];
}

export const WIDTH = 480;
export const HEIGHT = 220;
const PAD = { left: 56, right: 10, top: 10, bottom: 24 };

/** Path data and ticks; on a log scale values <= 0 are gaps like NaN. */
export function layoutChart(series: ISeries[], log: boolean, width = WIDTH, height = HEIGHT): IChartLayout {
  const usable = (v: number) => Number.isFinite(v) && (!log || v > 0);
  const ty = (v: number) => (log ? Math.log10(v) : v);
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (const s of series) {
    s.values.forEach((raw, i) => {
      const v = toNumber(raw);
      if (usable(v)) {
        x0 = Math.min(x0, s.steps[i]);
        x1 = Math.max(x1, s.steps[i]);
        y0 = Math.min(y0, ty(v));
        y1 = Math.max(y1, ty(v));
      }
    });
  }
  if (x0 > x1) {
    return { paths: series.map(() => ''), dots: series.map(() => []), xTicks: [], yTicks: [] };
  }
  if (x0 === x1) {
    x1 = x0 + 1;
  }
  if (y0 === y1) {
    y0 -= 0.5;
    y1 += 0.5;
  }
  const sx = (x: number) => PAD.left + ((x - x0) / (x1 - x0)) * (width - PAD.left - PAD.right);
  const sy = (y: number) => height - PAD.bottom - ((y - y0) / (y1 - y0)) * (height - PAD.top - PAD.bottom);
  const dots: { x: number; y: number }[][] = [];
  const paths = series.map(s => {
    let d = '';
    let pen = 'M';
    const drawable = s.values.map(raw => usable(toNumber(raw)));
    const mine: { x: number; y: number }[] = [];
    s.values.forEach((raw, i) => {
      if (!drawable[i]) {
        pen = 'M';
        return;
      }
      const x = Number(sx(s.steps[i]).toFixed(1));
      const y = Number(sy(ty(toNumber(raw))).toFixed(1));
      d += `${pen}${x},${y}`;
      pen = 'L';
      if (!drawable[i - 1] && !drawable[i + 1]) {
        mine.push({ x, y });
      }
    });
    dots.push(mine);
    return d;
  });
  const ticks = (lo: number, hi: number) => [0, 0.5, 1].map(f => lo + f * (hi - lo));
  const xTicks = [...new Set(ticks(x0, x1).map(Math.round))] // whole steps, each once, in place
    .map(x => ({ pos: sx(x), text: formatValue(x) }));
  return {
    paths,
    dots,
    xTicks,
    yTicks: ticks(y0, y1).map(y => ({ pos: sy(y), text: formatValue(log ? 10 ** y : y) }))
  };
}

const SVG_NS = 'http://www.w3.org/2000/svg';

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG_NS, tag);
  Object.entries(attrs).forEach(([k, v]) => node.setAttribute(k, String(v)));
  return node;
}

/**
 * The curves as an `<svg>` with a legend; colours from the `jp-TrackerChart-cN` classes.
 * With `smoothing` > 0 each curve is drawn smoothed over its faint raw points.
 */
export function drawChart(series: ISeries[], log: boolean, smoothing = 0): HTMLElement {
  const box = document.createElement('div');
  box.className = 'jp-TrackerChart';
  const lines = chartLines(series, smoothing);
  const layout = layoutChart(
    lines.map(line => line.series),
    log
  );
  const root = svg('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, width: WIDTH, height: HEIGHT, role: 'img' });
  root.append(svg('line', { class: 'jp-TrackerChart-axis', x1: PAD.left, x2: PAD.left, y1: PAD.top, y2: HEIGHT - PAD.bottom }));
  root.append(svg('line', { class: 'jp-TrackerChart-axis', x1: PAD.left, x2: WIDTH - PAD.right, y1: HEIGHT - PAD.bottom, y2: HEIGHT - PAD.bottom }));
  layout.yTicks.forEach(t => {
    const text = svg('text', { class: 'jp-TrackerChart-tick', x: PAD.left - 4, y: t.pos + 4, 'text-anchor': 'end' });
    text.textContent = t.text;
    root.append(text);
  });
  layout.xTicks.forEach(t => {
    const text = svg('text', { class: 'jp-TrackerChart-tick', x: t.pos, y: HEIGHT - 6, 'text-anchor': 'middle' });
    text.textContent = t.text;
    root.append(text);
  });
  layout.paths.forEach((d, i) => {
    if (d) {
      const { colour, faint } = lines[i];
      const kind = faint ? 'jp-TrackerChart-raw' : 'jp-TrackerChart-line';
      const path = svg('path', { class: `${kind} jp-TrackerChart-c${colour}`, d });
      const title = svg('title', {});
      title.textContent = faint ? `${lines[i].series.label} (raw)` : lines[i].series.label;
      path.append(title);
      root.append(path);
    }
    if (!lines[i].faint) {
      layout.dots[i].forEach(({ x, y }) => {
        const dot = svg('circle', { class: `jp-TrackerChart-dot jp-TrackerChart-c${lines[i].colour}`, cx: x, cy: y, r: 3 });
        const title = svg('title', {});
        title.textContent = lines[i].series.label;
        dot.append(title);
        root.append(dot);
      });
    }
  });
  box.append(root);
  const legend = document.createElement('div');
  legend.className = 'jp-TrackerChart-legend';
  series.forEach((s, i) => {
    const item = document.createElement('span');
    item.className = `jp-TrackerChart-key jp-TrackerChart-c${i % 8}`;
    item.textContent = s.label;
    legend.append(item);
  });
  box.append(legend);
  return box;
}

/** The inputs above a chart: log scale and smoothing; `onChange` redraws. */
export class CurveControls {
  constructor(onChange: () => void, initial = { log: false, smoothing: 0 }) {
    this.node = el('div', 'jp-TrackerChart-controls');
    this._log.type = 'checkbox';
    this._log.checked = initial.log;
    this._log.addEventListener('change', onChange);
    const logLabel = el('label', 'jp-TrackerView-logLabel');
    logLabel.append(this._log, document.createTextNode(' log scale'));
    this._smoothing.type = 'range';
    this._smoothing.min = '0';
    this._smoothing.max = String(MAX_SMOOTHING);
    this._smoothing.step = '0.01';
    this._smoothing.value = String(initial.smoothing);
    this._smoothing.setAttribute('aria-label', 'Smoothing');
    this._smoothing.title = 'Exponential moving average of the points (0: raw)';
    this._smoothing.addEventListener('input', () => {
      this._showWeight();
      onChange();
    });
    const smoothLabel = el('label', 'jp-TrackerChart-smoothLabel', 'smoothing ');
    smoothLabel.append(this._smoothing, this._weight);
    this._showWeight();
    this.node.append(logLabel, smoothLabel);
  }

  readonly node: HTMLDivElement;

  get log(): boolean {
    return this._log.checked;
  }

  get smoothing(): number {
    return Number(this._smoothing.value);
  }

  private _showWeight(): void {
    this._weight.textContent = ` ${this.smoothing.toFixed(2)}`;
  }

  private _log = el('input', 'jp-TrackerView-log');
  private _smoothing = el('input', 'jp-TrackerChart-smoothing');
  private _weight = el('span', 'jp-TrackerChart-weight');
}
