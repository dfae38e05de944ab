/**
 * `riftmesh demo` (`npm run cluster`): a local cluster of real node processes on 127.0.0.1 with
 * small thresholds, so the whole loop — self-play, sync, training, gauntlet, promotion — runs
 * on one machine within minutes. Prints progress; Ctrl-C (also SIGTERM, SIGHUP, or stdout closing
 * under `demo | head`) stops every node and every job the nodes started, and nothing is left.
 */
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SystemClock, sleep } from '../../core/clock.js'
import { ConfigError } from '../../core/errors.js'
import { holdProcessOpen } from '../../core/keep-alive.js'
import { BOARD_CONFIGS } from '../../core/vocabulary.js'
import { runningJobs, stopJobs } from '../../jobs/leftovers.js'
import { writeSwarmKey } from '../../mesh/keys.js'
import type { FlagSpec, ParsedArgs } from '../args.js'
import { startNodeProcess, type NodeProcess } from '../node-launcher.js'

export const demoFlags: readonly FlagSpec[] = [
  { name: 'nodes', key: null, help: 'how many nodes (default 3, at most 16)' },
  { name: 'configs', key: null, help: 'comma-separated configs to play (default hex8_2p,square8_2p)' },
  { name: 'dir', key: null, help: 'where the nodes keep their data (default: a new temp dir)' },
  { name: 'min-games', key: null, help: 'games before the first training (default 300)' },
  { name: 'duration', key: null, help: 'stop after this many seconds, > 0 (default: run until Ctrl-C)' }
]

export const demoHelp = `riftmesh demo [--nodes 3] [--configs hex8_2p,square8_2p] [--dir D] [--min-games 300] [--duration S]

Start a local cluster of real riftmesh nodes on 127.0.0.1 with small thresholds and watch the
loop run: self-play jobs, data moving to the training node, training, gauntlet, promotion.
Progress is printed every few seconds. Ctrl-C (or SIGTERM, a closed terminal, a closed
stdout) stops every node and every job it started. (npm run cluster)`

/** The settings and config overrides a demo cluster runs with. */
export function demoNodeArgs (keyFile: string, minGames: number): string[] {
  return [
    '--swarm-key', keyFile,
    '--set', 'health.heartbeatIntervalMs=500', '--set', 'health.suspectAfterMs=2000', '--set', 'health.deadAfterMs=4000',
    '--set', 'election.leaseMs=3000', '--set', 'election.renewIntervalMs=750',
    '--set', `training.minGames=${minGames}`, '--set', `training.minGamesFloor=${Math.min(minGames, 100)}`,
    '--set', `training.incrementalGames=${Math.max(1, Math.round(minGames / 2))}`, '--set', `training.incrementalGamesFloor=${Math.min(Math.max(1, Math.round(minGames / 2)), 50)}`,
    '--set', 'training.cooldownMs=30000', '--set', 'training.readinessIntervalMs=5000', '--set', 'training.gauntletGamesPerSeat=8',
    '--set', 'jobs.selfplayDispatchIntervalMs=2000', '--set', 'jobs.selfplayGamesPerJob=50', '--set', 'jobs.spawnRatePerMinute=60',
    '--set', 'jobs.cleanupIntervalMs=5000', '--set', 'jobs.jobHeartbeatIntervalMs=5000', '--set', 'jobs.jobHeartbeatTimeoutMs=30000',
    '--set', 'sync.manifestCollectionIntervalMs=3000', '--set', 'sync.manifestCollectionTimeoutMs=3000', '--set', 'sync.planIntervalMs=2000',
    // one machine, no GPU: every node may do every kind of work, training on CPU included
    '--set', 'node.capabilities=selfplay,training,gauntlet,tournament,export', '--set', 'training.allowCpuTraining=true'
  ]
}

interface ModelRow { elo: number, modelId: string }
interface UnfitRow { node: string, unfit: string | null }
interface Progress { leader: string | null, nodes: number, games: Record<string, number>, jobs: Array<{ jobId: string, type: string, config: string | null, state: string }>, models: Record<string, ModelRow>, unfit: UnfitRow[] }

async function progress (n: NodeProcess): Promise<Progress> {
  const st = await n.request('status') as { nodes: unknown[], election: { leader: { nodeId: string, epoch: number } | null }, managers?: { training: { decisions: Array<{ config: string, games: number }> } | null } }
  const jobs = await n.request('jobs') as Progress['jobs']
  const models = await n.request('models') as Record<string, ModelRow>
  const unfit = (await n.request('rankings') as { scores: UnfitRow[] }).scores
  const games: Record<string, number> = {}
  for (const d of st.managers?.training?.decisions ?? []) games[d.config] = d.games
  return { leader: st.election.leader === null ? null : `…${st.election.leader.nodeId.slice(-8)} (epoch ${st.election.leader.epoch})`, nodes: st.nodes.length, games, jobs, models, unfit }
}

