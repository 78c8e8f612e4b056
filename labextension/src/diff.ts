/**
 * A line diff of two cell sources for the compare view: `lineDiff` (longest common
 * subsequence) and `diffRows` (unchanged stretches folded around the changes). Pure (no
 * DOM), tested by `node --test` (labextension/test/).
 */

/** One line of a diff: in both sources, only in the new one, or only in the old one. */
export interface IDiffLine {
  kind: 'same' | 'add' | 'del';
  text: string;
  /** 1-based line numbers in the old and the new source (null: not in that one). */
  oldLine: number | null;
  newLine: number | null;
}

/** A row to draw: a diff line, or `count` unchanged lines folded away. */
export type DiffRow = IDiffLine | { kind: 'skip'; count: number };

/**
 * Beyond this many cells of the LCS table (changed lines of old times new, once the common
 * head and tail are set aside) the changed middle is shown as all removed then all added.
 */
export const MAX_LCS_CELLS = 4_000_000;

/** The lines of a source (`\r\n` and `\r` as `\n`; no phantom line after a final newline). */
export function splitLines(source: string | null): string[] {
  if (!source) {
    return [];
  }
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  if (lines[lines.length - 1] === '') {
    lines.pop();
  }
  return lines;
}

/** The line diff from `oldText` to `newText`: the old lines removed, the new ones added. */
export function lineDiff(oldText: string | null, newText: string | null): IDiffLine[] {
  const a = splitLines(oldText);
  const b = splitLines(newText);
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) {
    head += 1;
  }
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) {
    tail += 1;
  }
  const out: IDiffLine[] = [];
  const same = (i: number, j: number) => out.push({ kind: 'same', text: a[i], oldLine: i + 1, newLine: j + 1 });
  const del = (i: number) => out.push({ kind: 'del', text: a[i], oldLine: i + 1, newLine: null });
  const add = (j: number) => out.push({ kind: 'add', text: b[j], oldLine: null, newLine: j + 1 });
  for (let k = 0; k < head; k++) {
    same(k, k);
  }
  const n = a.length - head - tail;
  const m = b.length - head - tail;
  if (n * m > MAX_LCS_CELLS) {
    for (let i = 0; i < n; i++) {
      del(head + i);
    }
    for (let j = 0; j < m; j++) {
      add(head + j);
    }
  } else {
    // lcs[i][j]: the longest common subsequence of the middles' suffixes from i and j
    const width = m + 1;
    const lcs = new Uint32Array((n + 1) * width);
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i * width + j] =
          a[head + i] === b[head + j]
            ? lcs[(i + 1) * width + j + 1] + 1
            : Math.max(lcs[(i + 1) * width + j], lcs[i * width + j + 1]);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n && j < m) {
      if (a[head + i] === b[head + j]) {
        same(head + i++, head + j++);
      } else if (lcs[(i + 1) * width + j] >= lcs[i * width + j + 1]) {
        del(head + i++);
      } else {
        add(head + j++);
      }
    }
    while (i < n) {
      del(head + i++);
    }
    while (j < m) {
      add(head + j++);
    }
  }
  for (let k = tail; k > 0; k--) {
    same(a.length - k, b.length - k);
  }
  return out;
}

/** Whether a diff has any change. */
export function hasChanges(diff: IDiffLine[]): boolean {
  return diff.some(line => line.kind !== 'same');
}

/** The rows to draw: changes with `context` unchanged lines around them, the rest folded. */
export function diffRows(diff: IDiffLine[], context = 3): DiffRow[] {
  const near = new Array<boolean>(diff.length).fill(false);
  diff.forEach((line, i) => {
    if (line.kind !== 'same') {
      for (let k = Math.max(0, i - context); k <= Math.min(diff.length - 1, i + context); k++) {
        near[k] = true;
      }
    }
  });
  const rows: DiffRow[] = [];
  let folded = 0;
  diff.forEach((line, i) => {
    if (near[i]) {
      if (folded) {
        rows.push({ kind: 'skip', count: folded });
        folded = 0;
      }
      rows.push(line);
    } else {
      folded += 1;
    }
  });
  if (folded) {
    rows.push({ kind: 'skip', count: folded });
  }
  return rows;
}
