import { describe, expect, it } from 'vitest'
import { bytes, cell, duration, keyValues, shortId, table } from '../../../src/repl/format.js'

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
