import { describe, expect, it } from 'vitest'
import { SystemClock } from '../../../src/core/clock.js'
import { canReadStartTime, parseProcStat, probeProcess, signalGroup } from '../../../src/jobs/proc.js'

describe('parseProcStat', () => {
  const tail = '0 -1 4194304 119 0 0 0 0 0 0 0 20 0 1 0 2782415 3133440 410'
  it.each([
    ['a plain name', `6461 (cat) R 6453 6453 5426 ${tail}`, 'R', '2782415'],
    ['a name with spaces and parentheses', `77 (my (weird) name) S 1 77 77 ${tail}`, 'S', '2782415'],
    ['a zombie', `78 (node) Z 1 78 78 ${tail}`, 'Z', '2782415']
  ])('reads state and start time from %s', (_n, line, state, start) => {
    expect(parseProcStat(line)).toEqual({ state, startTime: start })
  })

  it.each([['no parenthesis', '1 cat R 1'], ['too few fields', '1 (cat) R 1 2 3'], ['a non-numeric start time', `1 (cat) R 1 1 1 0 -1 4 1 0 0 0 0 0 0 0 20 0 1 0 abc 3 4`]])('rejects %s', (_n, line) => {
    expect(parseProcStat(line)).toBeUndefined()
  })
})

describe('probeProcess', () => {
  it.runIf(canReadStartTime())('sees this process alive with a stable start time', async () => {
    const clock = new SystemClock()
    const a = await probeProcess(process.pid, clock)
    const b = await probeProcess(process.pid, clock)
    expect(a.state).toBe('alive')
    expect(a.startTime).toBeDefined()
    expect(b.startTime).toBe(a.startTime)
  })
})

describe('signalGroup', () => {
  it.each([0, 1, -5, 1.5])('refuses group id %s', pgid => {
    expect(() => signalGroup(pgid, 0)).toThrow(RangeError)
  })
})
