/** The simulator's human-readable report. */
import type { SimReport } from './simulation.js'
import type { HostileSummary } from './hostile-monitor.js'

const ms = (v: number | null): string => (v === null ? '—' : `${v.toFixed(0)} ms`)

export function formatReport (r: SimReport): string {
  const lines: string[] = []
  lines.push(`scenario=${r.scenario} seed=${r.seed} nodes=${r.nodes} virtual=${(r.virtualMs / 1000).toFixed(1)}s wall=${(r.wallMs / 1000).toFixed(2)}s events=${r.events} (${Math.round(r.eventsPerSecond)}/s) trace=${r.traceHash.slice(0, 16)}`)
  lines.push(`writes: ${r.writes.issued} issued, ${r.writes.acked} acknowledged`)
  const p = r.propagation
  lines.push(`propagation to all nodes: p50=${ms(p.p50Ms)} p99=${ms(p.p99Ms)} max=${ms(p.maxMs)} (measured ${p.measured}, never reached all ${p.neverEverywhere})`)
  const u = r.perUpdate
  lines.push(`per update: ${u.total.msgs.toFixed(1)} msgs, ${(u.total.bytes / 1024).toFixed(1)} KiB (data ${u.data.msgs.toFixed(1)}, control ${u.control.msgs.toFixed(1)}, anti-entropy ${u.antiEntropy.msgs.toFixed(1)}); heartbeats ${u.heartbeat.msgs.toFixed(1)} msgs; gossip duplicates ${r.gossipDuplicates}`)
  for (const c of r.convergence) lines.push(`convergence (${c.phase} from ${(c.atMs / 1000).toFixed(1)}s): ${c.convergedAfterMs === null ? 'NOT converged' : `after ${ms(c.convergedAfterMs)}`}`)
  if (r.leadership !== null) {
    const l = r.leadership
    lines.push(`leadership: ${l.changes} changes over ${l.epochs} epochs, leaderless ${(l.leaderlessMs / 1000).toFixed(1)} s; dispatches accepted ${l.dispatchesAccepted}, refused ${l.dispatchesRefused}`)
    lines.push(`leaders: ${l.leaders.map(x => `node ${x.node} epoch ${x.epoch} at ${(x.atMs / 1000).toFixed(2)}s`).join('; ')}`)
  }
  if (r.training !== null) {
    const t = r.training
    lines.push(`training: ${t.dispatches} dispatches (${t.firstTrainings} first trainings) of ${t.configsTrained.join(', ') || 'nothing'}; games ${Object.entries(t.gamesPerConfig).map(([k, v]) => `${k}=${v}`).join(' ')}`)
    lines.push(`models: ${Object.entries(t.models).map(([k, m]) => `${k}=${m.modelId} (Elo ${m.elo})`).join('; ') || 'none'}`)
  }
  if (r.jobs !== null) lines.push(`jobs: ${r.jobs.started} started, ${r.jobs.completed} completed, ${r.jobs.failed} failed or cancelled, ${r.jobs.running} still running`)
  if (r.hostile !== null) {
    const h = r.hostile
    const total = Object.values(h.forgeries).reduce((a, b) => a + b, 0)
    lines.push(`hostile node ${h.node}: ${total} forged writes (${Object.entries(h.forgeries).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'})`)
    lines.push(`refused by the honest nodes: ${Object.entries(h.refusals).map(([k, v]) => `${k} ${v}`).join(', ') || 'nothing'}`)
  }
  for (const c of r.checks) lines.push(`check ${c.name}: ${c.ok ? 'pass' : `FAIL — ${c.detail ?? ''}`}`)
  if (r.violation !== null) {
    lines.push(`first violation: ${r.violation.check} at ${(r.violation.atMs / 1000).toFixed(3)}s: ${r.violation.detail}`)
    lines.push('trace before it:')
    for (const t of r.violation.traceBefore) lines.push(`  ${t}`)
  }
  return lines.join('\n')
}

/** Totals of the hostile member over fuzz runs: forged writes, and the honest nodes' refusals by reason. */
export interface HostileTotals { runs: number, forged: number, refusals: Record<string, number> }

export function addHostile (t: HostileTotals, h: HostileSummary | null): HostileTotals {
  if (h === null) return t
  const refusals = { ...t.refusals }
  for (const [k, v] of Object.entries(h.refusals)) refusals[k] = (refusals[k] ?? 0) + v
  return { runs: t.runs + 1, forged: t.forged + Object.values(h.forgeries).reduce((a, b) => a + b, 0), refusals }
}

/** One line for the fuzz summary, e.g. `hostile member: 500 runs, 31000 forged writes; refused: bad-signature 9000, …`. */
export function formatHostileTotals (t: HostileTotals): string {
  const reasons = Object.entries(t.refusals).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k} ${v}`).join(', ')
  return `hostile member: ${t.runs} runs, ${t.forged} forged writes; refused by the honest nodes: ${reasons || 'nothing'}`
}
