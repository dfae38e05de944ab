/**
 * Real `riftmesh node` child processes for integration tests: spawn, wait for the peer id and
 * listen address on stdout, talk to the control socket, stop with a signal.
 */
import { fileURLToPath } from 'node:url'
import { startNodeProcess as launch, type LaunchOptions, type NodeProcess } from '../../src/cli/node-launcher.js'
import { SystemClock, sleep } from '../../src/core/clock.js'

// from test/support (vitest) the CLI is in dist/; from dist/test/support (benchmarks) it is a sibling tree
export const CLI = fileURLToPath(new URL(import.meta.url.includes('/dist/test/') ? '../../src/cli/main.js' : '../../dist/src/cli/main.js', import.meta.url))

/** Short timings so failure detection and repair happen within a test's patience. */
export const FAST_TIMINGS = [
  '--set', 'health.heartbeatIntervalMs=200',
  '--set', 'health.suspectAfterMs=700',
  '--set', 'health.deadAfterMs=1500',
  '--set', 'mesh.antiEntropyIntervalMs=1000'
]

/** A short election (2 s lease, quick back-off), so a leader exists within a test's patience. */
export const FAST_ELECTION = [
  '--set', 'election.leaseMs=2000', '--set', 'election.renewIntervalMs=500', '--set', 'election.driftMarginMs=200',
  '--set', 'election.backoffMinMs=100', '--set', 'election.backoffMaxMs=500'
]

export type { NodeProcess } from '../../src/cli/node-launcher.js'

export async function startNodeProcess (dataDir: string, args: string[], timeoutMs = 20_000, options: Pick<LaunchOptions, 'listen' | 'wrap' | 'logLevel'> = {}): Promise<NodeProcess> {
  return await launch(dataDir, args, { cli: CLI, timeoutMs, ...options })
}

/** Whether a process group still has a member. */
function groupAlive (pgid: number): boolean {
  try {
    process.kill(-pgid, 0)
    return true
  } catch {
    return false
  }
}

/**
 * Stop nodes (SIGKILL) and the job process groups they started. Jobs outlive their node by
 * design, so a test that removes its temp dir must stop them too, and wait until they are gone
 * (bounded), or a job still writing makes the removal fail.
 */
export async function stopNodesAndJobs (nodes: readonly NodeProcess[]): Promise<void> {
  const groups = new Set<number>()
  for (const n of nodes) {
    const jobs = await n.request('jobs').catch(() => []) as Array<{ pid: number | null }>
    for (const j of jobs) if (j.pid !== null && groupAlive(j.pid)) groups.add(j.pid)
  }
  await Promise.all(nodes.map(async n => await n.stop('SIGKILL')))
  for (const pgid of groups) {
    try { process.kill(-pgid, 'SIGKILL') } catch { /* already gone */ }
  }
  const clock = new SystemClock()
  for (let i = 0; i < 100 && [...groups].some(groupAlive); i++) await sleep(clock, 50)
}
