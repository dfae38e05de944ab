/**
 * Plain-text tables for the REPL and `riftmesh status`: columns sized to their widest cell,
 * numbers right-aligned, long cells cut with "…", nested values shown as compact JSON.
 */

/** Longest cell shown before it is cut. @default 48 */
export const DEFAULT_MAX_CELL_CHARS = 48
/** Most rows printed; the rest are counted in a last line. @default 200 */
export const DEFAULT_MAX_TABLE_ROWS = 200

export interface TableInit {
  /** Columns in order (default: every key of the rows, in first-seen order). */
  columns?: readonly string[]
  /** @default DEFAULT_MAX_CELL_CHARS */
  maxCellChars?: number
  /** @default DEFAULT_MAX_TABLE_ROWS */
  maxRows?: number
  /**
   * Widest line: the widest text columns are narrowed (cells cut with "…", never below their
   * header or 4 characters) until every line fits; numbers are never cut. @default unlimited
   */
  maxLineChars?: number
  /** Columns `maxLineChars` never narrows (ids that must stay whole). @default none */
  fixedColumns?: readonly string[]
}

export type Row = Readonly<Record<string, unknown>>

/** One value as short text: '-' for null/undefined, compact JSON for objects and lists. */
export function cell (v: unknown): string {
  if (v === null || v === undefined) return '-'
  if (typeof v === 'string') return v
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(2)
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v)
  if (Array.isArray(v) && v.every(x => typeof x !== 'object' || x === null)) return v.map(cell).join(',')
  return JSON.stringify(v) ?? String(v)
}

function cut (s: string, max: number): string {
  const one = s.replace(/\s+/g, ' ')
  return one.length > max ? `${one.slice(0, Math.max(1, max - 1))}…` : one
}

/** Rows as an aligned text table with an upper-case header. An empty list prints "(none)". */
export function table (rows: readonly Row[], init: TableInit = {}): string {
  const max = init.maxCellChars ?? DEFAULT_MAX_CELL_CHARS
  const maxRows = init.maxRows ?? DEFAULT_MAX_TABLE_ROWS
  if (!(max >= 2) || !(maxRows >= 1)) throw new RangeError('table needs maxCellChars ≥ 2 and maxRows ≥ 1')
  if (rows.length === 0) return '(none)'
  const columns = init.columns ?? [...new Set(rows.flatMap(r => Object.keys(r)))]
  const shown = rows.slice(0, maxRows)
  const cells = shown.map(r => columns.map(c => cut(cell(r[c]), max)))
  const numeric = columns.map((c, i) => shown.every(r => typeof r[c] === 'number' || r[c] === null || r[c] === undefined) && shown.some(r => typeof r[c] === 'number') ? i : -1)
  const widths = fitWidths(columns.map((c, i) => Math.max(c.length, ...cells.map(r => (r[i] as string).length))),
    columns.map((c, i) => numeric[i] === i || init.fixedColumns?.includes(c) === true ? Infinity : Math.max(c.length, 4)), init.maxLineChars ?? Infinity)
  for (const r of cells) r.forEach((v, i) => { r[i] = cut(v, widths[i] as number) })
  const line = (parts: readonly string[]): string =>
    parts.map((p, i) => (numeric[i] === i ? p.padStart(widths[i] as number) : p.padEnd(widths[i] as number))).join('  ').trimEnd()
  const out = [line(columns.map(c => c.toUpperCase())), ...cells.map(line)]
  if (rows.length > shown.length) out.push(`… ${rows.length - shown.length} more row(s)`)
  return out.join('\n')
}

/** Column widths narrowed, the widest first and one character at a time, until the line (two spaces between columns) fits `max` or none can narrow below its minimum. */
function fitWidths (widths: number[], mins: readonly number[], max: number): number[] {
  const w = [...widths]
  const total = (): number => w.reduce((a, b) => a + b, 0) + 2 * (w.length - 1)
  while (total() > max) {
    let widest = -1
    w.forEach((x, i) => { if (x > (mins[i] as number) && (widest < 0 || x > (w[widest] as number))) widest = i })
    if (widest < 0) break
    w[widest] = (w[widest] as number) - 1
  }
  return w
}

