import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadScenario, parseScenario } from '../../sim/scenario.js'
import { runSimulation } from '../../sim/simulation.js'
import { DEFAULT_SIM_NODE_CONFIG, simNodeConfig, simNodeId } from '../../sim/node/sim-node.js'
import { jobLeaderInit, trainingCoordinatorInit } from '../../src/node/manager-init.js'

const dir = fileURLToPath(new URL('../../sim/scenarios/', import.meta.url))
const TRAINING_CHECKS = ['training-threshold', 'training-strongest-gpu', 'training-once', 'training-started']

describe('training coordination in the simulator', () => {
  it('training-failover: trains exactly the configs over threshold, on the strongest GPU, once per data, across a leader crash', async () => {
    const r = await runSimulation(await loadScenario(join(dir, 'training-failover.yaml')))
    expect(r.checks.filter(c => !c.ok)).toEqual([])
    expect(r.checks.map(c => c.name)).toEqual(expect.arrayContaining([...TRAINING_CHECKS, 'one-leader-per-epoch', 'fencing']))
    // hex8_2p at 1100 games, square8_2p at 1100, hex8_2p again after 600 new (≥ 500); hexagonal_2p (500)
    // and square19_2p (999) stay under the threshold of 1000 (4 GPU nodes: ×0.5)
    expect(r.training).toMatchObject({ firstTrainings: 3, configsTrained: ['hex8_2p', 'square8_2p'] })
    const [first, second] = r.leadership?.leaders ?? []
    expect(first).toMatchObject({ node: 0, epoch: 1 })
    expect(second?.node).not.toBe(0)
    // both trainings went through the gauntlet to promotion; hex8_2p's latest is the new leader's
    expect(Object.keys(r.training?.models ?? {}).sort()).toEqual(['hex8_2p', 'square8_2p'])
    expect(r.training?.models.hex8_2p?.modelId.startsWith(`e${second?.epoch}-`)).toBe(true)
    expect(r.training?.models.square8_2p?.elo).toBeGreaterThan(1200)
    // the first trainings went to the two strongest GPUs: H100 (node 1), then A100 (node 2) while the H100 was busy
    expect(r.training?.models.square8_2p?.ownerNode).toBe(simNodeId(2))
  })

  it('a GPU node cut off from the leader is passed over: the strongest one it sees alive trains', async () => {
    const text = `
name: cut-gpu
nodes: 5
voters: 3
seed: 3
election: { preferredLeader: 0 }
topology: { kind: full }
workload: { writesPerSecond: 0 }
gpus:
  - { node: 1, gpuName: NVIDIA H100 }
  - { node: 2, gpuName: NVIDIA RTX 3060, gpuMemoryGb: 12 }
training: { minGames: 1000, incrementalGames: 500, cooldownMs: 10000, readinessIntervalMs: 2000, trainingDurationMs: 2000, gauntletDurationMs: 1000 }
timeline:
  - { at: 1000, partition: [[0, 2, 3, 4], [1]] }
  - { at: 9000, data: { node: 3, config: hex8_3p, games: 1000 } }
phases: { safetyUntilMs: 20000, livenessWithinMs: 15000 }
checks: [convergence, training-threshold, training-strongest-gpu, training-once, training-started]
`
    const r = await runSimulation(parseScenario(text, 'cut-gpu'))
    expect(r.checks.filter(c => !c.ok)).toEqual([])
    // the H100 is dead to the leader: one GPU node counts (×1.0 → 1000 games) and the RTX 3060 trains
    expect(r.training).toMatchObject({ firstTrainings: 1, configsTrained: ['hex8_3p'] })
    expect(r.training?.models.hex8_3p).toMatchObject({ ownerNode: simNodeId(2) })
    expect(r.training?.models.hex8_3p?.modelId).toMatch(/^e1-/)
  })

  it('simulated nodes set up their managers from a node configuration, through the same functions as a real node', () => {
    const cfg = simNodeConfig({
      ...DEFAULT_SIM_NODE_CONFIG,
      machineOf: () => { throw new Error('not started') },
      training: { params: { minGames: 1000, incrementalGames: 500, cooldownMs: 10_000 }, readinessIntervalMs: 2000, leaderlessTrainingTimeoutMs: 60_000 },
      jobs: {
        maxProcesses: 8, cleanup: { jobHeartbeatTimeoutMs: 8000, reassignBackoffMs: 1000 }, cleanupIntervalMs: 2000,
        selfplayDispatchIntervalMs: 2000, jobHeartbeatIntervalMs: 2000, leaderlessSelfplayAfterMs: 10_000, admissionWaitMs: 3000
      }
    }, 0)
    expect(trainingCoordinatorInit(cfg)).toMatchObject({ training: { minGames: 1000, incrementalGames: 500, cooldownMs: 10_000, retryBackoffMs: 60_000 }, leaderlessTrainingTimeoutMs: 60_000 })
    expect(jobLeaderInit(cfg)).toMatchObject({ cleanup: { jobHeartbeatTimeoutMs: 8000, reassignBackoffMs: 1000, maxReassignments: 3 }, selfplayGamesPerJob: 10, leaderlessSelfplayAfterMs: 10_000 })
  })

  it('refuses a training scenario without voters', () => {
    expect(() => parseScenario('name: x\nnodes: 3\ntraining: {}\nphases: { safetyUntilMs: 1000 }\n', 'x')).toThrow(/training needs an election/)
  })
})