const STATE_WORDS: Record<string, string> = { RUNNING: 'running', PENDING: 'pending', COMPLETE: 'done', PROMOTED: 'promoted', ARCHIVED: 'archived', FAILED: 'failed', LOST: 'lost', EXPIRED: 'expired', CANCELLED: 'cancelled', REFUSED: 'refused' }
const JOB_TYPES_SHOWN = ['selfplay', 'training', 'gauntlet', 'tournament', 'export']

/** `selfplay 3 running, 33 done | training 2 promoted, 1 archived | …`: job counts by type and state. */
export function jobSummary (jobs: Progress['jobs']): string {
  const byType = new Map<string, Map<string, number>>()
  for (const j of jobs) {
    const m = byType.get(j.type) ?? new Map<string, number>()
    m.set(j.state, (m.get(j.state) ?? 0) + 1)
    byType.set(j.type, m)
  }
  const parts: string[] = []
  for (const type of [...JOB_TYPES_SHOWN, ...[...byType.keys()].filter(t => !JOB_TYPES_SHOWN.includes(t))]) {
    const m = byType.get(type)
    if (m === undefined) continue
    const states = Object.keys(STATE_WORDS).filter(k => m.has(k)).concat([...m.keys()].filter(k => STATE_WORDS[k] === undefined))
    parts.push(`${type} ${states.map(k => `${m.get(k) ?? 0} ${STATE_WORDS[k] ?? k.toLowerCase()}`).join(', ')}`)
  }
  return parts.length === 0 ? 'no jobs yet' : parts.join(' | ')
}

/**
 * When no job runs and no node is fit for new work, a line that says why (`disk 72 % used (limit
 * 70 %)` on every node, say): without it a stalled demo shows nothing but "no jobs yet".
 */
export function stallLine (p: Pick<Progress, 'jobs' | 'unfit'>): string | null {
  if (p.unfit.length === 0 || p.jobs.some(j => j.state === 'RUNNING' || j.state === 'PENDING')) return null
  if (p.unfit.some(n => n.unfit === null)) return null
  const reasons = p.unfit.map(n => `…${n.node.slice(-8)} ${n.unfit ?? ''}`)
  return `        waiting: no node is fit for new work (${reasons.join('; ')}); health.* in riftmesh config --describe`
}

/** Lines for what happened since the last look: models promoted or archived. */
export function demoEvents (prev: Progress | undefined, now: Progress): string[] {
  const out: string[] = []
  const before = new Map((prev?.jobs ?? []).map(j => [j.jobId, j.state]))
  for (const j of now.jobs) {
    if (j.type !== 'training' || before.get(j.jobId) === j.state) continue
    if (j.state === 'PROMOTED') {
      const m = j.config === null ? undefined : now.models[j.config]
      out.push(`  * ${j.config ?? '?'}: model ${j.jobId} PROMOTED${m !== undefined && m.modelId === j.jobId ? `, Elo ${m.elo.toFixed(0)}` : ''}`)
    } else if (j.state === 'ARCHIVED') {
      out.push(`  * ${j.config ?? '?'}: model ${j.jobId} archived (did not beat the current best)`)
    }
  }
  return out
}

/** Signals that stop the demo: Ctrl-C, kill, and the terminal closing. */
const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']
/** How long the demo's jobs get after SIGTERM before SIGKILL. @default 5_000 */
export const DEMO_JOB_STOP_GRACE_MS = 5_000

interface DemoOptions { nodeCount: number, configs: string[], minGames: number, durationS: number | undefined }

/** The demo's flags, checked: a bad one is a ConfigError naming it. */
export function demoOptions (args: ParsedArgs): DemoOptions {
  const nodeCount = Number(args.values.get('nodes') ?? 3)
  if (!Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > 16) throw new ConfigError('--nodes', 'an integer from 1 to 16', `got ${String(args.values.get('nodes'))}`)
  const configs = String(args.values.get('configs') ?? 'hex8_2p,square8_2p').split(',').map(s => s.trim()).filter(s => s.length > 0)
  const bad = configs.find(c => !(BOARD_CONFIGS as readonly string[]).includes(c))
  if (bad !== undefined || configs.length === 0) throw new ConfigError('--configs', `config keys among ${BOARD_CONFIGS.join(', ')}`, `got ${JSON.stringify(bad ?? '')}`)
  const minGames = Number(args.values.get('min-games') ?? 300)
  if (!Number.isInteger(minGames) || minGames < 1) throw new ConfigError('--min-games', 'an integer ≥ 1', `got ${String(args.values.get('min-games'))}`)
  const rawDuration = args.values.get('duration')
  const durationS = rawDuration === undefined ? undefined : Number(rawDuration)
  if (durationS !== undefined && !(Number.isFinite(durationS) && durationS > 0)) throw new ConfigError('--duration', 'a number of seconds > 0', `got ${String(rawDuration)}`)
  return { nodeCount, configs, minGames, durationS }
}

