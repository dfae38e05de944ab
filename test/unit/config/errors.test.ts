import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../../src/core/errors.js'
import { resolveConfig, type ConfigLayers } from '../../../src/config/index.js'

const ctx = { cwd: '/work', homeDir: '/home/ada' }

function configError (layers: ConfigLayers, context: { cwd: string, homeDir?: string | null } = ctx): ConfigError {
  try {
    resolveConfig(layers, context)
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return err as ConfigError
  }
  throw new Error('expected a ConfigError')
}

describe('a bad value', () => {
  // [behaviour, layers, dotted key, text the message must contain]
  const CASES: Array<[string, ConfigLayers, string, string]> = [
    ['a string where a file needs an integer', { file: { health: { deadAfterMs: '5000' } } },
      'health.deadAfterMs', 'an integer ≥ 1 (milliseconds'],
    ['a fraction where an integer is needed', { file: { mesh: { maxPeers: 2.5 } } }, 'mesh.maxPeers', 'an integer from 1 to 10000 (peers)'],
    ['a port out of range', { file: { node: { metricsPort: 70_000 } } }, 'node.metricsPort', 'an integer from 0 to 65535 (TCP port)'],
    ['a negative duration', { flags: { 'jobs.killGraceMs': -1 } }, 'jobs.killGraceMs', 'an integer ≥ 1 (milliseconds'],
    ['a duration too long for a timer', { flags: { 'mesh.syncTimeoutMs': 3_000_000_000 } }, 'mesh.syncTimeoutMs', 'at most 2147483647'],
    ['a percentage over 100', { file: { sync: { maxDiskPercent: 120 } } }, 'sync.maxDiskPercent', 'a number from 0 to 100 (percent)'],
    ['a zero where a positive number is needed', { file: { store: { reputationAlpha: 0 } } }, 'store.reputationAlpha', 'a number > 0 and ≤ 1'],
    ['a word where env needs an integer', { env: { RIFTMESH_HEALTH_DEAD_AFTER_MS: '5s' } },
      'health.deadAfterMs', 'got "5s" from env RIFTMESH_HEALTH_DEAD_AFTER_MS'],
    ['a word where env needs a boolean', { env: { RIFTMESH_STORE_SYNC_WRITES: 'yes' } }, 'store.syncWrites', 'true or false'],
    ['an unknown enum value', { file: { node: { logLevel: 'loud' } } }, 'node.logLevel', 'one of "fatal", "error"'],
    ['an unknown capability', { env: { RIFTMESH_NODE_CAPABILITIES: 'selfplay,mining' } }, 'node.capabilities.1', 'a list of at most 6 distinct capabilities'],
    ['a duplicate list entry', { file: { node: { listen: ['/ip4/0.0.0.0/tcp/1', '/ip4/0.0.0.0/tcp/1'] } } },
      'node.listen', 'duplicate entries'],
    ['a listen address that is not a multiaddr', { flags: { 'node.listen': 'localhost:4100' } }, 'node.listen.0', 'not a multiaddr (it starts with "/"'],
    ['a UDP listen address', { flags: { 'node.listen': '/ip4/0.0.0.0/udp/4100' } }, 'node.listen.0', 'riftmesh listens on TCP only'],
    ['a bootstrap address that does not parse', { flags: { 'node.bootstrap': '/ip4/300.1.1.1/tcp/4100/p2p/12D3KooWCD2cuGyYf74BFVtnDFGMQdGgz3nfV1vvKno6yZt9Zx29' } }, 'node.bootstrap.0', 'Invalid IPv4 address "300.1.1.1"'],
    ['a bootstrap address without its peer', { flags: { 'node.bootstrap': '/ip4/10.0.0.5/tcp/4100' } }, 'node.bootstrap.0', 'ends in /p2p/<peer id>'],
    ['a bootstrap address with a bad peer id', { flags: { 'node.bootstrap': '/ip4/10.0.0.5/tcp/4100/p2p/xyz' } }, 'node.bootstrap.0', '"xyz" after /p2p/ is not a peer id'],
    ['a bootstrap address over UDP', { flags: { 'node.bootstrap': '/ip4/10.0.0.5/udp/4100/quic-v1/p2p/12D3KooWCD2cuGyYf74BFVtnDFGMQdGgz3nfV1vvKno6yZt9Zx29' } }, 'node.bootstrap.0', 'joins over TCP only'],
    ['a cluster name with spaces', { flags: { 'node.clusterName': 'my lab' } }, 'node.clusterName', 'a name of 1–64 letters'],
    ['a lower-case GPU score name', { file: { selector: { gpuScores: { h100: 3 } } } }, 'selector.gpuScores.h100', 'upper-case GPU name substrings'],
    ['a bad map pair in env', { env: { RIFTMESH_SELECTOR_GPU_SCORES: 'H100:3' } }, 'selector.gpuScores', 'name=value'],
    ['a bad map entry in env', { env: { RIFTMESH_JOBS_MAX_RUNTIME_MS_SELFPLAY: 'long' } }, 'jobs.maxRuntimeMs.selfplay', 'each job type'],
    ['a map entry that is not an integer', { file: { scheduler: { staticPriority: { hex8_2p: 7.5 } } } },
      'scheduler.staticPriority.hex8_2p', 'an integer from 0 to 100 (priority)'],
    ['malformed JSON in env', { env: { RIFTMESH_TRAINING_THRESHOLD_SCALE: '[{' } }, 'training.thresholdScale', 'not valid JSON'],
    ['an extra field in a structured value', { file: { scheduler: { cpuOnlyJobCap: { cpuFraction: 0.3, maxJobs: 4, max: 1 } } } },
      'scheduler.cpuOnlyJobCap.max', 'cpuFraction: a number > 0'],
    ['a section that is not an object', { file: { health: 5 } }, 'health', 'an object of "health" keys'],
    ['null for a key that is not nullable', { file: { mesh: { maxPeers: null } } }, 'mesh.maxPeers', 'got null from config file'],
    ['a typed flag of the wrong type', { flags: { 'mesh.maxPeers': true } }, 'mesh.maxPeers', 'got true from flag "mesh.maxPeers"']
  ]
  it.each(CASES)('rejects %s, naming the key and the expected form', (_name, layers, key, text) => {
    const err = configError(layers)
    expect(err.key).toBe(key)
    expect(err.message).toContain(`config "${key}": expected `)
    expect(err.message).toContain(text)
  })

  it('rejects ~/ in a path when no home dir is known', () => {
    const err = configError({ flags: { 'node.dataDir': '~/rm' } }, { cwd: '/work', homeDir: null })
    expect(err.key).toBe('node.dataDir')
    expect(err.message).toContain('no home directory is known')
  })
})

