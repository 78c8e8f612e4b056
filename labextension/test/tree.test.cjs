// Grouping, nesting and paging of src/tree.ts and the curves' layout of src/chart.ts.
const test = require('node:test');
const assert = require('node:assert/strict');
const t = require('../node_modules/.cache/tracker-tests/tree.js');
const c = require('../node_modules/.cache/tracker-tests/chart.js');

const run = (run_id, extra = {}) => ({
  run_id, name: run_id, status: 'FINISHED', experiment: 'Default', start_time: 0, end_time: 1,
  parent_id: null, notebook: null, cell_id: null, rerun_of: null, params: {}, metrics: {}, tags: {},
  ...extra
});

test('sameNotebook matches relative and absolute recordings of one path', () => {
  assert.ok(t.sameNotebook('/home/u/work/nb/a.ipynb', 'nb/a.ipynb'));
  assert.ok(t.sameNotebook('./nb//a.ipynb', 'nb/a.ipynb'));
  assert.ok(!t.sameNotebook('/home/u/work/nb/xa.ipynb', 'a.ipynb'));
  assert.ok(!t.sameNotebook(null, 'a.ipynb'));
});

test('groups: the active notebook first, then experiments in order, children nested', () => {
  const runs = [
    run('c2', { parent_id: 'p', experiment: 'mnist' }),
    run('c1', { parent_id: 'p', experiment: 'mnist' }),
    run('x', { experiment: 'cifar', notebook: '/r/nb.ipynb' }),
    run('p', { experiment: 'mnist' }),
    run('orphan', { parent_id: 'gone', experiment: 'mnist' })
  ];
  const groups = t.groupRuns(runs, 'nb.ipynb');
  assert.deepEqual(groups.map(g => g.key), ['notebook:', 'experiment:mnist', 'experiment:cifar']);
  const mnist = groups[1];
  assert.deepEqual(mnist.nodes.map(n => n.run.run_id), ['p', 'orphan']);
  assert.deepEqual(mnist.nodes[0].children.map(n => n.run.run_id), ['c2', 'c1']);
  assert.equal(mnist.count, 4);

  const rows = t.visibleRows(groups, new Set(['experiment:cifar']));
  const shape = rows.map(r => (r.kind === 'group' ? `[${r.group.key}]` : `${r.depth}:${r.node.run.run_id}`));
  assert.deepEqual(shape, ['[notebook:]', '0:x', '[experiment:mnist]', '0:p', '1:c2', '1:c1', '0:orphan', '[experiment:cifar]']);
});

test('paging: a fresh head replaces the first rows, pages append without duplicates', () => {
  const loaded = [run('a'), run('b'), run('c'), run('d')];
  const merged = t.mergeHead(loaded, [run('new'), run('a')]);
  assert.deepEqual(merged.map(r => r.run_id), ['new', 'a', 'c', 'd']);
  const appended = t.appendPage(merged, [run('d'), run('e')]);
  assert.deepEqual(appended.map(r => r.run_id), ['new', 'a', 'c', 'd', 'e']);
});

test('chart layout: gaps at NaN, log scale drops values <= 0', () => {
  const layout = c.layoutChart([{ label: 'loss', steps: [0, 1, 2, 3], values: [1, 'NaN', 0.5, 0.25] }], false);
  assert.equal((layout.paths[0].match(/M/g) || []).length, 2);
  assert.equal(layout.yTicks.length, 3);
  const log = c.layoutChart([{ label: 'x', steps: [0, 1, 2], values: [0, 10, 100] }], true);
  assert.equal((log.paths[0].match(/[ML]/g) || []).length, 2);
  assert.equal(log.yTicks[2].text, '100');
  const empty = c.layoutChart([{ label: 'x', steps: [], values: [] }], false);
  assert.deepEqual(empty.paths, ['']);
});

