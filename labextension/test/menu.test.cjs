// Which context-menu actions apply to a sidebar row (src/menu.ts).
const test = require('node:test');
const assert = require('node:assert/strict');
const m = require('../node_modules/.cache/tracker-tests/menu.js');

const run = (extra = {}) => ({
  run_id: 'abcdef0123456789', name: 'baseline', status: 'FINISHED', experiment: 'Default',
  start_time: 0, end_time: 1, parent_id: null, notebook: '/r/nb.ipynb', cell_id: 'c1',
  rerun_of: null, params: {}, metrics: {}, tags: {}, ...extra
});
const enabled = target => m.RUN_ACTIONS.filter(action => m.actionEnabled(action, target));

test('an active run: everything but restore; compare once 2 to 20 runs are ticked', () => {
  assert.deepEqual(enabled({ run: run(), view: 'active', selected: 0 }),
    ['open', 'goToCell', 'exportRun', 'setTag', 'deleteRun']);
  assert.ok(m.actionEnabled('compare', { run: run(), view: 'active', selected: 2 }));
  assert.ok(m.actionEnabled('compare', { run: run(), view: 'active', selected: 20 }));
  assert.ok(!m.actionEnabled('compare', { run: run(), view: 'active', selected: 1 }));
  assert.ok(!m.actionEnabled('compare', { run: run(), view: 'active', selected: 21 }));
});

test('a RUNNING run can still be asked to delete (the server explains its 409)', () => {
  assert.ok(m.actionEnabled('deleteRun', { run: run({ status: 'RUNNING', end_time: null }), view: 'active', selected: 0 }));
});

test('go to cell needs both a notebook and a cell id', () => {
  assert.ok(!m.actionEnabled('goToCell', { run: run({ notebook: null }), view: 'active', selected: 0 }));
  assert.ok(!m.actionEnabled('goToCell', { run: run({ cell_id: null }), view: 'active', selected: 0 }));
});

test('a deleted run: open and restore only', () => {
  assert.deepEqual(enabled({ run: run(), view: 'deleted', selected: 0 }), ['open', 'restoreRun']);
});

test('no run under the pointer: only compare, when runs are ticked', () => {
  assert.deepEqual(enabled({ run: undefined, view: 'active', selected: 0 }), []);
  assert.deepEqual(enabled({ run: undefined, view: 'active', selected: 3 }), ['compare']);
});

test('the delete prompt names the run as text, with its short id', () => {
  const text = m.deletePrompt({ run_id: 'abcdef0123456789', name: '<b>x</b>' });
  assert.match(text, /"<b>x<\/b>" \(abcdef01\)/);
  assert.match(m.deletePrompt({ run_id: 'abcdef0123456789', name: '' }), /^Delete run abcdef01\?/);
});
