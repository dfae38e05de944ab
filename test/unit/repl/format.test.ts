import { describe, expect, it } from 'vitest'
import { bytes, cell, duration, keyValues, shortId, table, uniquePrefixes, wrapText } from '../../../src/repl/format.js'

describe('table', () => {
  it('aligns columns to the widest cell, numbers right and text left, under an upper-case header', () => {
    const t = table([{ node: 'a', jobs: 3 }, { node: 'bravo', jobs: 12 }])
    expect(t.split('\n')).toEqual([
      'NODE   JOBS',
      'a         3',
      'bravo    12'
    ])
  })

  it('shows null as "-", lists joined by commas and objects as JSON, cut with "…" past maxCellChars', () => {
    const t = table([{ a: null, b: ['x', 'y'], c: { k: 1 }, d: 'z'.repeat(30) }], { maxCellChars: 10 })
    expect(t.split('\n')[1]).toBe('-  x,y  {"k":1}  zzzzzzzzz…')
  })

  it('keeps the given column order and prints (none) for no rows', () => {
    expect(table([{ a: 1, b: 2 }], { columns: ['b', 'a'] }).split('\n')[0]).toBe('B  A')
    expect(table([])).toBe('(none)')
  })

  it('prints at most maxRows rows and counts the rest', () => {
    const rows = Array.from({ length: 5 }, (_, i) => ({ i }))
    const lines = table(rows, { maxRows: 2 }).split('\n')
    expect(lines).toHaveLength(4)
    expect(lines[3]).toBe('… 3 more row(s)')
  })

  it('refuses limits that cannot print anything', () => {
    expect(() => table([{ a: 1 }], { maxRows: 0 })).toThrow(RangeError)
    expect(() => table([{ a: 1 }], { maxCellChars: 1 })).toThrow(RangeError)
  })

  it('prints a record as KEY and VALUE columns', () => {
    expect(keyValues({ leader: 'n1', epoch: 4 }).split('\n')).toEqual(['KEY     VALUE', 'leader  n1', 'epoch   4'])
  })
})

describe('units', () => {
  it.each([
    [0, '0 B'], [1023, '1023 B'], [1024, '1.0 KiB'], [5 * 1024 * 1024, '5.0 MiB'], [Number.NaN, '-']
  ])('bytes(%s) is %s', (n, s) => { expect(bytes(n)).toBe(s) })

  it.each([
    [850, '850ms'], [12_345, '12.3s'], [245_000, '4m05s'], [7_620_000, '2h07m'], [-1_500, '-1.5s'], [Number.POSITIVE_INFINITY, '-']
  ])('duration(%s) is %s', (ms, s) => { expect(duration(ms)).toBe(s) })

  it('shortens peer ids to their last characters and formats single cells', () => {
    expect(shortId('12D3KooWAbCdEfGhIjKlMn', 6)).toBe('…IjKlMn')
    expect(shortId(null)).toBe('-')
    expect(cell(1.23456)).toBe('1.23')
    expect(cell(true)).toBe('true')
  })
})

describe('uniquePrefixes', () => {
  it.each<[string, string[], number, Record<string, string>]>([
    ['peer ids share 12D3KooW: one more character each', ['12D3KooWAx', '12D3KooWBy', '12D3KooWCz9'], 8, { '12D3KooWAx': '12D3KooWA…', '12D3KooWBy': '12D3KooWB…', '12D3KooWCz9': '12D3KooWC…' }],
    ['as long as it takes to tell neighbours apart', ['12D3KooWAbCd1', '12D3KooWAbCe2', '12D3KooWZ'], 8, { '12D3KooWAbCd1': '12D3KooWAbCd…', '12D3KooWAbCe2': '12D3KooWAbCe…', '12D3KooWZ': '12D3KooWZ' }],
    ['never shorter than the minimum', ['abcdefghijkl', 'zzzzzzzzzzzz'], 8, { abcdefghijkl: 'abcdefgh…', zzzzzzzzzzzz: 'zzzzzzzz…' }],
    ['an id that is a prefix of another stays whole', ['abc', 'abcdef'], 2, { abc: 'abc', abcdef: 'abcd…' }],
    ['duplicates count once', ['node-a', 'node-a', 'node-b'], 8, { 'node-a': 'node-a', 'node-b': 'node-b' }]
  ])('%s', (_n, ids, min, expected) => {
    expect(Object.fromEntries(uniquePrefixes(ids, min))).toEqual(expected)
  })

  it('gives prefixes that are unique and prefixes of their ids, for random ids', () => {
    const ids = Array.from({ length: 200 }, (_, i) => `12D3KooW${((i * 7919) % 4096).toString(36)}${i}`)
    const p = uniquePrefixes(ids)
    const shown = [...p.values()]
    expect(new Set(shown).size).toBe(new Set(ids).size)
    for (const [id, prefix] of p) expect(id.startsWith(prefix.replace(/…$/, ''))).toBe(true)
  })

  it('keeps an id already shortened as is in shortId', () => {
    expect(shortId('12D3KooWAbCdEf…')).toBe('12D3KooWAbCdEf…')
    expect(shortId('12D3KooWAbCdEfGhIjKlMn')).toBe('…EfGhIjKlMn')
  })
})

describe('wrapText', () => {
  it.each<[string, string, number, string[]]>([
    ['short text is one line', 'a b c', 10, ['a b c']],
    ['breaks at spaces, continuation indented', 'aaaa bbbb cccc dddd', 10, ['aaaa bbbb', '  cccc', '  dddd']],
    ['splits a word longer than a line', 'x 0123456789abcdef', 8, ['x', '  012345', '  6789ab', '  cdef']],
    ['empty text is one empty line', '', 10, ['']]
  ])('%s', (_n, text, width, lines) => {
    expect(wrapText(text, width)).toEqual(lines)
    for (const l of wrapText(text, width)) expect(l.length).toBeLessThanOrEqual(width)
  })
})

describe('table maxLineChars', () => {
  const rows = [{ node: 'n1', host: 'a-very-long-host-name.example.internal', gpu: '8x NVIDIA H100 80GB HBM3', jobs: 123456 }]
  it('narrows the widest text columns until the lines fit, never the numbers', () => {
    const text = table(rows, { maxLineChars: 50 })
    for (const l of text.split('\n')) expect(l.length).toBeLessThanOrEqual(50)
    expect(text).toMatch(/123456$/)
    expect(text).toMatch(/a-very-long-hos\S*…/)
  })
  it('never narrows a fixed column', () => {
    const text = table(rows, { maxLineChars: 50, fixedColumns: ['host'] })
    expect(text).toContain('a-very-long-host-name.example.internal')
  })

  it('stops at the headers when the line cannot fit', () => {
    const text = table(rows, { maxLineChars: 10 })
    expect(text.split('\n')[0]).toBe('NODE  HOST  GPU     JOBS')
  })
})