describe('an unknown key', () => {
  const CASES: Array<[string, ConfigLayers, string, string | null]> = [
    ['a miscapitalised key in a file', { file: { health: { deadAfterMS: 1 } } }, 'health.deadAfterMS', 'health.deadAfterMs'],
    ['a truncated key in a file', { file: { health: { suspectAfter: 1 } } }, 'health.suspectAfter', 'health.suspectAfterMs'],
    ['a key in the wrong section', { file: { mesh: { deadAfterMs: 1 } } }, 'mesh.deadAfterMs', 'health.deadAfterMs'],
    ['a misspelt section', { file: { helth: { deadAfterMs: 1 } } }, 'helth', 'health'],
    ['a misspelt map entry', { file: { jobs: { maxRuntimeMs: { selfply: 1 } } } }, 'jobs.maxRuntimeMs.selfply', 'jobs.maxRuntimeMs.selfplay'],
    ['a misspelt flag', { flags: { 'mesh.coalesceWindow': '5' } }, 'mesh.coalesceWindow', 'mesh.coalesceWindowMs'],
    ['a flag naming a section', { flags: { mesh: '5' } }, 'mesh', null],
    ['a key nothing resembles', { file: { node: { qqqqqqqqqqqq: 1 } } }, 'node.qqqqqqqqqqqq', null]
  ]
  it.each(CASES)('rejects %s, with a suggestion when one is close', (_name, layers, key, suggestion) => {
    const err = configError(layers)
    expect(err.key).toBe(key)
    expect(err.message).toContain('unknown key')
    if (suggestion === null) expect(err.message).not.toContain('did you mean')
    else expect(err.message).toContain(`did you mean "${suggestion}"?`)
  })

  it('lists the keys of a known section, and never offers a bare section for a dotted key', () => {
    const err = configError({ flags: { 'health.nope': '3' }, flagLabels: { 'health.nope': '--set health.nope' } })
    expect(err.key).toBe('health.nope')
    expect(err.message).toContain('a key of section "health" (heartbeatIntervalMs, suspectAfterMs, deadAfterMs,')
    expect(err.message).toContain('unknown key in --set health.nope')
    expect(err.message).not.toContain('did you mean "node"')
  })

  it('suggests the right section for a key under a misspelt one', () => {
    const err = configError({ flags: { 'helth.deadAfterMs': '3' } })
    expect(err.message).toContain('a key under a section (node, mesh, health')
    expect(err.message).toContain('did you mean "health.deadAfterMs"?')
  })

  it('names the file it came from', () => {
    const err = configError({ file: { node: { datadir: '/x' } }, fileLabel: 'file /etc/riftmesh.yaml' })
    expect(err.message).toContain('unknown key in file /etc/riftmesh.yaml; did you mean "node.dataDir"?')
  })
})

