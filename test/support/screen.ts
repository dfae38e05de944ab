/**
 * What a terminal shows after a stream of output: a small VT100 screen model, enough for what
 * node's readline writes (text, CR, LF, backspace, cursor moves, erase in line and display;
 * colours and modes ignored) with a fixed width and deferred auto-wrap as xterm does. Tests read
 * the rows to check what a user sees, not which bytes were sent.
 */

/** Default width: wide enough that nothing wraps unless a test asks for it. */
export const DEFAULT_SCREEN_COLUMNS = 10_000

// eslint-disable-next-line no-control-regex
const TOKEN = /\x1b\[([?>=]?)([0-9;]*)([A-Za-z@`])|\x1b[()][A-Za-z0-9]|\x1b[=>78cDEM]|[\s\S]/g

export class Screen {
  private readonly rows: string[][] = [[]]
  private row = 0
  private col = 0
  /** The last column was just written: the next character goes to the start of the next row. */
  private pendingWrap = false
  private readonly columns: number

  constructor (columns = DEFAULT_SCREEN_COLUMNS) {
    this.columns = columns
  }

  /** Feed output bytes (as text). */
  write (text: string): this {
    for (const m of text.matchAll(TOKEN)) {
      const [token, private_, params, final] = m
      if (final !== undefined) this.csi(private_ ?? '', params ?? '', final)
      else if (token.length === 1) this.char(token)
      // other escape sequences (charsets, keypad modes) change nothing on the screen
    }
    return this
  }

  /** Every row, trailing spaces removed, trailing empty rows dropped. */
  lines (): string[] {
    const out = this.rows.map(r => Array.from(r, c => c ?? ' ').join('').trimEnd())
    while (out.length > 0 && out[out.length - 1] === '') out.pop()
    return out
  }

  /** The row the cursor is on and the column it is at. */
  cursor (): { row: number, col: number } {
    return { row: this.row, col: this.col }
  }

  private line (row: number): string[] {
    while (this.rows.length <= row) this.rows.push([])
    return this.rows[row] as string[]
  }

  private moveTo (row: number, col: number): void {
    this.row = Math.max(0, row)
    this.col = Math.min(Math.max(0, col), this.columns - 1)
    this.pendingWrap = false
    this.line(this.row)
  }

  private char (c: string): void {
    if (c === '\r') { this.moveTo(this.row, 0); return }
    // a terminal's line discipline turns LF into CR LF (onlcr), as on any pseudo-terminal
    if (c === '\n') { this.moveTo(this.row + 1, 0); return }
    if (c === '\b') { this.moveTo(this.row, this.col - 1); return }
    if (c < ' ' || c === '\x7f') return // bell, shift in/out and the like
    if (this.pendingWrap) this.moveTo(this.row + 1, 0)
    const line = this.line(this.row)
    while (line.length < this.col) line.push(' ')
    line[this.col] = c
    if (this.col === this.columns - 1) this.pendingWrap = true
    else this.col++
  }

  private csi (private_: string, params: string, final: string): void {
    if (private_ !== '') return // modes (?25h, ?2004h …)
    const args = params.split(';').map(p => (p === '' ? undefined : Number(p)))
    const n = args[0] ?? 1
    switch (final) {
      case 'A': this.moveTo(this.row - n, this.col); break
      case 'B': this.moveTo(this.row + n, this.col); break
      case 'C': this.moveTo(this.row, this.col + n); break
      case 'D': this.moveTo(this.row, this.col - n); break
      case 'G': this.moveTo(this.row, n - 1); break
      case 'H': this.moveTo((args[0] ?? 1) - 1, (args[1] ?? 1) - 1); break
      case 'K': this.eraseInLine(args[0] ?? 0); break
      case 'J': this.eraseInDisplay(args[0] ?? 0); break
      default: break // colours (m) and the rest draw nothing
    }
  }

  private eraseInLine (mode: number): void {
    const line = this.line(this.row)
    if (mode === 0) line.length = Math.min(line.length, this.col)
    else if (mode === 1) for (let i = 0; i <= this.col && i < line.length; i++) line[i] = ' '
    else line.length = 0
  }

  private eraseInDisplay (mode: number): void {
    if (mode === 0) {
      this.eraseInLine(0)
      this.rows.length = Math.min(this.rows.length, this.row + 1)
    } else {
      for (const r of this.rows) r.length = 0
    }
  }
}
