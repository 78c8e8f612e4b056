// The pure helpers of src/preview.ts (which artifacts preview and how), compiled by `npm test`.
const test = require('node:test');
const assert = require('node:assert/strict');
const p = require('../node_modules/.cache/tracker-tests/preview.js');

test('previewKind: raster images under the cap, never SVG or HTML', () => {
  assert.deepEqual(p.previewKind('image/png', 1000), { kind: 'image', mediaType: 'image/png' });
  assert.deepEqual(p.previewKind('Image/JPEG; x=1', 10), { kind: 'image', mediaType: 'image/jpeg' });
  for (const type of ['image/gif', 'image/webp']) {
    assert.equal(p.previewKind(type, p.IMAGE_PREVIEW_MAX).kind, 'image');
  }
  assert.equal(p.previewKind('image/png', p.IMAGE_PREVIEW_MAX + 1).kind, 'none');
  for (const type of ['image/svg+xml', 'text/html', 'application/xhtml+xml', 'application/octet-stream', 'image/x-icon']) {
    assert.equal(p.previewKind(type, 10).kind, 'none', type);
  }
});

test('previewKind: text and tables under the cap', () => {
  for (const type of ['text/plain', 'application/json', 'text/markdown', 'text/x-python', 'application/yaml']) {
    assert.deepEqual(p.previewKind(type, 100), { kind: 'text' }, type);
  }
  assert.deepEqual(p.previewKind('text/csv', 100), { kind: 'table', delimiter: ',' });
  assert.deepEqual(p.previewKind('text/tab-separated-values; charset=utf-8', 100), { kind: 'table', delimiter: '\t' });
  assert.equal(p.previewKind('text/plain', p.TEXT_PREVIEW_MAX).kind, 'text');
  assert.equal(p.previewKind('text/plain', p.TEXT_PREVIEW_MAX + 1).kind, 'none');
  assert.equal(p.previewKind('text/csv', p.TEXT_PREVIEW_MAX + 1).kind, 'none');
});

test('headLines keeps the first lines and says when it cut', () => {
  assert.deepEqual(p.headLines('a\nb\n', 5), { text: 'a\nb', truncated: false });
  assert.deepEqual(p.headLines('a\r\nb\nc', 2), { text: 'a\nb', truncated: true });
  assert.deepEqual(p.headLines('', 2), { text: '', truncated: false });
});

test('parseDelimited: quoted fields hold delimiters, newlines and doubled quotes', () => {
  const { rows, truncatedRows, truncatedColumns } = p.parseDelimited('\ufeffa,b,c\n1,"x, y","say ""hi"""\r\n2,"two\nlines",\n');
  assert.deepEqual(rows, [['a', 'b', 'c'], ['1', 'x, y', 'say "hi"'], ['2', 'two\nlines', '']]);
  assert.equal(truncatedRows, false);
  assert.equal(truncatedColumns, false);
  assert.deepEqual(p.parseDelimited('a\tb\n1\t2', '\t').rows, [['a', 'b'], ['1', '2']]);
  assert.deepEqual(p.parseDelimited('').rows, []);
});

test('parseDelimited cuts rows and columns', () => {
  const text = Array.from({ length: 10 }, (_, i) => `${i},1,2,3`).join('\n') + '\n';
  const cut = p.parseDelimited(text, ',', 3, 2);
  assert.deepEqual(cut.rows, [['0', '1'], ['1', '1'], ['2', '1']]);
  assert.equal(cut.truncatedRows, true);
  assert.equal(cut.truncatedColumns, true);
  const exact = p.parseDelimited('a\nb\nc\n', ',', 3, 2);
  assert.equal(exact.rows.length, 3);
  assert.equal(exact.truncatedRows, false);
});