describe('a rule across keys', () => {
  // [behaviour, layers, key named, expected form]
  const CASES: Array<[string, ConfigLayers, string, string]> = [
    ['suspectAfterMs not below deadAfterMs', { file: { health: { suspectAfterMs: 6000 } } },
      'health.suspectAfterMs', 'less than health.deadAfterMs (5000)'],
    ['deadAfterMs lowered below suspectAfterMs', { env: { RIFTMESH_HEALTH_DEAD_AFTER_MS: '2000' } },
      'health.deadAfterMs', 'greater than health.suspectAfterMs (3000)'],
    ['heartbeatIntervalMs not below suspectAfterMs', { flags: { 'health.heartbeatIntervalMs': 3000 } },
      'health.heartbeatIntervalMs', 'less than health.suspectAfterMs (3000)'],
    ['both sides set: the left one is named', { file: { health: { suspectAfterMs: 4000, deadAfterMs: 4000 } } },
      'health.suspectAfterMs', 'less than health.deadAfterMs (4000)'],
    ['renewIntervalMs not below leaseMs', { file: { election: { renewIntervalMs: 4000 } } },
      'election.renewIntervalMs', 'less than election.leaseMs (4000)'],
    ['renew plus drift margin not below the lease', { file: { election: { driftMarginMs: 3000 } } },
      'election.driftMarginMs', 'less than election.leaseMs − election.renewIntervalMs (3000)'],
    ['election backoff min above max', { file: { election: { backoffMinMs: 2000 } } },
      'election.backoffMinMs', 'at most election.backoffMaxMs (1500)'],
    ['reassign backoff above its cap', { file: { jobs: { reassignBackoffMaxMs: 10_000 } } },
      'jobs.reassignBackoffMaxMs', 'at least jobs.reassignBackoffMs (30000)'],
    ['sync retry backoff min above max', { flags: { 'sync.retryBackoffMinMs': '60000' } },
      'sync.retryBackoffMinMs', 'at most sync.retryBackoffMaxMs (30000)'],
    ['a gossip limit above the stream limit', { file: { mesh: { maxGossipMessageBytes: 128 * 1024 * 1024 } } },
      'mesh.maxGossipMessageBytes', 'at most mesh.maxStreamMessageBytes (67108864)'],
    ['a sync chunk larger than a stream message', { file: { mesh: { maxGossipMessageBytes: 256 * 1024, maxStreamMessageBytes: 512 * 1024 } } },
      'mesh.maxStreamMessageBytes', 'at least sync.chunkBytes (1048576)'],
    ['a games floor above the threshold', { file: { training: { minGamesFloor: 3000 } } },
      'training.minGamesFloor', 'at most training.minGames (2000)'],
    ['"preferred" eligibility without a preferred leader', { file: { election: { eligibility: 'preferred' } } },
      'election.preferredLeader', 'a peer id when election.eligibility is "preferred"'],
    ['a preferred leader with another eligibility', { file: { election: { preferredLeader: 'QmX' } } },
      'election.preferredLeader', 'null unless election.eligibility is "preferred"'],
    ['threshold steps that do not rise', { env: { RIFTMESH_TRAINING_THRESHOLD_SCALE: '[{"maxGpuNodes":2,"factor":1},{"maxGpuNodes":2,"factor":0.5}]' } },
      'training.thresholdScale', 'steps with rising maxGpuNodes'],
    ['threshold factors that grow', { env: { RIFTMESH_TRAINING_THRESHOLD_SCALE: '[{"maxGpuNodes":1,"factor":0.5},{"maxGpuNodes":2,"factor":0.9}]' } },
      'training.thresholdScale', 'steps with falling or equal factors'],
    ['a factor above the last step', { file: { training: { thresholdScaleAbove: 0.6 } } },
      'training.thresholdScaleAbove', 'at most the last training.thresholdScale factor (0.5)']
  ]
  it.each(CASES)('rejects %s', (_name, layers, key, expected) => {
    const err = configError(layers)
    expect(err.key).toBe(key)
    expect(err.expected.startsWith(expected)).toBe(true)
    expect(err.message).toContain(`expected ${expected}`)
  })
})

