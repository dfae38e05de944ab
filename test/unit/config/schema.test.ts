import { describe, expect, it } from 'vitest'
import {
  CONFIG_KEYS, CONFIG_SECTIONS, describeConfig, envVarName, formatValue, keyMetaOf, resolveConfig
} from '../../../src/config/index.js'
import { upperSnake } from '../../../src/config/schema.js'

const config = resolveConfig({}, { cwd: '/work', homeDir: '/home/ada' })
const leafKeys = Object.entries(config).flatMap(([section, body]) => Object.keys(body).map(k => `${section}.${k}`))

describe('describeConfig', () => {
  const rows = describeConfig()

  it('lists every key of the resolved config once, in section order', () => {
    expect(rows.map(r => r.key)).toEqual(leafKeys)
    expect(Object.keys(config)).toEqual(Object.keys(CONFIG_SECTIONS))
  })

  it.each(rows.map(r => [r.key, r] as const))('gives %s a description, an expected form, an env var and a default', (_key, row) => {
    expect(row.description.trim().length).toBeGreaterThan(10)
    expect(row.expected.trim()).not.toBe('')
    expect(row.env).toMatch(/^RIFTMESH_[A-Z0-9_]+$/)
    expect(row.defaultText.trim()).not.toBe('')
  })

  it('shows a derived default as its rule without a context, and as its value with one', () => {
    expect(rows.find(r => r.key === 'node.dataDir')?.defaultText).toContain('<homeDir>/.riftmesh')
    const withCtx = describeConfig({ cwd: '/w', homeDir: '/h' })
    expect(withCtx.find(r => r.key === 'node.dataDir')?.default).toBe('/h/.riftmesh')
    expect(withCtx.find(r => r.key === 'node.swarmKeyFile')?.default).toBe('/h/.riftmesh/swarm.key')
  })

  it('shows durations and sizes with a readable hint', () => {
    expect(rows.find(r => r.key === 'store.peerCacheTtlMs')?.defaultText).toBe('604800000 (7 d)')
    expect(rows.find(r => r.key === 'mesh.maxStreamMessageBytes')?.defaultText).toBe('67108864 (64 MiB)')
    expect(rows.find(r => r.key === 'jobs.maxRuntimeMs')?.defaultText).toContain('"selfplay":2700000')
  })

  it('states the unit of every key whose name carries one', () => {
    for (const row of rows) {
      if (/Ms$/.test(row.key)) expect(row.unit, row.key).toBe('ms')
      if (/Bytes$/.test(row.key)) expect(row.unit, row.key).toBe('bytes')
      if (/Percent$/.test(row.key)) expect(row.unit, row.key).toBe('percent')
    }
  })
})

describe('env var names', () => {
  it.each([
    ['health.deadAfterMs', 'RIFTMESH_HEALTH_DEAD_AFTER_MS'],
    ['node.dataDir', 'RIFTMESH_NODE_DATA_DIR'],
    ['mesh.maxGossipMessageBytes', 'RIFTMESH_MESH_MAX_GOSSIP_MESSAGE_BYTES'],
    ['health.cpuStretch80', 'RIFTMESH_HEALTH_CPU_STRETCH80'],
    ['scheduler.staticPriority.hex8_2p', 'RIFTMESH_SCHEDULER_STATIC_PRIORITY_HEX8_2P'],
    ['training.eloK', 'RIFTMESH_TRAINING_ELO_K']
  ])('name %s %s', (key, env) => {
    expect(envVarName(key)).toBe(env)
  })

  it('are distinct for every key and map entry', () => {
    const names = [...CONFIG_KEYS.values()].flatMap(m => [m.env, ...(m.spec.subKeys ?? []).map(s => envVarName(`${m.key}.${s}`))])
    expect(new Set(names).size).toBe(names.length)
  })

  it('upper-snake camelCase words', () => {
    expect(upperSnake('maxCoalesceDelayMs')).toBe('MAX_COALESCE_DELAY_MS')
  })
})

describe('key table', () => {
  it('finds the row of a map entry by its longest known prefix', () => {
    expect(keyMetaOf('jobs.maxRuntimeMs.selfplay')?.key).toBe('jobs.maxRuntimeMs')
    expect(keyMetaOf('node.listen.0')?.key).toBe('node.listen')
    expect(keyMetaOf('nope.x')).toBeUndefined()
  })

  it('accepts each key\'s default under its own schema', () => {
    for (const meta of CONFIG_KEYS.values()) {
      const section = config[meta.section] as Record<string, unknown>
      const value = section[meta.key.slice(meta.section.length + 1)]
      expect(meta.spec.schema.safeParse(value).success, meta.key).toBe(true)
    }
  })

  it.each([
    [90_000, 'ms', '90000 (90 s)'], [1_500, 'ms', '1500'], [0, 'ms', '0'], [2_048, 'bytes', '2048 (2 KiB)'],
    ['info', null, 'info'], [null, null, 'null'], [[1, 2], null, '[1,2]']
  ] as Array<[unknown, string | null, string]>)('formats %j (%s) as %j', (value, unit, text) => {
    expect(formatValue(value, unit)).toBe(text)
  })
})
