/**
 * Election invariants, watched after every event by the omniscient observer:
 *  - one leader per epoch (majority mode): every "became leader" names one node per epoch;
 *  - lease non-overlap in true time (majority mode): never two nodes that both hold a valid
 *    lease by their own clocks at the same true instant;
 *  - no double grant (majority mode): a voter never grants two candidates in one epoch, across
 *    restarts and power loss too;
 *  - epoch monotonicity: a node's persisted highest epoch never decreases, across restarts too;
 *  - fencing: leaders dispatch under their epoch; a worker accepts a dispatch only through its
 *    EpochFence, never below an epoch it accepted, and only from that epoch's leader.
 * Plus liveness: whether every live node agrees on one leader.
 */
import type { Scheduler } from './core/scheduler.js'
import type { SimNode } from './node/sim-node.js'
import type { CheckResult } from './simulation.js'

export class ElectionMonitor {
  private readonly leaderOfEpoch = new Map<number, number>()
  private readonly highest = new Map<number, number>()
  /** `voter/epoch` → the candidate it granted: a voter never grants two candidates in one epoch. */
  private readonly granted = new Map<string, string>()
  /** Highest dispatch epoch each worker accepted. */
  private readonly accepted = new Map<number, number>()
  dispatchesAccepted = 0
  dispatchesRefused = 0
  private readonly leaders: Array<{ epoch: number, node: number, atMs: number }> = []
  private readonly violations = new Map<string, string>()
  private leaderlessSinceMs: number | undefined = 0
  private leaderlessMs = 0

  constructor (
    private readonly nodes: readonly SimNode[],
    private readonly sched: Scheduler,
    /** Majority mode: the safety invariants apply (epoch mode may elect on both sides of a cut). */
    private readonly safety: boolean,
    private readonly fail: (check: string, detail: string) => void,
    /** The hostile member's index: it takes no part in leader agreement (it may see its own forged lease). */
    private readonly hostile?: number
  ) {
    for (const n of nodes) {
      n.onStart(node => {
        node.parts?.election?.onChange(ev => {
          if (ev.type !== 'leader') {
            this.sched.trace(`node ${node.index} stepped down from epoch ${ev.epoch}: ${ev.reason}`)
            return
          }
          this.sched.trace(`node ${node.index} leads epoch ${ev.epoch}`)
          this.leaders.push({ epoch: ev.epoch, node: node.index, atMs: this.sched.nowMs })
          const prev = this.leaderOfEpoch.get(ev.epoch)
          if (prev === undefined) this.leaderOfEpoch.set(ev.epoch, node.index)
          else if (prev !== node.index && this.safety) this.violate('one-leader-per-epoch', `nodes ${prev} and ${node.index} both became leader of epoch ${ev.epoch}`)
        })
      })
    }
  }

  afterEvent (): void {
    const leading: number[] = []
    for (const n of this.nodes) {
      const e = n.isUp ? n.parts?.election : undefined
      if (e === undefined) continue
      if (e.isLeader()) leading.push(n.index)
      for (const g of n.state.grants()) {
        if (g.voter !== n.id) continue
        const key = `${g.voter}/${g.epoch}`
        const prev = this.granted.get(key)
        if (prev === undefined) this.granted.set(key, g.candidate)
        else if (prev !== g.candidate && this.safety) this.violate('no-double-grant', `voter ${n.index} granted ${prev} and ${g.candidate} in epoch ${g.epoch}`)
      }
      const before = this.highest.get(n.index) ?? 0
      if (e.highestEpoch < before) this.violate('epoch-monotonic', `node ${n.index}'s epoch went from ${before} back to ${e.highestEpoch}`)
      this.highest.set(n.index, Math.max(before, e.highestEpoch))
    }
    if (this.safety && leading.length > 1) {
      this.violate('lease-overlap', `nodes ${leading.join(' and ')} hold valid leases at the same time`)
    }
    if (leading.length === 0) this.leaderlessSinceMs ??= this.sched.nowMs
    else if (this.leaderlessSinceMs !== undefined) {
      this.leaderlessMs += this.sched.nowMs - this.leaderlessSinceMs
      this.leaderlessSinceMs = undefined
    }
  }

  /**
   * A worker accepted (fenced) a dispatch: its epoch must not be below one it accepted before,
   * and (majority mode) its dispatcher must be the one leader of that epoch.
   */
  onDispatch (worker: number, epoch: number, dispatcher: number, accepted: boolean): void {
    if (!accepted) {
      this.dispatchesRefused++
      return
    }
    this.dispatchesAccepted++
    const before = this.accepted.get(worker) ?? 0
    if (epoch < before) this.violate('fencing', `node ${worker} accepted a dispatch of epoch ${epoch} after one of epoch ${before}`)
    this.accepted.set(worker, Math.max(before, epoch))
    const leader = this.leaderOfEpoch.get(epoch)
    if (this.safety && leader !== dispatcher) this.violate('fencing', `node ${worker} accepted a dispatch of epoch ${epoch} from node ${dispatcher}, but epoch ${epoch} was led by ${leader === undefined ? 'nobody' : `node ${leader}`}`)
  }

  /** The leader every live honest node agrees on (`<peer id>@epoch`), or undefined. */
  agreedLeader (): string | undefined {
    const seen = new Set<string>()
    for (const n of this.nodes) {
      if (!n.isUp || n.index === this.hostile) continue
      const l = n.parts?.election?.currentLeader()
      if (l === undefined) return undefined
      seen.add(`${l.nodeId}@${l.epoch}`)
    }
    return seen.size === 1 ? [...seen][0] : undefined
  }

  describeLeaders (): string {
    return this.nodes.filter(n => n.isUp && n.index !== this.hostile).map(n => {
      const l = n.parts?.election?.currentLeader()
      return `node ${n.index}: ${l === undefined ? 'none' : `${l.nodeId}@${l.epoch}`}`
    }).join(', ')
  }

  results (): CheckResult[] {
    const names = this.safety ? ['one-leader-per-epoch', 'lease-overlap', 'no-double-grant', 'epoch-monotonic', 'fencing'] : ['epoch-monotonic', 'fencing']
    return names.map(name => ({ name, ok: !this.violations.has(name), detail: this.violations.get(name) ?? null }))
  }

  summary (): { changes: number, epochs: number, leaderlessMs: number, dispatchesAccepted: number, dispatchesRefused: number, leaders: Array<{ epoch: number, node: number, atMs: number }> } {
    return { changes: this.leaders.length, epochs: this.leaderOfEpoch.size, leaderlessMs: Math.round(this.leaderlessMs), dispatchesAccepted: this.dispatchesAccepted, dispatchesRefused: this.dispatchesRefused, leaders: this.leaders.slice(-20) }
  }

  private violate (check: string, detail: string): void {
    if (this.violations.has(check)) return
    this.violations.set(check, detail)
    this.fail(check, detail)
  }
}