export async function runDemo (args: ParsedArgs, out: (s: string) => void): Promise<number> {
  const { nodeCount, configs, minGames, durationS } = demoOptions(args)
  const clock = new SystemClock()
  const dir = typeof args.values.get('dir') === 'string' ? args.values.get('dir') as string : await mkdtemp(join(tmpdir(), 'riftmesh-demo-'))
  const keyFile = join(dir, 'swarm.key')
  await writeSwarmKey(keyFile)
  const nodes: NodeProcess[] = []
  // Ctrl-C, kill, a closed terminal or a closed stdout (`demo | head`) end the run; the nodes run
  // in process groups of their own, so they hear none of it and this process stops them in order
  const stop = new AbortController()
  let stdoutClosed = false
  const say = (s: string): void => { if (!stdoutClosed) out(s) }
  const onSignal = (): void => { stop.abort() }
  const onStdoutError = (err: NodeJS.ErrnoException): void => {
    if (stdoutClosed) return
    stdoutClosed = true
    process.stderr.write(`riftmesh demo: stdout closed (${err.code ?? err.message}); stopping the cluster\n`)
    stop.abort()
  }
  for (const sig of STOP_SIGNALS) process.on(sig, onSignal)
  process.stdout.on('error', onStdoutError)
  // the nodes' exits and the jobs' are waited on with unref'd timers: keep the process up meanwhile
  const release = holdProcessOpen()
  try {
    say(`riftmesh demo: ${nodeCount} node(s) in ${dir}, playing ${configs.join(', ')}; first training at ${minGames} games`)
    const common = demoNodeArgs(keyFile, minGames)
    for (let i = 0; i < nodeCount && !stop.signal.aborted; i++) {
      const boot = i === 0 ? [] : ['--bootstrap', (nodes[0] as NodeProcess).addr]
      const n = await startNodeProcess(join(dir, `node-${i}`), [...common, ...boot], { detached: true })
      nodes.push(n)
      say(`  node ${i}: ${n.peerId} at ${n.addr}`)
    }
    if (!stop.signal.aborted) await configureDemo(nodes, configs)
    say('  settings: voters and priorities written; Ctrl-C stops the cluster\n')
    const started = clock.monoMs()
    let prev: Progress | undefined
    while (!stop.signal.aborted && (durationS === undefined || clock.monoMs() - started < durationS * 1000)) {
      await sleep(clock, 3000, { signal: stop.signal }).catch((err: unknown) => { if (!stop.signal.aborted) throw err })
      if (stop.signal.aborted) break
      try {
        const p = await progress(nodes[0] as NodeProcess)
        for (const line of progressLines(p, prev, configs, clock.monoMs() - started)) say(line)
        prev = p
      } catch (err) {
        say(`[progress unavailable: ${err instanceof Error ? err.message : String(err)}]`)
      }
    }
    say('\nstopping the cluster…')
    return 0
  } finally {
    try {
      await stopDemo(nodes, clock)
      say(`stopped; data kept in ${dir}`)
    } finally {
      process.stdout.off('error', onStdoutError)
      for (const sig of STOP_SIGNALS) process.off(sig, onSignal)
      release()
    }
  }
}

/** Priorities for the demo's configs only, and every node (up to 5) a voter. */
async function configureDemo (nodes: readonly NodeProcess[], configs: readonly string[]): Promise<void> {
  const first = nodes[0] as NodeProcess
  const priorities = Object.fromEntries(BOARD_CONFIGS.map(c => [c, configs.includes(c) ? 8 : 0]))
  await first.request('setSetting', { name: 'staticPriority', value: priorities })
  // forced: a demo of one or two nodes runs in epoch mode on purpose, and the others may not be heard yet
  await first.request('setSetting', { name: 'voters', value: nodes.slice(0, Math.min(nodes.length, 5)).map(n => n.peerId), force: true })
}

/** The two or more lines printed every few seconds. */
function progressLines (p: Progress, prev: Progress | undefined, configs: readonly string[], elapsedMs: number): string[] {
  const t = (elapsedMs / 1000).toFixed(0).padStart(4)
  const games = Object.entries(p.games).filter(([c]) => configs.includes(c)).map(([c, g]) => `${c} ${g}`).join(', ') || 'none yet'
  const models = Object.entries(p.models).map(([c, m]) => `${c} Elo ${m.elo.toFixed(0)}`).join(', ') || 'none promoted yet'
  const lines = [`[${t}s] leader ${p.leader ?? 'electing…'} · ${p.nodes} nodes · games ${games} · models ${models}`, `        jobs: ${jobSummary(p.jobs)}`]
  const stalled = stallLine(p)
  if (stalled !== null) lines.push(stalled)
  return [...lines, ...demoEvents(prev, p)]
}

/**
 * Stop every node, then every job the nodes started: a node leaves its jobs running when it
 * stops (a restarted node re-adopts them), but a demo that ends must leave nothing behind. The
 * jobs are found from their process records, so also those of a node that died on its own.
 */
async function stopDemo (nodes: readonly NodeProcess[], clock: SystemClock): Promise<void> {
  await Promise.all(nodes.map(async n => await n.stop('SIGTERM')))
  const jobs = (await Promise.all(nodes.map(async n => await runningJobs(n.dataDir, clock)))).flat()
  await stopJobs(jobs, { clock, graceMs: DEMO_JOB_STOP_GRACE_MS })
}
