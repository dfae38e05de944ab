/** A scenario file with a bad timeline event names that event, its time and what is wrong with it. */
import { describe, expect, it } from 'vitest'
import { EVENT_KINDS, parseScenario } from '../../sim/scenario.js'
import { ValidationError } from '../../src/core/errors.js'

const scenario = (timeline: string): string => `name: x\nnodes: 3\nphases: { safetyUntilMs: 1000 }\ntimeline:\n  - { at: 100, crash: { node: 1 } }\n${timeline}`

describe('a bad timeline event', () => {
  // [case, the event line, the message]
  const CASES: Array<[string, string, string]> = [
    ['a misspelt kind', '  - { at: 200, partiton: [[0], [1, 2]] }', 'test.yaml: timeline event 1 (at 200 ms): unknown event "partiton" (did you mean "partition"?); events are partition, cut, heal,'],
    ['a kind nothing resembles', '  - { at: 200, explode: 1 }', 'test.yaml: timeline event 1 (at 200 ms): unknown event "explode"; events are partition,'],
    ['two kinds in one entry', '  - { at: 200, pause: 1, resume: 2 }', 'test.yaml: timeline event 1 (at 200 ms): one event per entry, got "pause" and "resume"'],
    ['no kind', '  - { at: 200 }', 'test.yaml: timeline event 1 (at 200 ms): no event beside "at"'],
    ['a bad field of a known kind', '  - { at: 200, crash: { node: one } }', 'test.yaml: timeline event 1 (at 200 ms): crash.node: '],
    ['not a mapping', '  - 5', 'test.yaml: timeline event 1: expected a mapping such as { at: 1000, crash: { node: 1 } }']
  ]
  it.each(CASES)('%s', (_name, line, message) => {
    let err: unknown
    try { parseScenario(scenario(line), 'test.yaml') } catch (e) { err = e }
    expect(err).toBeInstanceOf(ValidationError)
    expect((err as Error).message.startsWith(message)).toBe(true)
  })

  it('lists every kind the schema accepts', () => {
    expect(EVENT_KINDS).toEqual(['partition', 'cut', 'heal', 'hold', 'release', 'crash', 'restart', 'pause', 'resume', 'clockJump', 'clockDrift', 'link', 'setting', 'dispatch', 'data'])
  })
})
