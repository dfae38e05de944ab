/**
 * The settings a node applies: only values that pass their setting's schema (a malformed one from
 * an old or hostile peer is skipped, counted and logged once, and the last valid value stays), and
 * unset as a register that wins over older writes on every replica.
 */
import { describe, expect, it } from 'vitest'
import { VirtualClock } from '../../../src/core/clock.js'
import { createLogger } from '../../../src/core/logger.js'
import { SeededRng } from '../../../src/core/rng.js'
import { ClusterState } from '../../../src/state/cluster-state.js'
import { SettingError, VOTERS, BOARD_OVERRIDES } from '../../../src/state/settings-registry.js'
import { makeState, nodeId, signerOfId, syncAll, syncInto } from '../../helpers.js'
import { receiveRawSetting, writeRawSetting } from '../../support/raw-setting.js'

const THREE = [nodeId(1), nodeId(2), nodeId(3)]

function loggedState (n: number): { state: ClusterState, warnings: () => Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = []
  const logger = createLogger({ level: 'warn', destination: { write: (s: string) => { lines.push(JSON.parse(s) as Record<string, unknown>) } } })
  const state = new ClusterState({ clock: new VirtualClock(1_000_000), logger, rng: new SeededRng(n), signer: signerOfId(nodeId(n)) }, { selfId: nodeId(n) })
  return { state, warnings: () => lines.filter(l => l.msg === 'ignoring a malformed cluster setting: it does not take effect') }
}

describe('settings in effect', () => {
  it('ignores a newer malformed voters from a peer: the last valid voters stay, counted and logged once', () => {
    const { state, warnings } = loggedState(1)
    state.setSetting('voters', THREE)
    receiveRawSetting(state, nodeId(9), { name: 'voters', value: 'abc', version: 1_000 })
    for (let i = 0; i < 3; i++) {
      expect(state.settingOf(VOTERS)).toEqual([...THREE].sort())
      expect(state.settings().get('voters')).toEqual(THREE)
    }
    expect(state.stats.snapshot()).toEqual({ 'settings:value': 1 })
    expect(warnings()).toHaveLength(1)
    expect(warnings()[0]).toMatchObject({ setting: 'voters', writer: nodeId(9), version: 1_000, inEffect: expect.stringMatching(/^the last valid value \["/) as unknown })
    expect(String(warnings()[0]?.issue)).toMatch(/^setting "voters": .*got "abc"/)
  })

  it('with no valid value the setting is unset, and the log says what applies instead', () => {
    const { state, warnings } = loggedState(1)
    receiveRawSetting(state, nodeId(9), { name: 'voters', value: [42], version: 3 })
    expect(state.settingOf(VOTERS)).toBeUndefined()
    expect(state.settings().has('voters')).toBe(false)
    expect(warnings()[0]?.inEffect).toBe('unset: the node\'s config election.voters')
  })

  it('counts a malformed value again when the peer writes another one', () => {
    const state = makeState(1)
    receiveRawSetting(state, nodeId(9), { name: 'staticPriority', value: { hex8_2p: 'high' }, version: 3 })
    state.settings()
    receiveRawSetting(state, nodeId(9), { name: 'staticPriority', value: { hex8_2p: 'higher' }, version: 4 })
    state.settings()
    state.settings()
    expect(state.stats.snapshot()).toEqual({ 'settings:value': 2 })
  })

  it('lets a later valid write win over a malformed one of a higher version', () => {
    const state = makeState(1)
    receiveRawSetting(state, nodeId(9), { name: 'voters', value: 'abc', version: 1_000 })
    state.setSetting('voters', THREE)
    expect(state.settingOf(VOTERS)).toEqual([...THREE].sort())
  })

  it('keeps unknown names as they are (older peers, tests), and reads typed values through their schema', () => {
    const state = makeState(1)
    state.setSetting('someOldSetting', { x: 1 })
    state.setSetting('boardOverrides', { hex8: 0, square8_2p: 'high' })
    expect(state.setting('someOldSetting')).toEqual({ x: 1 })
    expect(state.settingOf(BOARD_OVERRIDES)).toEqual({ hex8: 'critical', square8_2p: 'high' })
    expect(state.stats.total).toBe(0)
  })

  it('refuses to write a malformed value of a known setting, and writes nothing', () => {
    const state = makeState(1)
    expect(() => state.setSetting('voters', 'abc')).toThrow(SettingError)
    expect(() => state.setSetting('jobCommands', { selfplay: 'notalist' })).toThrow(/setting "jobCommands": selfplay: /)
    expect(state.toJSON()).toMatchObject({ control: { settings: {} } })
  })
})

describe('unset', () => {
  it('replicates and wins over older writes by any writer; a later set wins over it', () => {
    const [a, b, c] = [makeState(1), makeState(2), makeState(3)]
    b.setSetting('curriculumWeights', { hex8_2p: 2 })
    syncAll([a, b, c])
    a.setSetting('curriculumWeights', { hex8_2p: 3 })
    syncAll([a, b, c])
    expect(c.setting('curriculumWeights')).toEqual({ hex8_2p: 3 })
    c.unsetSetting('curriculumWeights')
    syncAll([a, b, c])
    for (const s of [a, b, c]) {
      expect(s.setting('curriculumWeights')).toBeUndefined()
      expect(s.settings().has('curriculumWeights')).toBe(false)
    }
    b.setSetting('curriculumWeights', { hex8_2p: 4 })
    syncAll([a, b, c])
    for (const s of [a, b, c]) expect(s.setting('curriculumWeights')).toEqual({ hex8_2p: 4 })
  })

  it('is not undone by an older write arriving late from a peer', () => {
    const [a, b] = [makeState(1), makeState(2)]
    a.setSetting('voters', THREE)
    syncInto(a, b)
    b.unsetSetting('voters') // version 2, above a's 1
    receiveRawSetting(b, nodeId(9), { name: 'voters', value: THREE, version: 1 })
    syncInto(b, a)
    for (const s of [a, b]) expect(s.settingOf(VOTERS)).toBeUndefined()
  })

  it('hides a malformed value too (a null register is always valid)', () => {
    const state = makeState(1)
    writeRawSetting(state, { name: 'voters', value: 'abc', version: 5 })
    state.unsetSetting('voters')
    expect(state.settingOf(VOTERS)).toBeUndefined()
    state.setSetting('voters', THREE)
    expect(state.settingOf(VOTERS)).toEqual([...THREE].sort())
  })
})
