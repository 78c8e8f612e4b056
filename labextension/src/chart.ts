/**
 * Metric curves as a small SVG: `layoutChart` (pure, tested) turns series into path data
 * and ticks, `drawChart` puts them in the page with theme colours (style/base.css).
 */

import { JsonFloat } from './tokens';
import { formatValue, toNumber } from './format';

/** `GET runs/{id}/metrics/{key}?points=N`: the metric's (downsampled) points. */
export interface IMetricPoints {
  key: string;
  count: number;
  steps: number[];
  values: JsonFloat[];
  times: number[];
}

/** One curve: a label and its points (values may be NaN or infinite: gaps). */
export interface ISeries {
  label: string;
  steps: number[];
  values: JsonFloat[];
}

export interface IChartLayout {
  /** One SVG path `d` per series ('' when it has no drawable point). */
  paths: string[];
  xTicks: { pos: number; text: string }[];
  yTicks: { pos: number; text: string }[];
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
    return { paths: series.map(() => ''), xTicks: [], yTicks: [] };
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
  const paths = series.map(s => {
    let d = '';
    let pen = 'M';
    s.values.forEach((raw, i) => {
      const v = toNumber(raw);
      if (!usable(v)) {
        pen = 'M';
        return;
      }
      d += `${pen}${sx(s.steps[i]).toFixed(1)},${sy(ty(v)).toFixed(1)}`;
      pen = 'L';
    });
    return d;
  });
  const ticks = (lo: number, hi: number) => [0, 0.5, 1].map(f => lo + f * (hi - lo));
  return {
    paths,
    xTicks: ticks(x0, x1).map(x => ({ pos: sx(x), text: formatValue(Math.round(x)) })),
    yTicks: ticks(y0, y1).map(y => ({ pos: sy(y), text: formatValue(log ? 10 ** y : y) }))
  };
}

const SVG_NS = 'http://www.w3.org/2000/svg';

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG_NS, tag);
  Object.entries(attrs).forEach(([k, v]) => node.setAttribute(k, String(v)));
  return node;
}

/** The curves as an `<svg>` with a legend; colours from the `jp-TrackerChart-cN` classes. */
export function drawChart(series: ISeries[], log: boolean): HTMLElement {
  const box = document.createElement('div');
  box.className = 'jp-TrackerChart';
  const layout = layoutChart(series, log);
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
      const path = svg('path', { class: `jp-TrackerChart-line jp-TrackerChart-c${i % 8}`, d });
      const title = svg('title', {});
      title.textContent = series[i].label;
      path.append(title);
      root.append(path);
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
