import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError } from '../../../src/core/errors.js'
import { loadConfig, readConfigFile, resolveConfig, unknownEnvVars } from '../../../src/config/index.js'

let dir: string
let jsonFile: string
let yamlFile: string
let ymlFile: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'riftmesh-config-'))
  jsonFile = join(dir, 'node.json')
  yamlFile = join(dir, 'node.yaml')
  ymlFile = join(dir, 'node.yml')
  await writeFile(jsonFile, JSON.stringify({
    mesh: { coalesceWindowMs: 11, maxPeers: 50 },
    jobs: { maxRuntimeMs: { selfplay: 100_000 } }
  }))
  await writeFile(yamlFile, [
    '# a node in the lab',
    'node:',
    '  clusterName: lab',
    '  dataDir: data',
    '  bootstrap:',
    '    - /ip4/10.0.0.1/tcp/4100/p2p/12D3KooWCD2cuGyYf74BFVtnDFGMQdGgz3nfV1vvKno6yZt9Zx29',
    'mesh:',
    '  coalesceWindowMs: 11',
    'selector:',
    '  gpuScores:',
    '    RTX 6000: 500',
    ''
  ].join('\n'))
  await writeFile(ymlFile, 'health:\n  deadAfterMs: 9000\n')
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

const base = { cwd: '/work', homeDir: '/home/ada' }

describe('loadConfig precedence', () => {
  const ENV = { RIFTMESH_MESH_COALESCE_WINDOW_MS: '22' }
  const FLAGS = { 'mesh.coalesceWindowMs': '33' }
  const CASES: Array<[string, () => Promise<string>, boolean, boolean, number]> = [
    ['the JSON file over the default', async () => jsonFile, false, false, 11],
    ['env over the JSON file', async () => jsonFile, true, false, 22],
    ['flags over env and the JSON file', async () => jsonFile, true, true, 33],
    ['the YAML file over the default', async () => yamlFile, false, false, 11],
    ['env over the YAML file', async () => yamlFile, true, false, 22],
    ['flags over env and the YAML file', async () => yamlFile, true, true, 33],
    ['flags over the file without env', async () => yamlFile, false, true, 33]
  ]
  it.each(CASES)('takes %s', async (_name, file, withEnv, withFlags, expected) => {
    const { config } = await loadConfig({ ...base, file: await file(), env: withEnv ? ENV : {}, flags: withFlags ? FLAGS : {} })
    expect(config.mesh.coalesceWindowMs).toBe(expected)
  })

  it('uses the default when no layer sets the key', async () => {
    const { config, warnings, file } = await loadConfig({ ...base, env: {} })
    expect(config.mesh.coalesceWindowMs).toBe(30)
    expect(warnings).toEqual([])
    expect(file).toBeNull()
  })

  it('keeps keys a higher layer does not set', async () => {
    const { config } = await loadConfig({ ...base, file: jsonFile, env: ENV, flags: { 'mesh.maxPeers': 70 } })
    expect(config.mesh).toMatchObject({ coalesceWindowMs: 22, maxPeers: 70 })
  })

  it('reads YAML lists, nested maps and .yml files', async () => {
    const { config } = await loadConfig({ ...base, file: yamlFile, env: {} })
    expect(config.node.clusterName).toBe('lab')
    expect(config.node.bootstrap).toEqual(['/ip4/10.0.0.1/tcp/4100/p2p/12D3KooWCD2cuGyYf74BFVtnDFGMQdGgz3nfV1vvKno6yZt9Zx29'])
    expect(config.selector.gpuScores['RTX 6000']).toBe(500)
    expect((await loadConfig({ ...base, file: ymlFile, env: {} })).config.health.deadAfterMs).toBe(9000)
  })

  it('resolves relative paths against cwd and derives the swarm key file from the data dir', async () => {
    const { config } = await loadConfig({ ...base, file: yamlFile, env: {} })
    expect(config.node.dataDir).toBe('/work/data')
    expect(config.node.swarmKeyFile).toBe('/work/data/swarm.key')
  })

  it('merges number map entries over lower layers entry by entry', async () => {
    const { config } = await loadConfig({
      ...base,
      file: jsonFile,
      env: { RIFTMESH_JOBS_MAX_RUNTIME_MS_TRAINING: '7200000' },
      flags: { 'jobs.maxRuntimeMs.gauntlet': 60_000 }
    })
    expect(config.jobs.maxRuntimeMs).toEqual({
      selfplay: 100_000, training: 7_200_000, gauntlet: 60_000, tournament: 7_200_000, export: 3_600_000, sync: 3_600_000
    })
  })

  it('replaces lists instead of merging them', () => {
    const config = resolveConfig({ file: { node: { listen: ['/ip4/1.1.1.1/tcp/1'] } }, flags: { 'node.listen': '/ip6/::/tcp/2' } }, base)
    expect(config.node.listen).toEqual(['/ip6/::/tcp/2'])
  })

  it('takes the file from RIFTMESH_CONFIG when no file is given, relative to cwd', async () => {
    const { config, warnings, file } = await loadConfig({ cwd: dir, homeDir: null, env: { RIFTMESH_CONFIG: 'node.yml' } })
    expect(file).toBe(ymlFile)
    expect(config.health.deadAfterMs).toBe(9000)
    expect(warnings).toEqual([])
  })

  it('expands ~/ in a path to the home dir', () => {
    const config = resolveConfig({ flags: { 'node.dataDir': '~/mesh', 'node.swarmKeyFile': '~/keys/swarm.key' } }, base)
    expect(config.node.dataDir).toBe('/home/ada/mesh')
    expect(config.node.swarmKeyFile).toBe('/home/ada/keys/swarm.key')
  })

  it('treats null for a path as its default', () => {
    const config = resolveConfig({ file: { node: { dataDir: null, swarmKeyFile: null } } }, base)
    expect(config.node.swarmKeyFile).toBe('/home/ada/.riftmesh/swarm.key')
  })
})