test('smooth: TensorBoard-style debiased EMA; 0 is raw; gaps and constants kept', () => {
  assert.deepEqual(c.smooth([1, 2, 3], 0), [1, 2, 3]);
  const s = c.smooth([1, 0, 1, 0], 0.5);
  assert.equal(s[0], 1); // debiased: the first point is not pulled towards 0
  assert.ok(Math.abs(s[1] - 1 / 3) < 1e-12); // (0.25 + 0) / 0.75
  assert.ok(s[2] > s[1] && s[3] < s[2]);
  assert.ok(Math.max(...s.slice(1)) < 1 && Math.min(...s) > 0);
  const gaps = c.smooth([1, 'NaN', 3, 'Infinity'], 0.6);
  assert.ok(Number.isNaN(gaps[1]));
  assert.equal(gaps[3], Infinity);
  assert.ok(gaps[2] > 1 && gaps[2] < 3);
  assert.deepEqual(c.smooth([2, 2, 2], 0.9), [2, 2, 2]);
  assert.equal(c.smooth([5, 1], 5)[0], 5); // weights beyond the slider are clamped
});

test('chartLines: raw faint under the smoothed curve, one colour per series', () => {
  const a = { label: 'a', steps: [0, 1], values: [1, 3] };
  const b = { label: 'b', steps: [0, 1], values: [2, 2] };
  assert.deepEqual(c.chartLines([a, b], 0).map(l => [l.series.label, l.colour, l.faint]),
    [['a', 0, false], ['b', 1, false]]);
  const lines = c.chartLines([a, b], 0.5);
  assert.deepEqual(lines.map(l => [l.series.label, l.colour, l.faint]),
    [['a', 0, true], ['b', 1, true], ['a', 0, false], ['b', 1, false]]);
  assert.deepEqual(lines[0].series.values, [1, 3]);
  assert.deepEqual(lines[2].series.values, c.smooth([1, 3], 0.5));
});

test('chart layout: a point with no drawable neighbour is a dot; whole-step ticks once', () => {
  const layout = c.layoutChart([{ label: 'loss', steps: [0, 1, 2, 3], values: [1, 'NaN', 0.5, 0.25] }], false);
  assert.equal(layout.dots[0].length, 1); // step 0, cut off by the NaN
  const one = c.layoutChart([{ label: 'acc', steps: [0], values: [0.5] }], false);
  assert.equal(one.dots[0].length, 1);
  assert.deepEqual(one.xTicks.map(t => t.text), ['0', '1']);
  const two = c.layoutChart([{ label: 'acc', steps: [0, 1], values: [0.5, 0.6] }], false);
  assert.deepEqual(two.dots, [[]]);
});

test('chart layout: an x tick sits at the step it names', () => {
  const layout = c.layoutChart([{ label: 'loss', steps: [0, 1, 2, 3], values: [4, 3, 2, 1] }], false, 480, 220);
  const at = step => 56 + (step / 3) * (480 - 56 - 10);
  assert.deepEqual(layout.xTicks.map(t => [t.text, Math.round(t.pos)]), [['0', at(0)], ['2', Math.round(at(2))], ['3', at(3)]]);
});

test('notebookClause: the filter twin of sameNotebook, quotes and wildcards escaped', () => {
  // Checked against the Python filter language (jupyter_tracker/store/_filter.py): these
  // clauses find '/root/dir/my_nb.ipynb' and 'dir/my_nb.ipynb' but not '/root/dir/myXnb.ipynb'.
  assert.equal(t.notebookClause('./dir//my_nb.ipynb'),
    "notebook = 'dir/my_nb.ipynb' or notebook LIKE '%/dir/my\\\\_nb.ipynb'");
  assert.equal(t.notebookClause("it's%.ipynb"),
    "notebook = 'it\\'s%.ipynb' or notebook LIKE '%/it\\'s\\\\%.ipynb'");
  assert.equal(t.filterString('a\\b'), "'a\\\\b'");
});

test("groups: the notebook's runs from the server first, then loaded ones; '+' when more", () => {
  const runs = [run('loaded', { notebook: '/r/nb.ipynb' }), run('other')];
  const server = { runs: [run('far', { notebook: 'nb.ipynb' }), run('loaded', { notebook: '/r/nb.ipynb' })], has_more: true };
  const [mine] = t.groupRuns(runs, 'nb.ipynb', server);
  assert.deepEqual(mine.nodes.map(n => n.run.run_id), ['far', 'loaded']);
  assert.equal(mine.count, 2);
  assert.equal(mine.more, true);
  const stale = { runs: [run('elsewhere', { notebook: 'other.ipynb' })], has_more: false };
  assert.deepEqual(t.groupRuns(runs, 'nb.ipynb', stale)[0].nodes.map(n => n.run.run_id), ['loaded']);
});
