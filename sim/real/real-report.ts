/** The real-mode report: the simulator's SimReport plus what real mode approximated or skipped. */
import { formatReport } from '../report.js'
import type { SimReport } from '../simulation.js'
import type { RealNodeTotals } from './real-node.js'

export interface RealReport extends SimReport {
  mode: 'real'
  /** Wall ms per scenario ms (0.25 = four times faster than the scenario's times). */
  timeScale: number
  /** How this run differs from the model (approximations, what the counters mean). */
  notes: string[]
  /** Timeline events real mode cannot play, with their scenario time. */
  skipped: string[]
  /** Setting names every live node held at the end (sorted). */
  finalSettings: string[]
}

export function formatRealReport (r: RealReport): string {
  const lines = [`mode=real (libp2p memory transport, wall clock) timeScale=${r.timeScale}; times below are scenario ms (wall ms / timeScale)`, formatReport(r)]
  for (const s of r.skipped) lines.push(`skipped: ${s}`)
  for (const n of r.notes) lines.push(`note: ${n}`)
  return lines.join('\n')
}

/**
 * Traffic as real mode can count it, at the riftmesh layer: data = document updates delivered by
 * gossip (after gossipsub's dedup), antiEntropy = sync exchanges started, heartbeat = heartbeats
 * published. Bytes and control are not measured (0).
 */
export function realTraffic (totals: readonly RealNodeTotals[], issued: number): Pick<SimReport, 'traffic' | 'perUpdate'> {
  const sum = (k: 'received' | 'syncsStarted' | 'heartbeatsSent'): number => totals.reduce((s, t) => s + t[k], 0)
  const traffic: SimReport['traffic'] = {
    data: { msgs: sum('received'), bytes: 0, dropped: 0 },
    control: { msgs: 0, bytes: 0, dropped: 0 },
    antiEntropy: { msgs: sum('syncsStarted'), bytes: 0, dropped: 0 },
    heartbeat: { msgs: sum('heartbeatsSent'), bytes: 0, dropped: 0 }
  }
  const updates = Math.max(1, issued)
  const per = (k: keyof SimReport['traffic']): { msgs: number, bytes: number } => ({ msgs: traffic[k].msgs / updates, bytes: 0 })
  return {
    traffic,
    perUpdate: {
      data: per('data'), control: per('control'), antiEntropy: per('antiEntropy'), heartbeat: per('heartbeat'),
      total: { msgs: (traffic.data.msgs + traffic.antiEntropy.msgs) / updates, bytes: 0 }
    }
  }
}
