// The pure helpers of src/format.ts, compiled to CommonJS by `npm test`.
const test = require('node:test');
const assert = require('node:assert/strict');
const f = require('../node_modules/.cache/tracker-tests/format.js');

test('formatValue: significant digits, NaN and infinities by name', () => {
  assert.equal(f.formatValue(0.123456), '0.1235');
  assert.equal(f.formatValue(3), '3');
  assert.equal(f.formatValue(1.5e-7), '1.500e-7');
  assert.equal(f.formatValue('NaN'), 'NaN');
  assert.equal(f.formatValue('Infinity'), 'inf');
  assert.equal(f.formatValue('-Infinity'), '-inf');
  assert.equal(f.formatValue(null), '');
});

test('runsEndpoint leaves out empty arguments and encodes the filter', () => {
  assert.equal(f.runsEndpoint({}), 'runs');
  assert.equal(f.runsEndpoint({ filter: ' ', order_by: '', after: null, limit: 200 }), 'runs?limit=200');
  assert.equal(f.runsEndpoint({ after: 'eyJ4Ijo-MX0', limit: 50 }), 'runs?after=eyJ4Ijo-MX0&limit=50');
  const url = f.runsEndpoint({ filter: "params.lr = '0.1' and metrics.loss < 1" });
  assert.equal(new URLSearchParams(url.split('?')[1]).get('filter'), "params.lr = '0.1' and metrics.loss < 1");
});

test('encodePath keeps slashes and encodes each part', () => {
  assert.equal(f.encodePath('plots/a b#1.png'), 'plots/a%20b%231.png');
});

test('nextPollDelay: fast while busy, doubling to the slow cap when idle', () => {
  assert.equal(f.nextPollDelay(30000, true), f.FAST_POLL_MS);
  let delay = f.FAST_POLL_MS;
  const seen = [];
  for (let i = 0; i < 6; i++) {
    delay = f.nextPollDelay(delay, false);
    seen.push(delay);
  }
  assert.deepEqual(seen, [4000, 8000, 16000, 30000, 30000, 30000]);
});

test('formatDuration', () => {
  assert.equal(f.formatDuration(0, 1500), '1.5 s');
  assert.equal(f.formatDuration(0, 125000), '2 min 5 s');
  assert.equal(f.formatDuration(0, 3720000), '1 h 2 min');
  assert.equal(f.formatDuration(0, null), '');
});

test('best metric: direction by name, NaN never best', () => {
  assert.equal(f.higherIsBetter('val_accuracy'), true);
  assert.equal(f.higherIsBetter('trainLoss'), false);
  assert.equal(f.bestIndex([0.5, 'NaN', 0.2, 0.2], false), 2);
  assert.equal(f.bestIndex([0.5, 'NaN', 0.9], true), 2);
  assert.equal(f.bestIndex(['NaN', null], true), -1);
});

test('differingKeys counts a missing key as a difference', () => {
  const runs = [{ a: '1', b: '2', c: '3' }, { a: '1', b: '5' }];
  assert.deepEqual(f.differingKeys(runs), ['b', 'c']);
  assert.deepEqual(f.allKeys(runs), ['a', 'b', 'c']);
});

test('allOf: filters and-ed, each in parentheses; empty ones left out', () => {
  assert.equal(f.allOf('', ' '), '');
  assert.equal(f.allOf('a = 1', ''), 'a = 1');
  assert.equal(f.allOf('a = 1 or b = 2', 'c = 3'), '(a = 1 or b = 2) and (c = 3)');
});

test('relativePath: under the server root, else the open notebook it ends with', () => {
  assert.equal(f.relativePath('/srv/root/a/b.ipynb', '/srv/root/'), 'a/b.ipynb');
  assert.equal(f.relativePath('C:\\root\\b.ipynb', 'C:\\root'), 'b.ipynb');
  // Notebook 7 gives no root: the longest open path the absolute one ends with.
  const open = ['b.ipynb', 'a/b.ipynb', 'xa/b.ipynb'];
  assert.equal(f.relativePath('/srv/root/a/b.ipynb', '', open), 'a/b.ipynb');
  assert.equal(f.relativePath('/srv/root/c.ipynb', '', open), 'srv/root/c.ipynb');
  assert.equal(f.relativePath('/srv/root/ab.ipynb', '', open), 'srv/root/ab.ipynb');
});
