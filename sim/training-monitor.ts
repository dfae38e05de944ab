/**
 * Training invariants, watched by the omniscient observer at every node's own dispatches:
 *  - training-threshold: a first training dispatch is only for a config whose data (as the
 *    dispatcher saw it, and as really produced) reaches the scaled minGames;
 *  - training-strongest-gpu: it goes to a GPU training node with no stronger GPU node that the
 *    dispatcher saw alive and not already training;
 *  - training-once: never two first dispatches for the same data (fingerprint), across leaders;
 *  - training-started (liveness): by the end, every config whose data crossed the threshold early
 *    enough has been trained.
 */
import type { Scheduler } from './core/scheduler.js'
import type { SimNode } from './node/sim-node.js'
import type { CheckResult } from './simulation.js'
import { gpuPowerScore } from '../src/managers/scores.js'
import { scaledThresholds, DEFAULT_TRAINING_PARAMS, type TrainingParams } from '../src/managers/training.js'
import type { ConfigKey, JobDispatch } from '../src/state/schema.js'

export class TrainingMonitor {
  /** Games really produced per config, and when each config crossed the threshold. */
  private readonly truth = new Map<ConfigKey, number>()
  private readonly crossedAt = new Map<ConfigKey, number>()
  private readonly firstDispatch = new Map<string, JobDispatch>()
  private readonly byFingerprint = new Map<string, string>()
  private readonly seen = new Set<string>()
  private readonly trained = new Set<ConfigKey>()
  private readonly violations = new Map<string, string>()
  private readonly params: TrainingParams
  readonly minGames: number
  dispatches = 0

  constructor (
    private readonly nodes: readonly SimNode[],
    private readonly sched: Scheduler,
    params: Partial<TrainingParams>,
    gpuNodes: number,
    private readonly fail: (check: string, detail: string) => void
  ) {
    this.params = { ...DEFAULT_TRAINING_PARAMS, ...params }
    // with every GPU node alive the threshold is lowest: nothing below it may ever be trained
    this.minGames = scaledThresholds(gpuNodes, this.params).minGames
    for (const n of nodes) {
      n.onStart(node => {
        const state = node.parts?.state
        if (state === undefined) return
        state.onUpdate(u => {
          if (!u.doc.startsWith('jobs/') || u.origin === 'remote') return
          for (const j of state.jobs()) {
            if (j.dispatch.dispatchedBy !== node.id || j.dispatch.type !== 'training' || this.seen.has(j.jobId)) continue
            this.seen.add(j.jobId)
            this.onDispatch(node, j.dispatch)
          }
        })
      })
    }
  }

  onData (config: ConfigKey, games: number): void {
    const total = (this.truth.get(config) ?? 0) + games
    this.truth.set(config, total)
    if (total >= this.minGames && !this.crossedAt.has(config)) this.crossedAt.set(config, this.sched.nowMs)
  }

  private onDispatch (node: SimNode, d: JobDispatch): void {
    this.dispatches++
    this.sched.trace(`node ${node.index} dispatches training ${d.jobId} of ${d.config ?? '?'} to ${d.assignedNode} (attempt ${d.attempt}, epoch ${d.dispatchEpoch})`)
    if (d.attempt !== 1 || d.spec.leaderless === true) return
    const config = d.config as ConfigKey
    this.trained.add(config)
    const games = typeof d.spec.games === 'number' ? d.spec.games : -1
    if (games < this.minGames || (this.truth.get(config) ?? 0) < this.minGames) {
      this.violate('training-threshold', `node ${node.index} started training ${config} with ${games} games seen and ${this.truth.get(config) ?? 0} produced; the threshold is ${this.minGames}`)
    }
    const fp = String(d.spec.fingerprint)
    const prev = this.byFingerprint.get(fp)
    if (prev !== undefined) this.violate('training-once', `training ${d.jobId} repeats ${prev}: same config ${config} and data fingerprint ${fp.slice(0, 12)}`)
    this.byFingerprint.set(fp, d.jobId)
    this.firstDispatch.set(d.jobId, d)
    this.checkStrongest(node, d)
  }

  private checkStrongest (node: SimNode, d: JobDispatch): void {
    const parts = node.parts
    if (parts === undefined) return
    const state = parts.state
    const busy = new Set(state.jobs().filter(j => j.dispatch.type === 'training' && j.jobId !== d.jobId && (j.state === 'PENDING' || j.state === 'RUNNING')).map(j => j.dispatch.assignedNode))
    const alive = (id: string): boolean => id === node.id || parts.heartbeat.health(id) === 'ALIVE'
    const assigned = state.node(d.assignedNode)
    if (assigned === undefined || !assigned.hardware.hasGpu) {
      this.violate('training-strongest-gpu', `training ${d.jobId} went to ${d.assignedNode}, not a GPU training node`)
      return
    }
    const score = gpuPowerScore(assigned.hardware)
    const assignedBusy = busy.has(d.assignedNode)
    for (const other of state.nodes()) {
      if (!other.hardware.hasGpu || !other.capabilities.includes('training') || !alive(other.nodeId) || other.nodeId === d.assignedNode) continue
      const otherBusy = busy.has(other.nodeId)
      // idle nodes first; among the same kind, the highest GPU score
      const better = (assignedBusy && !otherBusy) || (otherBusy === assignedBusy && gpuPowerScore(other.hardware) > score)
      if (better) {
        this.violate('training-strongest-gpu', `training ${d.jobId} of ${d.config ?? '?'} went to ${d.assignedNode} (score ${score}${assignedBusy ? ', busy' : ''}) while ${other.nodeId} (score ${gpuPowerScore(other.hardware)}${otherBusy ? ', busy' : ''}) was alive`)
        return
      }
    }
  }

  /** At the end: every config that crossed the threshold before `deadlineMs` was trained. */
  finish (deadlineMs: number): void {
    for (const [config, at] of this.crossedAt) {
      if (at <= deadlineMs && !this.trained.has(config)) this.violate('training-started', `${config} reached ${this.truth.get(config) ?? 0} games at ${at} ms (threshold ${this.minGames}) but was never trained`)
    }
  }

  private violate (check: string, detail: string): void {
    if (this.violations.has(check)) return
    this.violations.set(check, detail)
    this.fail(check, detail)
  }

  results (): CheckResult[] {
    return ['training-threshold', 'training-strongest-gpu', 'training-once', 'training-started'].map(name => ({ name, ok: !this.violations.has(name), detail: this.violations.get(name) ?? null }))
  }

  summary (): { dispatches: number, firstTrainings: number, configsTrained: string[], gamesPerConfig: Record<string, number>, models: Record<string, { modelId: string, elo: number, ownerNode: string }> } {
    const live = this.nodes.find(n => n.isUp)
    const models: Record<string, { modelId: string, elo: number, ownerNode: string }> = {}
    for (const [config, m] of live?.parts?.state.models() ?? []) models[config] = { modelId: m.modelId, elo: m.elo, ownerNode: m.ownerNode }
    return {
      models,
      dispatches: this.dispatches,
      firstTrainings: this.firstDispatch.size,
      configsTrained: [...this.trained].sort(),
      gamesPerConfig: Object.fromEntries([...this.truth].sort(([a], [b]) => (a < b ? -1 : 1)))
    }
  }
}