/**
 * `text` broken at spaces into lines of at most `width` characters, every line after the first
 * starting with `indent`; a word longer than a line is split. Whitespace runs become one space.
 */
export function wrapText (text: string, width: number, indent = '  '): string[] {
  if (!(width > indent.length + 1)) throw new RangeError('wrapText needs a width longer than its indent')
  const lines: string[] = []
  let line = ''
  const room = (): number => width - (lines.length === 0 ? 0 : indent.length)
  const push = (): void => { lines.push(lines.length === 0 ? line : `${indent}${line}`); line = '' }
  for (let word of text.split(/\s+/).filter(w => w !== '')) {
    if (line !== '' && line.length + 1 + word.length > room()) push()
    while (word.length > room()) {
      if (line !== '') push()
      line = word.slice(0, room())
      word = word.slice(room())
      push()
    }
    line = line === '' ? word : `${line} ${word}`
  }
  if (line !== '' || lines.length === 0) push()
  return lines
}

/** A flat record as two columns (KEY, VALUE). */
export function keyValues (record: Readonly<Record<string, unknown>>, init: Omit<TableInit, 'columns'> = {}): string {
  return table(Object.entries(record).map(([key, value]) => ({ key, value })), { ...init, columns: ['key', 'value'] })
}

/** A byte count as B, KiB, MiB or GiB. */
export function bytes (n: number): string {
  if (!Number.isFinite(n)) return '-'
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let v = n
  let u = 0
  while (Math.abs(v) >= 1024 && u < units.length - 1) { v /= 1024; u++ }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u] as string}`
}

/** A duration in ms as "850ms", "12.3s", "4m05s" or "2h07m". */
export function duration (ms: number): string {
  if (!Number.isFinite(ms)) return '-'
  const sign = ms < 0 ? '-' : ''
  const a = Math.abs(ms)
  if (a < 1_000) return `${sign}${Math.round(a)}ms`
  if (a < 60_000) return `${sign}${(a / 1_000).toFixed(1)}s`
  const s = Math.floor(a / 1_000)
  if (s < 3_600) return `${sign}${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${sign}${Math.floor(s / 3_600)}h${String(Math.floor((s % 3_600) / 60)).padStart(2, '0')}m`
}

/**
 * Fewest characters of a peer id shown by `uniquePrefixes`: every Ed25519 peer id starts with
 * the same 8 (`12D3KooW`), so 12 keeps at least 4 that tell it apart, even shown alone. @default 12
 */
export const DEFAULT_MIN_ID_PREFIX_CHARS = 12

/**
 * Each id's shortest prefix that no other id among `ids` shares, at least `minChars` long,
 * with "…" when cut (an id no longer than that is kept whole): the ids of one `status` told
 * apart in a few columns. Sorted once, each id compared with its neighbours: O(n log n).
 */
export function uniquePrefixes (ids: Iterable<string>, minChars = DEFAULT_MIN_ID_PREFIX_CHARS): Map<string, string> {
  if (!(Number.isInteger(minChars) && minChars >= 1)) throw new RangeError('uniquePrefixes needs minChars ≥ 1')
  const sorted = [...new Set(ids)].sort()
  const common = (a: string | undefined, b: string): number => {
    if (a === undefined) return 0
    let i = 0
    while (i < a.length && i < b.length && a[i] === b[i]) i++
    return i
  }
  const out = new Map<string, string>()
  sorted.forEach((id, i) => {
    const len = Math.max(minChars, common(sorted[i - 1], id) + 1, common(sorted[i + 1], id) + 1)
    out.set(id, len >= id.length ? id : `${id.slice(0, len)}…`)
  })
  return out
}

/** A peer id shortened to its last `keep` characters (the distinctive part of a 12D3KooW… id); one already shortened is kept. */
export function shortId (id: string | null | undefined, keep = 10): string {
  if (id === null || id === undefined) return '-'
  if (id.endsWith('…')) return id // already shortened (a unique prefix from `uniquePrefixes`)
  return id.length > keep + 1 ? `…${id.slice(-keep)}` : id
}
