/** Which artifacts the run view previews and how; CSV/TSV parsing and line cuts for them. */

/** The biggest image fetched for a preview (bytes). */
export const IMAGE_PREVIEW_MAX = 2 * 1024 * 1024;

/** The biggest text or table fetched for a preview (bytes). */
export const TEXT_PREVIEW_MAX = 256 * 1024;

/** Lines shown of a text artifact. */
export const TEXT_PREVIEW_LINES = 200;

/** Rows (the header included) and columns shown of a table artifact. */
export const TABLE_PREVIEW_ROWS = 50;
export const TABLE_PREVIEW_COLUMNS = 20;

/** Raster images only: never SVG or HTML, which can carry scripts. */
const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

const TABLE_TYPES: Record<string, string> = {
  'text/csv': ',',
  'text/tab-separated-values': '\t'
};

/** Text shown as text (any `text/*` but HTML is, too). */
const TEXT_TYPES = new Set([
  'application/json',
  'application/yaml',
  'application/x-yaml',
  'application/toml',
  'application/x-ndjson'
]);

/** How an artifact is previewed: as an image, a table (with its delimiter), text, or not. */
export type Preview =
  | { kind: 'image'; mediaType: string }
  | { kind: 'table'; delimiter: string }
  | { kind: 'text' }
  | { kind: 'none'; reason: string };

/** The media type without its parameters, lower case ("Text/CSV; charset=utf-8" -> "text/csv"). */
function essence(mediaType: string): string {
  return mediaType.split(';')[0].trim().toLowerCase();
}

/** How an artifact of this media type and size is previewed (`none` with a reason if not). */
export function previewKind(mediaType: string, size: number): Preview {
  const type = essence(mediaType);
  if (IMAGE_TYPES.has(type)) {
    return size <= IMAGE_PREVIEW_MAX
      ? { kind: 'image', mediaType: type }
      : { kind: 'none', reason: 'too big to preview' };
  }
  const delimiter = TABLE_TYPES[type];
  const isText = TEXT_TYPES.has(type) || (type.startsWith('text/') && type !== 'text/html');
  if (!isText) {
    return { kind: 'none', reason: 'no preview for this type' };
  }
  if (size > TEXT_PREVIEW_MAX) {
    return { kind: 'none', reason: 'too big to preview' };
  }
  return delimiter !== undefined ? { kind: 'table', delimiter } : { kind: 'text' };
}

/** The first `maxLines` lines of `text`, and whether lines were left out. */
export function headLines(
  text: string,
  maxLines = TEXT_PREVIEW_LINES
): { text: string; truncated: boolean } {
  const lines = text.split(/\r?\n/);
  if (lines.length && lines[lines.length - 1] === '') {
    lines.pop(); // a final newline ends the last line, it starts none
  }
  return { text: lines.slice(0, maxLines).join('\n'), truncated: lines.length > maxLines };
}

/**
 * The first rows of a delimited text (RFC 4180 quoting: a quoted field may hold the
 * delimiter, newlines and doubled quotes), each cut to `maxColumns` fields.
 */
export function parseDelimited(
  text: string,
  delimiter = ',',
  maxRows = TABLE_PREVIEW_ROWS,
  maxColumns = TABLE_PREVIEW_COLUMNS
): { rows: string[][]; truncatedRows: boolean; truncatedColumns: boolean } {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let truncatedColumns = false;
  const endRow = () => {
    row.push(field);
    field = '';
    if (row.length > maxColumns) {
      truncatedColumns = true;
      row = row.slice(0, maxColumns);
    }
    rows.push(row);
    row = [];
  };
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; // a byte-order mark is not data
  for (; i < text.length && rows.length <= maxRows; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c === '"' && field === '') {
      quoted = true;
    } else if (c === delimiter) {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') {
        i++;
      }
      endRow();
    } else {
      field += c;
    }
  }
  if (rows.length <= maxRows && (field !== '' || row.length)) {
    endRow();
  }
  const truncatedRows = rows.length > maxRows;
  return { rows: rows.slice(0, maxRows), truncatedRows, truncatedColumns };
}
