import { describe, expect, it } from 'vitest'
import { configValue, resolveConfig } from '../../../src/config/index.js'
import { editDistance, parseNumber, suggestKey } from '../../../src/config/parse.js'

const ctx = { cwd: '/work', homeDir: '/home/ada' }

describe('environment variables', () => {
  const CASES: Array<[string, Record<string, string>, string, unknown]> = [
    ['an integer', { RIFTMESH_MESH_MAX_PEERS: '250' }, 'mesh.maxPeers', 250],
    ['an integer with _ separators', { RIFTMESH_HEALTH_DEAD_AFTER_MS: '6_000' }, 'health.deadAfterMs', 6000],
    ['a float', { RIFTMESH_HEALTH_CPU_STRETCH95: '1.5' }, 'health.cpuStretch95', 1.5],
    ['a float in exponent form', { RIFTMESH_STORE_REPUTATION_ALPHA: '2.5e-1' }, 'store.reputationAlpha', 0.25],
    ['boolean false', { RIFTMESH_STORE_SYNC_WRITES: 'false' }, 'store.syncWrites', false],
    ['boolean 0', { RIFTMESH_STORE_SYNC_WRITES: '0' }, 'store.syncWrites', false],
    ['boolean TRUE', { RIFTMESH_SCHEDULER_PLATEAU_HALVING: 'TRUE' }, 'scheduler.plateauHalving', true],
    ['boolean 1', { RIFTMESH_SCHEDULER_BOOTSTRAP_BOOST: '1' }, 'scheduler.bootstrapBoost', true],
    ['a string', { RIFTMESH_NODE_CLUSTER_NAME: 'lab-2' }, 'node.clusterName', 'lab-2'],
    ['an enum', { RIFTMESH_ELECTION_MODE: 'epoch' }, 'election.mode', 'epoch'],
    ['a comma-separated list', { RIFTMESH_NODE_BOOTSTRAP: '/ip4/10.0.0.1/tcp/4100/p2p/12D3KooWCD2cuGyYf74BFVtnDFGMQdGgz3nfV1vvKno6yZt9Zx29, /dns4/a.lab/tcp/4100/p2p/12D3KooWCD2cuGyYf74BFVtnDFGMQdGgz3nfV1vvKno6yZt9Zx29' }, 'node.bootstrap',
      ['/ip4/10.0.0.1/tcp/4100/p2p/12D3KooWCD2cuGyYf74BFVtnDFGMQdGgz3nfV1vvKno6yZt9Zx29', '/dns4/a.lab/tcp/4100/p2p/12D3KooWCD2cuGyYf74BFVtnDFGMQdGgz3nfV1vvKno6yZt9Zx29']],
    ['an empty list', { RIFTMESH_NODE_LISTEN: '' }, 'node.listen', []],
    ['a nullable list', { RIFTMESH_NODE_CAPABILITIES: 'selfplay,export' }, 'node.capabilities', ['selfplay', 'export']],
    ['null for a nullable list', { RIFTMESH_NODE_CAPABILITIES: 'null' }, 'node.capabilities', null],
    ['a path relative to cwd', { RIFTMESH_NODE_DATA_DIR: 'state' }, 'node.dataDir', '/work/state'],
    ['name=value pairs merged over a map', { RIFTMESH_SELECTOR_GPU_SCORES: 'RTX 6000=500, H100=2100' }, 'selector.gpuScores.RTX 6000', 500],
    ['a JSON object for a map', { RIFTMESH_JOBS_MAX_RUNTIME_MS: '{"selfplay": 60000}' }, 'jobs.maxRuntimeMs.selfplay', 60_000],
    ['one entry of a fixed map', { RIFTMESH_SCHEDULER_STATIC_PRIORITY_SQUARE8_2P: '6' }, 'scheduler.staticPriority.square8_2p', 6],
    ['JSON for a structured value', { RIFTMESH_TRAINING_THRESHOLD_SCALE: '[{"maxGpuNodes": 8, "factor": 0.5}]' },
      'training.thresholdScale', [{ maxGpuNodes: 8, factor: 0.5 }]],
    ['a nullable string', { RIFTMESH_ELECTION_ELIGIBILITY: 'preferred', RIFTMESH_ELECTION_PREFERRED_LEADER: 'QmLeader1' },
      'election.preferredLeader', 'QmLeader1']
  ]
  it.each(CASES)('parse %s', (_name, env, key, expected) => {
    expect(configValue(resolveConfig({ env }, ctx), key)).toEqual(expected)
  })

  it('derive the swarm key file from a data dir set by env', () => {
    expect(resolveConfig({ env: { RIFTMESH_NODE_DATA_DIR: '/srv/rm' } }, ctx).node.swarmKeyFile).toBe('/srv/rm/swarm.key')
  })

  it('keep the other entries of a map when env merges some', () => {
    const config = resolveConfig({ env: { RIFTMESH_SELECTOR_GPU_SCORES: 'H100=2100' } }, ctx)
    expect(config.selector.gpuScores).toMatchObject({ H100: 2100, B200: 4500, M1: 20 })
  })

  it('ignore variables without the RIFTMESH_ prefix and undefined values', () => {
    const config = resolveConfig({ env: { MESH_MAX_PEERS: '1', RIFTMESH_MESH_MAX_PEERS: undefined } }, ctx)
    expect(config.mesh.maxPeers).toBe(200)
  })
})

