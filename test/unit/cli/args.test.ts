import { describe, expect, it } from 'vitest'
import { CONFIG_FLAGS, configFlagLabels, configFlags, parseArgs } from '../../../src/cli/args.js'
import { ConfigError } from '../../../src/core/errors.js'

describe('CLI flags', () => {
  it('maps dedicated flags and --set onto dotted config keys', () => {
    const p = parseArgs(['node', '--data-dir', '/d', '--listen=/ip4/127.0.0.1/tcp/1', '--listen', '/ip4/127.0.0.1/tcp/2', '--set', 'health.deadAfterMs=8000'], CONFIG_FLAGS)
    expect(p.command).toBe('node')
    expect(configFlags(p)).toEqual({
      'node.dataDir': '/d',
      'node.listen': ['/ip4/127.0.0.1/tcp/1', '/ip4/127.0.0.1/tcp/2'],
      'health.deadAfterMs': '8000'
    })
  })

  it.each([
    [['x', '--nope', '1'], '--nope'],
    [['x', '--data-dir'], '--data-dir'],
    [['x', '--data-dir', '--listen', 'a'], '--data-dir']
  ])('rejects %j naming the flag', (argv, key) => {
    expect(() => parseArgs(argv, CONFIG_FLAGS)).toThrow(ConfigError)
    try { parseArgs(argv, CONFIG_FLAGS) } catch (err) { expect((err as ConfigError).key).toBe(key) }
  })

  it('calls a bad flag a flag, not a config key', () => {
    expect(() => parseArgs(['x', '--nope', '1'], CONFIG_FLAGS)).toThrow(/^flag "--nope": expected one of --config, /)
    expect(() => parseArgs(['x', '--data-dir'], CONFIG_FLAGS)).toThrow(/^flag "--data-dir": expected a value/)
  })

  it.each([
    ['--metric-port', '--metrics-port'],
    ['--data_dir', '--data-dir'],
    ['--swarmkey', '--swarm-key'],
    ['--bootstrp', '--bootstrap']
  ])('suggests the flag closest to %s (%s)', (typed, meant) => {
    expect(() => parseArgs(['x', typed, '1'], CONFIG_FLAGS)).toThrow(`(unknown flag; did you mean ${meant}?)`)
  })

  it('suggests nothing for a flag like none', () => {
    expect(() => parseArgs(['x', '--frobnicate', '1'], CONFIG_FLAGS)).toThrow(/ \(unknown flag\)$/)
  })

  it('labels each config key with the flag that set it', () => {
    const p = parseArgs(['node', '--metrics-port', 'x', '--set', 'health.deadAfterMs=8000', '--listen', '/ip4/0.0.0.0/tcp/1'], CONFIG_FLAGS)
    expect(configFlagLabels(p)).toEqual({
      'node.metricsPort': '--metrics-port',
      'node.listen': '--listen',
      'health.deadAfterMs': '--set health.deadAfterMs'
    })
  })

  it('rejects a --set without key=value', () => {
    expect(() => configFlags(parseArgs(['x', '--set', 'oops'], CONFIG_FLAGS))).toThrow(/key=value/)
  })
})
