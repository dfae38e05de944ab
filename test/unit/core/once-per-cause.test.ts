import { describe, expect, it } from 'vitest'
import { OncePerCause, causeKey, causeStep, type CauseStep } from '../../../src/core/once-per-cause.js'
import { capturingLogger } from '../../support/capture-log.js'

describe('causeStep', () => {
  it.each<[string | undefined, string | null, CauseStep]>([
    [undefined, null, 'quiet'],
    [undefined, 'a', 'raise'],
    ['a', 'a', 'same'],
    ['a', 'b', 'change'],
    ['a', null, 'clear']
  ])('said %s, now %s → %s', (said, now, step) => {
    expect(causeStep(said, now)).toBe(step)
  })
})

describe('OncePerCause', () => {
  it('warns once per cause over many passes, again when the cause changes, and says once when it clears', () => {
    const { log, lines } = capturingLogger()
    const once = new OncePerCause(log.child({ component: 'selfplay-scheduler' }))
    const none = { key: 'priorities 0', msg: 'no selfplay config this node can run', fields: { node: 'n1' } }
    for (let i = 0; i < 400; i++) once.report('n1', none)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({ level: 40, component: 'selfplay-scheduler', node: 'n1', msg: 'no selfplay config this node can run' })
    for (let i = 0; i < 50; i++) once.report('n1', { key: 'hardware', msg: 'no selfplay config fits this hardware', fields: { node: 'n1' } })
    expect(lines).toHaveLength(2)
    expect(lines[1]).toMatchObject({ level: 40, msg: 'no selfplay config fits this hardware', previous: 'no selfplay config this node can run' })
    for (let i = 0; i < 50; i++) once.report('n1', null)
    expect(lines).toHaveLength(3)
    expect(lines[2]).toMatchObject({ level: 30, node: 'n1', msg: 'resolved: no selfplay config fits this hardware' })
    once.report('n1', none)
    expect(lines).toHaveLength(4)
  })

  it('keeps causes apart per subject, forgets the oldest subject beyond its limit, and never logs an error object on clearing', () => {
    const { log, lines } = capturingLogger()
    const once = new OncePerCause(log, { maxSubjects: 2 })
    const cause = (s: string): { key: string, msg: string, fields: Record<string, unknown> } => ({ key: 'k', msg: `down ${s}`, fields: { err: new Error('boom') } })
    expect([once.report('a', cause('a')), once.report('b', cause('b')), once.report('a', cause('a'))]).toEqual(['raise', 'raise', 'same'])
    once.report('c', cause('c')) // 'b', reported longest ago, is forgotten
    expect(once.current('b')).toBeUndefined()
    expect(once.report('a', null)).toBe('clear')
    expect(lines.map(l => l.msg)).toEqual(['down a', 'down b', 'down c', 'resolved: down a'])
    expect(lines[3]).not.toHaveProperty('err')
    expect(() => new OncePerCause(log, { maxSubjects: 0 })).toThrow(RangeError)
  })

  it('logs at the cause\'s level and says its own words when it clears', () => {
    const { log, lines } = capturingLogger()
    const once = new OncePerCause(log)
    once.report('sync', { key: 'k', msg: 'loop failed', level: 'error', cleared: 'loop recovered' })
    once.report('sync', null)
    expect(lines.map(l => [l.level, l.msg])).toEqual([[50, 'loop failed'], [30, 'loop recovered']])
  })

  it('blanks numbers in a cause key: the same cause whatever its numbers', () => {
    expect(causeKey('disk 74 % used (limit 70 %)')).toBe(causeKey('disk 75.5 % used (limit 70 %)'))
    expect(causeKey('disk 74 % used')).not.toBe(causeKey('memory 74 % used'))
  })
})