describe('flags', () => {
  const CASES: Array<[string, Record<string, unknown>, string, unknown]> = [
    ['a string parsed as an integer', { 'mesh.coalesceWindowMs': '20' }, 'mesh.coalesceWindowMs', 20],
    ['an already-typed integer', { 'mesh.coalesceWindowMs': 25 }, 'mesh.coalesceWindowMs', 25],
    ['a string parsed as a boolean', { 'node.leaderEligible': 'false' }, 'node.leaderEligible', false],
    ['an already-typed boolean', { 'store.syncWrites': false }, 'store.syncWrites', false],
    ['a string parsed as a list', { 'election.voters': 'QmA,QmB,QmC' }, 'election.voters', ['QmA', 'QmB', 'QmC']],
    ['an already-typed list', { 'node.listen': ['/ip4/127.0.0.1/tcp/1'] }, 'node.listen', ['/ip4/127.0.0.1/tcp/1']],
    ['an absolute path', { 'node.dataDir': '/x' }, 'node.swarmKeyFile', '/x/swarm.key'],
    ['a fixed map entry as a dotted key', { 'jobs.maxRuntimeMs.training': '7200000' }, 'jobs.maxRuntimeMs.training', 7_200_000],
    ['an open map entry as a dotted key', { 'selector.gpuScores.RTX 6000': 500 }, 'selector.gpuScores.RTX 6000', 500],
    ['a float string', { 'training.promoteWinRate': '0.6' }, 'training.promoteWinRate', 0.6],
    ['null for a nullable key', { 'node.capabilities': null }, 'node.capabilities', null],
    ['a structured value', { 'scheduler.cpuOnlyJobCap': { cpuFraction: 0.5, maxJobs: 16 } }, 'scheduler.cpuOnlyJobCap',
      { cpuFraction: 0.5, maxJobs: 16 }]
  ]
  it.each(CASES)('accept %s', (_name, flags, key, expected) => {
    expect(configValue(resolveConfig({ flags }, ctx), key)).toEqual(expected)
  })

  it('skip flags whose value is undefined', () => {
    expect(resolveConfig({ flags: { 'mesh.maxPeers': undefined } }, ctx).mesh.maxPeers).toBe(200)
  })
})

describe('text helpers', () => {
  it.each([
    ['42', true, 42], ['-7', true, -7], ['1_000', true, 1000], ['4.5', true, undefined], ['', true, undefined],
    ['4.5', false, 4.5], ['.5', false, 0.5], ['1e3', false, 1000], ['abc', false, undefined], ['NaN', false, undefined],
    ['Infinity', false, undefined], ['0x10', false, undefined]
  ] as Array<[string, boolean, number | undefined]>)('parseNumber(%j, integer=%s) is %s', (raw, integer, expected) => {
    expect(parseNumber(raw, integer)).toBe(expected)
  })

  it.each([
    ['kitten', 'sitting', 3], ['deadAfterMS', 'deadAfterMs', 0], ['suspectAftreMs', 'suspectAfterMs', 1], ['', 'abc', 3]
  ] as Array<[string, string, number]>)('editDistance(%j, %j) is %i', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d)
  })

  it.each([
    ['health.deadAfterMS', 'health.deadAfterMs'],
    ['health.deadAfter', 'health.deadAfterMs'],
    ['mesh.deadAfterMs', 'health.deadAfterMs'],
    ['helth', 'health'],
    ['health.zzzzzzzz', null]
  ] as Array<[string, string | null]>)('suggestKey(%j) is %j', (unknown, expected) => {
    expect(suggestKey(unknown, ['health', 'mesh', 'health.deadAfterMs', 'health.suspectAfterMs', 'mesh.maxPeers'])).toBe(expected)
  })
})
