/**
 * What a data file's path and bytes say about it: its kind, its board config and its game
 * count — pure functions plus the one-pass digester used by both the scanner and the client.
 *
 * Config: the nearest path segment (the file name first, then its directories, deepest first)
 * that names a config `<board>_<players>p` decides. A name matches only as a whole token —
 * preceded and followed by a character that is not a letter or digit (or the segment's edge) —
 * so `hex8_2p` is never read from `hexagonal_2p`, nor `square8_2p` from `square18_2p`, nor
 * `hex8_2p` from `hex8_2players`. Matching ignores case; the key is returned in lower case. A
 * segment that names two different configs makes the file's config `null` (ambiguous).
 *
 * Game count convention: a `.jsonl` file holds one game per line, so its game count is its
 * number of non-empty lines (a line of only `\r` counts as empty; the last line needs no
 * trailing newline). Every other file counts 0 games.
 */
import { createHash, type Hash } from 'node:crypto'
import { FILE_KINDS } from '../core/vocabulary.js'
import type { ConfigKey } from '../state/schema.js'

export type FileKind = typeof FILE_KINDS[number]

const CONFIG_TOKEN = /(?<![a-z0-9])(square8|square19|hex8|hexagonal)_([234])p(?![a-z0-9])/gi

/** The config key a relative path names, or null (none, or ambiguous). */
export function parseConfigKey (relPath: string): ConfigKey | null {
  const segments = relPath.split('/')
  for (let i = segments.length - 1; i >= 0; i--) {
    const found = new Set<string>()
    for (const m of (segments[i] ?? '').matchAll(CONFIG_TOKEN)) found.add(`${(m[1] as string).toLowerCase()}_${m[2] as string}p`)
    if (found.size === 1) return [...found][0] as ConfigKey
    if (found.size > 1) return null
  }
  return null
}

/** The kind of a relative path (its first segment), or null when it is not under a kind dir. */
export function kindOf (relPath: string): FileKind | null {
  const first = relPath.split('/', 1)[0] ?? ''
  return (FILE_KINDS as readonly string[]).includes(first) ? first as FileKind : null
}

/** Whether the game-count convention counts lines for this file. */
export function countsGames (relPath: string): boolean {
  return relPath.toLowerCase().endsWith('.jsonl')
}

const NEWLINE = 0x0a
const CR = 0x0d

/**
 * sha256 and (for `.jsonl`) the game count of a byte stream, in one pass over chunks.
 * `update` may be called any number of times; `digest` once.
 */
export class FileDigester {
  private readonly hash: Hash = createHash('sha256')
  private lines = 0
  /** Whether the current line has a byte other than `\r` so far. */
  private lineHasContent = false
  private bytes = 0

  constructor (private readonly countLines: boolean) {}

  update (chunk: Uint8Array): void {
    this.hash.update(chunk)
    this.bytes += chunk.byteLength
    if (!this.countLines) return
    let start = 0
    for (;;) {
      const nl = chunk.indexOf(NEWLINE, start)
      const end = nl === -1 ? chunk.byteLength : nl
      if (end > start && !(end - start === 1 && chunk[start] === CR)) this.lineHasContent = true
      if (nl === -1) break
      if (this.lineHasContent) this.lines++
      this.lineHasContent = false
      start = nl + 1
    }
  }

  /** Bytes seen so far. */
  get byteCount (): number {
    return this.bytes
  }

  digest (): { sha256: string, gameCount: number } {
    const last = this.lineHasContent ? 1 : 0
    return { sha256: this.hash.digest('hex'), gameCount: this.countLines ? this.lines + last : 0 }
  }
}

/** A lowercase hex sha256. */
export function isSha256Hex (s: string): boolean {
  return /^[0-9a-f]{64}$/.test(s)
}
