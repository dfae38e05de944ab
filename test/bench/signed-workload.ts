/**
 * The entries the signed-propagation benchmark writes, as a working cluster writes them: a
 * NodeInfo rewrite, a cluster setting (a register holding a job command line) and a job status
 * heartbeat. Shared by the replication rounds and the per-entry costs.
 */
import { availableParallelism, loadavg } from 'node:os'
import type { JobStatus, NodeInfo, SettingValue } from '../../src/state/schema.js'

export type Kind = 'node' | 'setting' | 'status'
export const KINDS: readonly Kind[] = ['node', 'setting', 'status']
/** Map prefix of the unsigned copies (unknown to ClusterState, so never validated). */
export const UNSIGNED = 'unsigned.'
/** Map prefix of the unsigned copies that carry a dummy signature of a real one's size. */
export const PADDED = 'padded.'

export function nodeInfo (nodeId: string, i: number, stamp: number): NodeInfo {
  return {
    v: 1, nodeId, host: `gpu-box-${i}.lan`, addrs: [`/ip4/10.0.0.${i}/tcp/4100`, `/ip4/192.168.1.${i}/tcp/4100`], version: '0.1.0',
    startedAt: 1_765_000_000_000,
    hardware: { cpuCount: 64, memoryGb: 512, diskFreeGb: stamp, diskTotalGb: 4000, hasGpu: true, gpuName: 'NVIDIA H100 80GB HBM3', gpuCount: 8, gpuMemoryGb: 80 },
    capabilities: ['selfplay', 'training', 'gauntlet', 'tournament', 'export'],
    flags: { voter: i < 3, retired: false, leaderEligible: true }
  }
}

export function jobStatus (nodeId: string, jobId: string, stamp: number): JobStatus {
  return {
    v: 1, jobId, node: nodeId, state: 'RUNNING', pid: 48_213, startedAt: 1_765_000_000_000, heartbeatAt: 1_765_000_000_000 + stamp,
    endedAt: null, exitCode: null, error: null, outputs: [`data/games/hex8_2p/selfplay-${jobId.slice(-12)}.jsonl`], engineMode: 'gumbel-mcts'
  }
}

export function settingValue (stamp: number): SettingValue {
  return { selfplay: ['python', '-m', 'app.selfplay', '--board', '{board}', '--players', '{players}', '--games', '{games}'], round: stamp }
}

export const num = (x: unknown): number | undefined => (typeof x === 'number' ? x : undefined)
export const field = (v: unknown, k: string): unknown => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined)

/** Load averages (1 / 5 / 15 min) and cores: how busy the machine was around a run. */
export const f0 = (x: number): string => Math.round(x).toLocaleString('en-US')
export const f1 = (x: number): string => x.toFixed(1)
export const f2 = (x: number): string => x.toFixed(2)

export function loadNote (): string {
  return `load avg ${loadavg().map(x => x.toFixed(1)).join(' / ')} on ${availableParallelism()} cores`
}
