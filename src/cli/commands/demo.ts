/**
 * `riftmesh demo` (`npm run cluster`): a local cluster of real node processes on 127.0.0.1 with
 * small thresholds, so the whole loop — self-play, sync, training, gauntlet, promotion — runs
 * on one machine within minutes. Prints progress; Ctrl-C stops every node cleanly.
 */
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SystemClock, sleep } from '../../core/clock.js'
import { ConfigError } from '../../core/errors.js'
import { BOARD_CONFIGS } from '../../core/vocabulary.js'
import { writeSwarmKey } from '../../mesh/keys.js'
import type { FlagSpec, ParsedArgs } from '../args.js'
import { startNodeProcess, type NodeProcess } from '../node-launcher.js'

export const demoFlags: readonly FlagSpec[] = [
  { name: 'nodes', key: null, help: 'how many nodes (default 3, at most 16)' },
  { name: 'configs', key: null, help: 'comma-separated configs to play (default hex8_2p,square8_2p)' },
  { name: 'dir', key: null, help: 'where the nodes keep their data (default: a new temp dir)' },
  { name: 'min-games', key: null, help: 'games before the first training (default 300)' },
  { name: 'duration', key: null, help: 'stop after this many seconds (default: run until Ctrl-C)' }
]

export const demoHelp = `riftmesh demo [--nodes 3] [--configs hex8_2p,square8_2p] [--dir D] [--min-games 300] [--duration S]

Start a local cluster of real riftmesh nodes on 127.0.0.1 with small thresholds and watch the
loop run: self-play jobs, data moving to the training node, training, gauntlet, promotion.
Progress is printed every few seconds. Ctrl-C stops every node cleanly. (npm run cluster)`

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

export async function runDemo (args: ParsedArgs, out: (s: string) => void): Promise<number> {
  const nodeCount = Number(args.values.get('nodes') ?? 3)
  if (!Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > 16) throw new ConfigError('nodes', 'an integer from 1 to 16', `got ${String(args.values.get('nodes'))}`)
  const configs = String(args.values.get('configs') ?? 'hex8_2p,square8_2p').split(',').map(s => s.trim()).filter(s => s.length > 0)
  const bad = configs.find(c => !(BOARD_CONFIGS as readonly string[]).includes(c))
  if (bad !== undefined || configs.length === 0) throw new ConfigError('configs', `config keys among ${BOARD_CONFIGS.join(', ')}`, `got ${JSON.stringify(bad ?? '')}`)
  const minGames = Number(args.values.get('min-games') ?? 300)
  if (!Number.isInteger(minGames) || minGames < 1) throw new ConfigError('min-games', 'an integer ≥ 1')
  const durationS = args.values.get('duration') === undefined ? undefined : Number(args.values.get('duration'))
  const clock = new SystemClock()
  const dir = typeof args.values.get('dir') === 'string' ? args.values.get('dir') as string : await mkdtemp(join(tmpdir(), 'riftmesh-demo-'))
  const keyFile = join(dir, 'swarm.key')
  await writeSwarmKey(keyFile)
  const nodes: NodeProcess[] = []
  const stopAll = async (): Promise<void> => {
    // nodes leave their jobs running on purpose (a restarted node re-adopts them); a demo that
    // stops should not leave them behind: note their process groups first, stop them after
    const groups = new Set<number>()
    for (const n of nodes) {
      const jobs = await n.request('jobs').catch(() => []) as Array<{ state: string, pid: number | null }>
      for (const j of jobs) if (j.state === 'RUNNING' && j.pid !== null) groups.add(j.pid)
    }
    await Promise.all(nodes.map(async n => await n.stop('SIGTERM')))
    for (const pid of groups) {
      try { process.kill(-pid, 'SIGTERM') } catch { /* already gone */ }
    }
  }
  let interrupted = false
  const onSignal = (): void => { interrupted = true }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    out(`riftmesh demo: ${nodeCount} node(s) in ${dir}, playing ${configs.join(', ')}; first training at ${minGames} games`)
    const common = demoNodeArgs(keyFile, minGames)
    for (let i = 0; i < nodeCount; i++) {
      const boot = i === 0 ? [] : ['--bootstrap', (nodes[0] as NodeProcess).addr]
      const n = await startNodeProcess(join(dir, `node-${i}`), [...common, ...boot])
      nodes.push(n)
      out(`  node ${i}: ${n.peerId} at ${n.addr}`)
    }
    const first = nodes[0] as NodeProcess
    const priorities = Object.fromEntries(BOARD_CONFIGS.map(c => [c, configs.includes(c) ? 8 : 0]))
    await first.request('setSetting', { name: 'staticPriority', value: priorities })
    // forced: a demo of one or two nodes runs in epoch mode on purpose, and the others may not be heard yet
    await first.request('setSetting', { name: 'voters', value: nodes.slice(0, Math.min(nodes.length, 5)).map(n => n.peerId), force: true })
    out('  settings: voters and priorities written; Ctrl-C stops the cluster\n')
    const started = clock.monoMs()
    let prev: Progress | undefined
    while (!interrupted && (durationS === undefined || clock.monoMs() - started < durationS * 1000)) {
      await sleep(clock, 3000)
      if (interrupted) break
      try {
        const p = await progress(first)
        const t = ((clock.monoMs() - started) / 1000).toFixed(0).padStart(4)
        const games = Object.entries(p.games).filter(([c]) => configs.includes(c)).map(([c, g]) => `${c} ${g}`).join(', ') || 'none yet'
        const models = Object.entries(p.models).map(([c, m]) => `${c} Elo ${m.elo.toFixed(0)}`).join(', ') || 'none promoted yet'
        out(`[${t}s] leader ${p.leader ?? 'electing…'} · ${p.nodes} nodes · games ${games} · models ${models}`)
        out(`        jobs: ${jobSummary(p.jobs)}`)
        const stalled = stallLine(p)
        if (stalled !== null) out(stalled)
        for (const e of demoEvents(prev, p)) out(e)
        prev = p
      } catch (err) {
        out(`[progress unavailable: ${err instanceof Error ? err.message : String(err)}]`)
      }
    }
    out('\nstopping the cluster…')
    return 0
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    await stopAll()
    out(`stopped; data kept in ${dir}`)
  }
}
