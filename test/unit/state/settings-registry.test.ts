import { describe, expect, it } from 'vitest'
import {
  CLUSTER_SETTINGS, SettingError, checkSettingChange, describeSettings, requireSettingSpec, settingSpec
} from '../../../src/state/settings-registry.js'

const oneLine = (f: () => unknown): string => {
  try {
    f()
  } catch (err) {
    expect(err).toBeInstanceOf(SettingError)
    const message = (err as Error).message
    expect(message.split('\n')).toHaveLength(1)
    return message
  }
  throw new Error('not refused')
}

describe('the cluster settings registry', () => {
  it('describes every setting: form, meaning, default and readers', () => {
    const text = describeSettings()
    for (const s of CLUSTER_SETTINGS) {
      expect(text).toContain(s.name)
      for (const part of [s.form, s.meaning, s.whenUnset, s.readBy]) expect(part.length).toBeGreaterThan(10)
    }
    const names = CLUSTER_SETTINGS.map(s => s.name)
    expect(new Set(names).size).toBe(names.length)
    expect(names).toEqual(expect.arrayContaining(['voters', 'jobCommands', 'staticPriority', 'curriculumWeights', 'boardOverrides', 'engineMixes', 'selfplayPaused', 'abTest/<id>']))
  })

  it.each(['jobCommands', 'staticPriority', 'curriculumWeights', 'boardOverrides', 'engineMixes', 'selfplayPaused'])('accepts the example it gives for %s', name => {
    const spec = requireSettingSpec(name)
    expect(() => checkSettingChange(name, JSON.parse(spec.example))).not.toThrow()
  })

  it('accepts what the docs show', () => {
    expect(() => checkSettingChange('voters', ['12D3KooWA1', '12D3KooWB2', '12D3KooWC3'])).not.toThrow()
    expect(() => checkSettingChange('jobCommands', {})).not.toThrow() // every default back
    expect(() => checkSettingChange('jobCommands', { 'selfplay:gpu': ['/bin/play'], training: ['/bin/train', '{config}'] })).not.toThrow()
    expect(() => checkSettingChange('boardOverrides', { hex8: 2, square8_2p: 'critical' })).not.toThrow()
    expect(requireSettingSpec('voters').schema.parse(['b', 'a', 'b'])).toEqual(['a', 'b'])
    expect(requireSettingSpec('boardOverrides').schema.parse({ hex8: 0 })).toEqual({ hex8: 'critical' })
  })

  // each a value the issue saw accepted, or one of its kind
  const refused: Array<[string, unknown, RegExp]> = [
    ['voters', 'abc', /^setting "voters": Invalid input: expected array, received string; got "abc"; expected a list of peer ids/],
    ['voters', 42, /^setting "voters": .*got 42; expected a list of peer ids/],
    ['voters', [], /^setting "voters": .*too small.*got \[\]/i],
    ['voters', ['12D3KooWA1', 'not a peer id'], /^setting "voters": 1: a peer id \(letters and digits\); got/],
    ['jobCommands', { selfplay: 'notalist' }, /^setting "jobCommands": selfplay: Invalid input: expected array, received string; got \{"selfplay":"notalist"\}/],
    ['jobCommands', { selfplay: [] }, /^setting "jobCommands": selfplay: .*too small/i],
    ['jobCommands', { slefplay: ['/bin/x'] }, /^setting "jobCommands": Unrecognized key: "slefplay"; .*expected a record from job type \(selfplay, training/],
    ['staticPriority', { hex8_2p: 'high' }, /^setting "staticPriority": hex8_2p: Invalid input: expected number, received string; got \{"hex8_2p":"high"\}; expected a record from config key/],
    ['staticPriority', { hex9_2p: 3 }, /^setting "staticPriority": hex9_2p: Invalid key in record; got/],
    ['staticPriority', { hex8_2p: 101 }, /^setting "staticPriority": hex8_2p: .*100/],
    ['curriculumWeights', { hex8_2p: -1 }, /^setting "curriculumWeights": hex8_2p: /],
    ['boardOverrides', { hex8: 'urgent' }, /^setting "boardOverrides": hex8: /],
    ['engineMixes', { 'hex8_2p:alphazero': 3 }, /^setting "engineMixes": hex8_2p:alphazero: Invalid key in record; .*"<config>:<engineMode>"/],
    ['selfplayPaused', 'yes', /^setting "selfplayPaused": Invalid input: expected boolean, received string; got "yes"; expected true or false, e.g. true$/]
  ]
  it.each(refused)('refuses %s = %j in one line naming the problem and the form expected', (name, value, re) => {
    expect(oneLine(() => checkSettingChange(name, value))).toMatch(re)
  })

  it('refuses an unknown name with the closest setting, and a setting the cluster writes itself', () => {
    expect(oneLine(() => checkSettingChange('votres', ['a', 'b', 'c']))).toBe('unknown setting "votres"; did you mean "voters"? (riftmesh settings describe lists every setting)')
    expect(oneLine(() => checkSettingChange('StaticPriority', {}))).toMatch(/did you mean "staticPriority"\?/)
    expect(oneLine(() => checkSettingChange('frobnicate', 1))).toBe('unknown setting "frobnicate"; (riftmesh settings describe lists every setting)')
    expect(oneLine(() => checkSettingChange('abTest/x1', {}))).toMatch(/^setting "abTest\/x1" is written by the cluster itself/)
    expect(settingSpec('abTest/x1')?.name).toBe('abTest/<id>')
    expect(settingSpec('abTest/')).toBeUndefined()
  })

  it('takes null (an unset) for every setting', () => {
    for (const s of CLUSTER_SETTINGS.filter(x => x.settable !== false)) expect(() => checkSettingChange(s.name, null)).not.toThrow()
  })
})
