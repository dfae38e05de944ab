import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { FileDigester, parseConfigKey } from '../../../src/transfer/file-info.js'

describe('parseConfigKey', () => {
  const table: Array<[string, string | null]> = [
    ['selfplay/hex8_2p/run1.jsonl', 'hex8_2p'],
    ['selfplay/hexagonal_2p/run1.jsonl', 'hexagonal_2p'],
    ['selfplay/hexagonal_2p.jsonl', 'hexagonal_2p'],
    ['selfplay/games_hex8_3p_2024.jsonl', 'hex8_3p'],
    ['selfplay/square8_4p/x.jsonl', 'square8_4p'],
    ['selfplay/square19_2p/x.jsonl', 'square19_2p'],
    ['models/square18_2p.pt', null], // not a board: square8 is not read out of square18
    ['models/hex8_2players.pt', null], // the token must end after "p"
    ['models/xhex8_2p.pt', null], // nor start inside a word
    ['models/hex_2p.pt', null], // "hex" alone is no board
    ['models/hex8_5p.pt', null], // 5 players do not exist
    ['models/HEX8_2P.pt', 'hex8_2p'],
    ['selfplay/hex8_2p/hexagonal_2p_batch.jsonl', 'hexagonal_2p'], // the file name wins
    ['selfplay/hex8_2p/batch.jsonl', 'hex8_2p'], // else the nearest directory
    ['selfplay/hex8_2p_vs_square8_2p.jsonl', null], // ambiguous
    ['selfplay/hex8_2p_and_hex8_2p.jsonl', 'hex8_2p'],
    ['training/misc.npz', null],
    ['games/hexagonal_4p-final.jsonl', 'hexagonal_4p']
  ]
  it.each(table)('%s → %s', (path, want) => {
    expect(parseConfigKey(path)).toBe(want)
  })
  it('never reads hexagonal data as hex8 or the reverse', () => {
    for (const p of [2, 3, 4]) {
      expect(parseConfigKey(`selfplay/hexagonal_${p}p/a.jsonl`)).toBe(`hexagonal_${p}p`)
      expect(parseConfigKey(`selfplay/hex8_${p}p/a.jsonl`)).toBe(`hex8_${p}p`)
    }
  })
})

describe('FileDigester', () => {
  const sha = (s: string): string => createHash('sha256').update(s).digest('hex')
  const digestIn = (text: string, chunk: number, count = true): { sha256: string, gameCount: number } => {
    const d = new FileDigester(count)
    const bytes = Buffer.from(text)
    for (let i = 0; i < bytes.length; i += chunk) d.update(bytes.subarray(i, i + chunk))
    return d.digest()
  }
  const table: Array<[string, number]> = [
    ['', 0],
    ['{}', 1],
    ['{}\n', 1],
    ['{}\n{}\n', 2],
    ['{}\n\n{}', 2],
    ['\n\n\n', 0],
    ['{}\r\n{}\r\n', 2],
    ['\r\n\r\n', 0],
    ['a\nb\nc', 3]
  ]
  it.each(table)('counts the non-empty lines of %j as %i games, for any chunking', (text, games) => {
    for (const chunk of [1, 2, 3, 1024]) expect(digestIn(text, chunk)).toEqual({ sha256: sha(text), gameCount: games })
  })
  it('counts no games when told not to', () => {
    expect(digestIn('a\nb\n', 1, false)).toEqual({ sha256: sha('a\nb\n'), gameCount: 0 })
  })
})