describe('a value given by a flag', () => {
  it('names the flag the user typed, and says which key it sets', () => {
    const err = configError({ flags: { 'node.metricsPort': 'abc' }, flagLabels: { 'node.metricsPort': '--metrics-port' } })
    expect(err.message).toBe('flag "--metrics-port": expected an integer from 0 to 65535 (TCP port) (got "abc"; --metrics-port sets node.metricsPort)')
  })

  it('names a list flag, not the place of the bad entry', () => {
    const err = configError({ flags: { 'node.listen': ['/ip4/0.0.0.0/tcp/1', '/ip4/1.2.3.4/udp/1'] }, flagLabels: { 'node.listen': '--listen' } })
    expect(err.message).toMatch(/^flag "--listen": expected .* \(got "\/ip4\/1\.2\.3\.4\/udp\/1": riftmesh listens on TCP only .*; --listen sets node\.listen\)$/)
  })

  it('names the key a rule across keys breaks by its flag too', () => {
    const err = configError({ flags: { 'election.renewIntervalMs': 9_000 }, flagLabels: { 'election.renewIntervalMs': '--renew' } })
    expect(err.message).toMatch(/^flag "--renew": expected less than election\.leaseMs \(\d+\) \(got 9000; --renew sets election\.renewIntervalMs\)$/)
  })

  it('names the key of a --set, with the --set it came from', () => {
    const err = configError({ flags: { 'node.metricsPort': 'abc' }, flagLabels: { 'node.metricsPort': '--set node.metricsPort' } })
    expect(err.message).toBe('config "node.metricsPort": expected an integer from 0 to 65535 (TCP port) (got "abc" from flag "--set node.metricsPort")')
  })
})

describe('a flag into a structured value', () => {
  it('is rejected: the value is set as a whole', () => {
    const err = configError({ flags: { 'scheduler.cpuOnlyJobCap.maxJobs': 4 } })
    expect(err.key).toBe('scheduler.cpuOnlyJobCap.maxJobs')
    expect(err.expected).toBe('scheduler.cpuOnlyJobCap set as a whole')
  })
})
