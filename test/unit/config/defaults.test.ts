import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import * as defaults from '../../../src/config/defaults.js'
import * as vocabulary from '../../../src/core/vocabulary.js'
import { CONFIG_KEYS, configValue, resolveConfig } from '../../../src/config/index.js'

const config = resolveConfig({}, { cwd: '/work', homeDir: '/home/ada' })

describe('defaults', () => {
  it('resolve with no input to a complete config', () => {
    expect(config.node.dataDir).toBe('/home/ada/.riftmesh')
    expect(config.node.swarmKeyFile).toBe('/home/ada/.riftmesh/swarm.key')
    expect(config.node.listen).toEqual(['/ip4/0.0.0.0/tcp/4100'])
    expect(config.node.capabilities).toBeNull()
    expect(config.election.preferredLeader).toBeNull()
    for (const key of CONFIG_KEYS.keys()) expect(configValue(config, key), key).not.toBeUndefined()
  })

  it('put the data dir under the working dir when no home dir is known', () => {
    const c = resolveConfig({}, { cwd: '/srv/node', homeDir: null })
    expect(c.node.dataDir).toBe('/srv/node/.riftmesh')
    expect(c.node.swarmKeyFile).toBe('/srv/node/.riftmesh/swarm.key')
  })

  it('returns a frozen config that does not share arrays with the default constants', () => {
    expect(Object.isFrozen(config.node.listen)).toBe(true)
    expect(config.node.listen).not.toBe(defaults.DEFAULT_LISTEN_ADDRS)
    expect(config.selector.gpuScores).not.toBe(defaults.DEFAULT_GPU_SCORES)
  })

  // Every REFERENCE.md number, by the key it is the default of.
  const REFERENCE_NUMBERS: Array<[string, unknown]> = [
    ['health.cpuHighPercent', 80], ['health.cpuCriticalPercent', 95],
    ['health.cpuStretch80', 1.2], ['health.cpuStretch95', 1.4],
    ['health.maxDiskPercentForWork', 70], ['health.maxMemoryPercentForWork', 75], ['health.maxLoadScoreForWork', 80],
    ['health.loadCpuWeight', 0.4], ['health.loadMemoryWeight', 0.3], ['health.loadJobsWeight', 0.3],
    ['health.loadPercentPerJob', 12.5], ['health.loadTrainingJobFactor', 2], ['health.loadGpuWeight', 0.3],
    ['node.cpuPowerMultiplier', 1],
    ['selector.rankingCacheMs', 10_000], ['selector.trainingPrimaryCount', 5], ['selector.cpuPrimaryCount', 3],
    ['selector.unknownGpuScore', 10],
    ['jobs.maxRuntimeMs.selfplay', 45 * 60_000], ['jobs.maxRuntimeMs.training', 24 * 3_600_000],
    ['jobs.maxRuntimeMs.gauntlet', 3_600_000], ['jobs.maxRuntimeMs.tournament', 2 * 3_600_000],
    ['jobs.dispatchTimeoutMs', 300_000], ['jobs.jobHeartbeatTimeoutMs', 300_000],
    ['jobs.reassignBackoffMs', 30_000], ['jobs.reassignBackoffFactor', 2], ['jobs.reassignBackoffMaxMs', 300_000],
    ['jobs.maxReassignments', 3], ['jobs.cleanupIntervalMs', 60_000], ['jobs.spawnRatePerMinute', 5],
    ['scheduler.eloTarget', 2000], ['scheduler.largeBoardMinVramGb', 48], ['scheduler.minMemoryGbForTasks', 8],
    ['scheduler.staticPriority.hexagonal_2p', 8], ['scheduler.staticPriority.hex8_4p', 8],
    ['scheduler.staticPriority.square19_3p', 8], ['scheduler.staticPriority.square8_3p', 7],
    ['scheduler.staticPriority.square8_4p', 7], ['scheduler.staticPriority.square8_2p', 5],
    ['scheduler.eloBoostBaseElo', 1200], ['scheduler.eloBoostStepElo', 100], ['scheduler.eloBoostMax', 3],
    ['scheduler.defaultCurriculumWeight', 1], ['scheduler.curriculumBoostScale', 4],
    ['scheduler.curriculumBoostMin', -2], ['scheduler.curriculumBoostMax', 3],
    ['scheduler.boardBoost', { critical: 6, high: 4, medium: 2, low: 0 }], ['scheduler.minEffectivePriority', 1],
    ['scheduler.bootstrapBoost', false], ['scheduler.stalenessBoost', false], ['scheduler.plateauHalving', false],
    ['scheduler.weightsCacheMs', 60_000], ['scheduler.diversityWindow', 1000],
    ['scheduler.selfplayJobCaps', [
      { gpuMatch: ['GH200'], cpuFraction: 0.8, maxJobs: null },
      { gpuMatch: ['H100', 'H200'], cpuFraction: 0.5, maxJobs: 48 },
      { gpuMatch: ['A100', 'L40'], cpuFraction: 0.4, maxJobs: 32 },
      { gpuMatch: ['4090', '3090', 'A10'], cpuFraction: 0.3, maxJobs: 24 },
      { gpuMatch: ['4080', '4070', '3080', '4060'], cpuFraction: 0.25, maxJobs: 12 }
    ]],
    ['scheduler.otherGpuJobCap', { cpuFraction: 0.2, maxJobs: 8 }], ['scheduler.cpuOnlyJobCap', { cpuFraction: 0.3, maxJobs: 32 }],
    ['scheduler.busyGpuPercent', 85], ['scheduler.busyGpuPenaltyJobs', 2], ['scheduler.busyCpuPercent', 90],
    ['scheduler.busyCpuPenaltyJobs', 1], ['scheduler.maxRampUpJobs', 2], ['scheduler.diskPressureMaxJobs', 4],
    ['scheduler.memoryPressureMaxJobs', 2], ['scheduler.minTargetJobs', 1],
    ['training.readinessIntervalMs', 300_000], ['training.minGames', 2000], ['training.incrementalGames', 1000],
    ['training.cooldownMs', 300_000], ['training.dedupWindow', 100], ['training.maxDispatchAttempts', 3],
    ['training.gauntletGamesPerSeat', 16], ['training.promoteWinRate', 0.55], ['training.firstModelWinRate', 0.5],
    ['training.gauntletDrawScore', 0.5], ['training.eloK', 32], ['training.eloScale', 400],
    ['training.thresholdScale', [{ maxGpuNodes: 1, factor: 1 }, { maxGpuNodes: 2, factor: 0.7 }, { maxGpuNodes: 4, factor: 0.5 }]],
    ['training.thresholdScaleAbove', 0.35], ['training.minGamesFloor', 500], ['training.incrementalGamesFloor', 200],
    ['training.maxLeaderlessJobsPerNode', 1], ['election.leaderlessTrainingTimeoutMs', 180_000],
    ['store.peerCacheMax', 200], ['store.peerCacheTtlMs', 7 * 86_400_000], ['store.reputationAlpha', 0.2],
    ['store.staleJobAgeMs', 86_400_000], ['store.stalePeerAgeMs', 300_000],
    ['sync.manifestCacheAgeMs', 300_000], ['sync.manifestCollectionIntervalMs', 60_000],
    ['sync.manifestCollectionTimeoutMs', 30_000], ['sync.maxFilesPerSyncJob', 50], ['sync.mtimeToleranceMs', 60_000],
    ['sync.retryBackoffMinMs', 1_000], ['sync.retryBackoffMaxMs', 30_000], ['sync.maxDiskPercent', 90],
    ['sync.maxSyncJobsPerNode', 1]
  ]
  it.each(REFERENCE_NUMBERS)('give %s the REFERENCE.md value %j', (key, value) => {
    expect(configValue(config, key)).toEqual(value)
  })

  it('hold the whole REFERENCE.md GPU score table', () => {
    expect(config.selector.gpuScores).toEqual({
      B200: 4500, H200: 2500, H100: 2000, GH200: 1900, A100: 624, L40S: 420, L40: 362, 'RTX 5090': 419,
      4090: 330, 5080: 300, A10G: 250, A10: 250, 4080: 242, 5070: 200, 4070: 184, 3090: 142, V100: 125,
      4060: 120, 3080: 119, 3070: 81, 3060: 51, 'APPLE M3': 30, M2: 25, M1: 20
    })
  })

  it('score GPUs in the order the spec requires: H100 > GH200 > A100 > L40S > 4090 > 3090 > consumer GPUs', () => {
    const s = config.selector.gpuScores
    const order = ['H100', 'GH200', 'A100', 'L40S', '4090', '3090', '3060'].map(k => s[k] as number)
    expect([...order].sort((a, b) => b - a)).toEqual(order)
  })

  it('write each constant\'s value in its JSDoc @default', () => {
    const source = readFileSync(new URL('../../../src/config/defaults.ts', import.meta.url), 'utf8')
    const documented = [...source.matchAll(/@default ([^\n*]+?)\s*(?:\*\/)?\n(?:\s*\*\/\n)?export const (DEFAULT_\w+)/g)]
    const names = Object.keys(defaults).filter(n => n.startsWith('DEFAULT_'))
    expect(documented.map(m => m[2]).sort()).toEqual(names.sort())
    for (const [, doc, name] of documented) {
      const value = (defaults as Record<string, unknown>)[name as string]
      const first = (doc as string).split(' (')[0] as string
      if (typeof value === 'number') expect(Number(first.replaceAll('_', '')), name).toBe(value)
      if (typeof value === 'string') expect(first, name).toBe(`'${value}'`)
      if (typeof value === 'boolean' || value === null) expect(first, name).toBe(String(value))
    }
  })

  it('use every DEFAULT_ constant as the default of some key', () => {
    const keyDefaults = [...CONFIG_KEYS.values()].map(m => m.spec.default)
    const parts = new Set(['DEFAULT_DATA_DIR_NAME', 'DEFAULT_SWARM_KEY_FILE_NAME', 'DEFAULT_SWARM_KEY_FILE'])
    for (const [name, value] of Object.entries(defaults)) {
      if (!name.startsWith('DEFAULT_') || parts.has(name)) continue
      expect(keyDefaults.some(d => d === value), name).toBe(true)
    }
  })
})
