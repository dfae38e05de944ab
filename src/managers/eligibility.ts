/**
 * Why a node gets no new work, as data: each cause that keeps it out of a selection (retired,
 * not ALIVE, disk / memory / load over their limits, a missing capability, no GPU for a GPU-only
 * engine mode, too little memory for a task) with its numbers and its limit. The selections
 * (`selection.ts`, `scores.ts`, `selfplay.ts`) decide with these and `whyNot` / `status` show the
 * very same causes in words (`exclusionText`), so what an operator reads is what the scheduler
 * acted on. Pure.
 */
import type { Health } from '../mesh/health.js'
import type { Capability } from '../state/schema.js'

export type Exclusion =
  | { kind: 'retired' }
  | { kind: 'health', health: Health }
  | { kind: 'disk', percent: number, limitPercent: number }
  | { kind: 'memory', percent: number, limitPercent: number }
  | { kind: 'load', score: number, limit: number }
  | { kind: 'capability', capability: Capability }
  | { kind: 'no-gpu', engineMode: string }
  | { kind: 'small-memory', memoryGb: number, minMemoryGb: number }

export type ExclusionKind = Exclusion['kind']

/** One cause in words, with its numbers and its limit, e.g. `disk 74 % used (limit 70 %)`. */
export function exclusionText (e: Exclusion): string {
  switch (e.kind) {
    case 'retired': return 'retired (takes no new work)'
    case 'health': return `health ${e.health} (only ALIVE nodes get new work)`
    case 'disk': return `disk ${e.percent.toFixed(0)} % used (limit ${e.limitPercent} %)`
    case 'memory': return `memory ${e.percent.toFixed(0)} % used (limit ${e.limitPercent} %)`
    case 'load': return `load score ${e.score.toFixed(0)} (limit ${e.limit})`
    case 'capability': return `no ${e.capability} capability`
    case 'no-gpu': return `engine mode ${e.engineMode} needs a GPU, this node has none`
    case 'small-memory': return `${e.memoryGb} GB of memory, less than the ${e.minMemoryGb} GB a task needs`
  }
}

/** Every cause in words, `; `-separated; null when there is none. */
export function exclusionsText (es: readonly Exclusion[]): string | null {
  return es.length === 0 ? null : es.map(exclusionText).join('; ')
}
