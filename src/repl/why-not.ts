/**
 * `whyNot(config)`: why the selfplay scheduler is (not) picking a config, as a pure function of
 * what the node sees — the config's static priority after settings, the leader, and per node
 * what keeps it from selfplay (the scheduler's own exclusions: disk, memory, load, health,
 * capability, GPU, each with its numbers and limit), whether the config is among its
 * candidates, its weight and whether its job target is already met — and, above all of it,
 * self-play backpressure.
 */
import { LARGE_BOARDS, boardOf } from '../managers/selfplay.js'
import { duration, uniquePrefixes } from './format.js'
import type { NodeBudget } from '../managers/admission.js'

export interface WhyNotNode {
  node: string
  /**
   * Why the leader gives it no selfplay, in words (`exclusionText` of the very exclusions the
   * dispatch acts on); empty when it is among the nodes the leader fills with selfplay.
   */
  excluded: readonly string[]
  hasGpu: boolean
  gpuMemoryGb: number
  health: string
  /** Weight of the config on this node's table (0 when it is not a candidate). */
  weight: number
  /** Sum of the weights on this node's table. */
  totalWeight: number
  activeSelfplay: number
  targetSelfplay: number
  /** What the node admits now (the dispatch holds its target to it); absent from older nodes. */
  budget?: NodeBudget | null
}

export interface WhyNotInput {
  config: string
  /** Static priority after the `staticPriority` setting. */
  staticPriority: number
  largeBoardMinVramGb: number
  leader: string | null
  /** Why no leader is known, in words (`whyNoLeader`), when none is. */
  noLeader?: string | null
  selfId: string
  /** Selfplay jobs of this config pending or running. */
  activeJobs: number
  nodes: readonly WhyNotNode[]
  /** The config's training readiness in words as this node decided it (null when it does not lead). */
  training?: string | null
  /** Why self-play is paused cluster-wide (backpressure), or null when it is not. */
  backpressure?: string | null
}

export interface WhyNotNodeRow {
  node: string
  eligible: boolean
  weight: number
  share: string
  jobs: string
  note: string
}

export interface WhyNotReport {
  config: string
  verdict: 'scheduled' | 'not scheduled' | 'waiting'
  reasons: string[]
  nodes: WhyNotNodeRow[]
}

const eligible = (n: WhyNotNode): boolean => n.excluded.length === 0
/** Its target is open but the node admits no new job now: the dispatch waits for a slot or a start. */
const held = (n: WhyNotNode): boolean => n.budget != null && n.budget.admits <= 0

function heldText (b: NodeBudget): string {
  if (b.slots <= 0) return 'every process slot taken (jobs.maxProcesses)'
  return `spawn rate used up (jobs.spawnRatePerMinute)${b.nextStartInMs === null ? '' : `, next start in ${duration(b.nextStartInMs)}`}`
}

function nodeNote (n: WhyNotNode, input: WhyNotInput): string {
  if (!eligible(n)) return `not taking selfplay: ${n.excluded.join('; ')}`
  if (n.weight <= 0) {
    if (LARGE_BOARDS.has(boardOf(input.config)) && n.hasGpu && n.gpuMemoryGb > 0 && n.gpuMemoryGb < input.largeBoardMinVramGb) {
      return `large board needs ≥ ${input.largeBoardMinVramGb} GB VRAM, has ${n.gpuMemoryGb}`
    }
    return 'not a candidate on this hardware (engine mode)'
  }
  if (input.backpressure != null) return 'selfplay paused (backpressure)'
  if (n.activeSelfplay >= n.targetSelfplay) return `full: ${n.activeSelfplay} of ${n.targetSelfplay} selfplay jobs`
  if (held(n)) return `held: admits no new job now (${heldText(n.budget as NodeBudget)})`
  return 'may be picked'
}

export function explainWhyNot (input: WhyNotInput): WhyNotReport {
  const reasons: string[] = []
  const paused = input.backpressure ?? null
  if (paused !== null) reasons.push(`selfplay: paused — ${paused}`)
  const rows = input.nodes.map(n => ({
    node: n.node,
    eligible: eligible(n),
    weight: n.weight,
    share: n.totalWeight > 0 ? `${((n.weight / n.totalWeight) * 100).toFixed(1)}%` : '-',
    jobs: `${n.activeSelfplay}/${n.targetSelfplay}`,
    note: nodeNote(n, input)
  }))
  if (input.staticPriority <= 0) reasons.push(`static priority is ${input.staticPriority}: set staticPriority.${input.config} above 0 to play it`)
  if (input.leader === null) reasons.push(`no leader${input.noLeader == null ? '' : ` (${input.noLeader})`}: nodes only play leaderless selfplay of their own after a while`)
  else if (input.leader !== input.selfId) reasons.push(`the leader ${input.leader} dispatches; ask it for the authoritative view`)
  const taking = input.nodes.filter(eligible)
  if (input.nodes.length > 0 && taking.length === 0) {
    const ids = uniquePrefixes(input.nodes.map(n => n.node))
    reasons.push(`no node is taking selfplay: ${input.nodes.map(n => `${ids.get(n.node) ?? n.node} ${n.excluded.join(', ')}`).join('; ')}`)
  }
  const candidates = taking.filter(n => n.weight > 0)
  if (taking.length > 0 && candidates.length === 0 && input.staticPriority > 0) reasons.push('no eligible node can run it (hardware or engine mode)')
  const wanting = paused !== null ? [] : candidates.filter(n => n.activeSelfplay < n.targetSelfplay)
  const open = wanting.filter(n => !held(n))
  if (paused === null && candidates.length > 0 && wanting.length === 0) reasons.push('every node that can run it already runs its target number of selfplay jobs')
  if (wanting.length > 0 && open.length === 0) reasons.push('every node that wants more selfplay admits no new job right now (process slots or spawn rate): it is dispatched as soon as one does')
  for (const n of open) {
    const share = n.weight / n.totalWeight
    if (share < 0.05) reasons.push(`low weight on ${n.node}: ${(share * 100).toFixed(1)}% of its picks`)
  }
  const verdict = input.activeJobs > 0 ? 'scheduled' : wanting.length > 0 && input.leader !== null ? 'waiting' : 'not scheduled'
  if (input.activeJobs > 0) reasons.unshift(`${input.activeJobs} selfplay job(s) of ${input.config} pending or running`)
  if (verdict === 'waiting' && reasons.length === 0) reasons.push('nothing blocks it: it is picked in proportion to its weight at the next dispatch pass')
  if (input.training != null) reasons.push(`training: ${input.training}`)
  return { config: input.config, verdict, reasons, nodes: rows }
}
