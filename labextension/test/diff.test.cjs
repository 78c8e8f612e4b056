// The compare view's line diff of cell sources (src/diff.ts).
const test = require('node:test');
const assert = require('node:assert/strict');
const d = require('../node_modules/.cache/tracker-tests/diff.js');

const shape = diff => diff.map(l => `${{ same: ' ', add: '+', del: '-' }[l.kind]}${l.text}`);

test('splitLines: CRLF and CR as LF, no phantom last line, null is empty', () => {
  assert.deepEqual(d.splitLines('a\r\nb\rc\n'), ['a', 'b', 'c']);
  assert.deepEqual(d.splitLines(''), []);
  assert.deepEqual(d.splitLines(null), []);
  assert.deepEqual(d.splitLines('a\n\n'), ['a', '']);
});

test('lineDiff: a changed line is removed then added, the rest kept, line numbers right', () => {
  const diff = d.lineDiff('%%track_run lr=0.1\nx = 1\nfit(x)\n', '%%track_run lr=0.2\nx = 1\ny = 2\nfit(x)\n');
  assert.deepEqual(shape(diff), ['-%%track_run lr=0.1', '+%%track_run lr=0.2', ' x = 1', '+y = 2', ' fit(x)']);
  assert.deepEqual(diff.map(l => [l.oldLine, l.newLine]), [[1, null], [null, 1], [2, 2], [null, 3], [3, 4]]);
  assert.ok(d.hasChanges(diff));
  assert.ok(!d.hasChanges(d.lineDiff('a\nb', 'a\nb\n')));
});

test('lineDiff: from nothing, to nothing, and a minimal diff in the middle', () => {
  assert.deepEqual(shape(d.lineDiff(null, 'a\nb')), ['+a', '+b']);
  assert.deepEqual(shape(d.lineDiff('a\nb', '')), ['-a', '-b']);
  assert.deepEqual(shape(d.lineDiff('a\nb\nc\nd', 'a\nc\nb\nd')).filter(l => l[0] !== ' ').length, 2);
});

test('lineDiff: sources too large for the table are shown whole, still correct', () => {
  const old = Array.from({ length: 2100 }, (_, i) => `old ${i}`).join('\n');
  const neu = Array.from({ length: 2100 }, (_, i) => `new ${i}`).join('\n');
  const diff = d.lineDiff(`head\n${old}\ntail`, `head\n${neu}\ntail`);
  assert.equal(diff.length, 2 + 4200);
  assert.equal(diff[0].kind, 'same');
  assert.equal(diff[1].kind, 'del');
  assert.equal(diff[2101].kind, 'add');
  assert.equal(diff[diff.length - 1].text, 'tail');
});

test('diffRows: unchanged stretches folded beyond the context', () => {
  const a = Array.from({ length: 20 }, (_, i) => `l${i}`);
  const b = [...a];
  b[10] = 'changed';
  const rows = d.diffRows(d.lineDiff(a.join('\n'), b.join('\n')), 2);
  assert.deepEqual(rows.map(r => (r.kind === 'skip' ? `…${r.count}` : `${r.kind}:${r.text}`)), [
    '…8', 'same:l8', 'same:l9', 'del:l10', 'add:changed', 'same:l11', 'same:l12', '…7'
  ]);
});