describe('unknown environment variables', () => {
  it('are ignored by resolveConfig and reported with a suggestion by loadConfig', async () => {
    const env = { RIFTMESH_HEALTH_DEAD_AFTER: '9', RIFTMESH_ZZZ: '1', HOME: '/x', RIFTMESH_CONFIG: '' }
    expect(resolveConfig({ env }, base).health.deadAfterMs).toBe(5000)
    const { warnings } = await loadConfig({ ...base, env })
    expect(warnings).toEqual([
      {
        envVar: 'RIFTMESH_HEALTH_DEAD_AFTER',
        suggestion: 'RIFTMESH_HEALTH_DEAD_AFTER_MS',
        message: 'unknown environment variable RIFTMESH_HEALTH_DEAD_AFTER ignored; did you mean RIFTMESH_HEALTH_DEAD_AFTER_MS?'
      },
      { envVar: 'RIFTMESH_ZZZ', suggestion: null, message: 'unknown environment variable RIFTMESH_ZZZ ignored' }
    ])
  })

  it('do not include per-entry variables of fixed maps', () => {
    expect(unknownEnvVars({ RIFTMESH_SCHEDULER_STATIC_PRIORITY_HEX8_2P: '3' })).toEqual([])
  })
})

describe('config file errors', () => {
  async function fileError (name: string, content: string | null): Promise<ConfigError> {
    const path = join(dir, name)
    if (content !== null) await writeFile(path, content)
    const err = await readConfigFile(path).then(() => null, (e: unknown) => e)
    expect(err).toBeInstanceOf(ConfigError)
    return err as ConfigError
  }

  const CASES: Array<[string, string, string | null, string]> = [
    ['a missing file', 'missing.yaml', null, 'a readable JSON or YAML file'],
    ['malformed YAML', 'bad.yaml', 'node:\n  listen: [unclosed\n', 'valid YAML'],
    ['YAML with a duplicate key', 'dup.yaml', 'mesh:\n  maxPeers: 1\n  maxPeers: 2\n', 'valid YAML'],
    ['malformed JSON', 'bad.json', '{ "mesh": ', 'valid JSON'],
    ['an unknown extension', 'node.toml', 'mesh = 1', 'a path ending in .json, .yaml or .yml'],
    ['a file over 1 MiB', 'big.json', `{"x":"${'a'.repeat(1_100_000)}"}`, 'a file of at most 1048576 bytes']
  ]
  it.each(CASES)('reports %s as key "file" with the path', async (_name, file, content, expected) => {
    const err = await fileError(file, content)
    expect(err.key).toBe('file')
    expect(err.expected).toBe(expected)
    expect(err.message).toContain(join(dir, file))
  })

  it('reports a file that is not a mapping of sections as key "file"', async () => {
    const err = await loadConfig({ ...base, env: {}, file: await (async () => { const p = join(dir, 'list.yaml'); await writeFile(p, '- a\n- b\n'); return p })() })
      .then(() => null, (e: unknown) => e) as ConfigError
    expect(err).toBeInstanceOf(ConfigError)
    expect(err.key).toBe('file')
    expect(err.message).toContain('a mapping of sections')
  })

  it('accepts an empty YAML file as no settings', async () => {
    const p = join(dir, 'empty.yaml')
    await writeFile(p, '# nothing yet\n')
    expect((await loadConfig({ ...base, env: {}, file: p })).config.mesh.maxPeers).toBe(200)
  })

  it('stops reading when the signal is aborted', async () => {
    const signal = AbortSignal.abort(new Error('shutting down'))
    await expect(readConfigFile(jsonFile, { signal })).rejects.toThrow('shutting down')
  })
})
