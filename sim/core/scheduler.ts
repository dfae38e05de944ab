/**
 * The simulator's discrete-event loop: one heap of events on virtual time, ties broken by
 * insertion order, run single-threaded. After each event the microtask queue is drained (all
 * async work in the simulated stack — memory-level, simulated streams — completes in
 * microtasks), so one seed always gives one order of everything. A rolling hash of the trace
 * lets a run be compared with a replay.
 */
import { createHash, type Hash } from 'node:crypto'
import { MinHeap } from '../../src/core/heap.js'

export interface SimEvent {
  t: number
  seq: number
  /** Owning node: a crashed node's events are dropped, a paused node's are deferred. */
  node: number | undefined
  label: string
  /** Returns false when it started no async work (the loop then skips settling). */
  run: () => void | boolean
}

export type NodeRunState = 'up' | 'crashed' | 'paused'

export interface TraceSink {
  (t: number, line: string): void
}

export class Scheduler {
  nowMs = 0
  private seq = 0
  private readonly heap = new MinHeap<SimEvent>((a, b) => a.t < b.t || (a.t === b.t && a.seq < b.seq))
  private readonly hash: Hash = createHash('sha256')
  private readonly nodeState = new Map<number, NodeRunState>()
  private readonly deferred = new Map<number, SimEvent[]>()
  /** Events run so far. */
  events = 0
  /** Keep this many recent trace lines for violation reports. */
  readonly recent: string[] = []
  private readonly recentMax: number

  constructor (private readonly traceSink?: TraceSink, recentMax = 200) {
    this.recentMax = recentMax
  }

  /** Schedule `run` at absolute virtual time `t` (never before now). */
  at (t: number, label: string, run: () => void | boolean, node?: number): SimEvent {
    const ev: SimEvent = { t: Math.max(t, this.nowMs), seq: this.seq++, node, label, run }
    this.heap.push(ev)
    return ev
  }

  after (delayMs: number, label: string, run: () => void | boolean, node?: number): SimEvent {
    return this.at(this.nowMs + Math.max(0, delayMs), label, run, node)
  }

  /** Mark an event cancelled; it is skipped when it comes up. */
  cancel (ev: SimEvent): void {
    ev.run = CANCELLED
  }

  setNodeState (node: number, state: NodeRunState): void {
    this.nodeState.set(node, state)
    if (state === 'up') {
      // a resumed node's deferred timers fire now, in their original order
      for (const ev of this.deferred.get(node) ?? []) this.at(this.nowMs, ev.label, ev.run, node)
      this.deferred.delete(node)
    } else if (state === 'crashed') {
      this.deferred.delete(node)
    }
  }

  nodeRunState (node: number): NodeRunState {
    return this.nodeState.get(node) ?? 'up'
  }

  /** Add a line to the trace (hashed; kept in `recent`). */
  trace (line: string): void {
    const entry = `${this.nowMs.toFixed(3)} ${line}`
    this.hash.update(entry)
    this.hash.update('\n')
    this.recent.push(entry)
    if (this.recent.length > this.recentMax) this.recent.shift()
    this.traceSink?.(this.nowMs, line)
  }

  traceHash (): string {
    const h = this.hash.copy()
    h.update(`${this.laneA.toString(16)}:${this.laneB.toString(16)}`)
    return h.digest('hex')
  }

  // Every event is mixed into two 32-bit FNV-1a lanes (cheap: no strings, no crypto per event);
  // trace lines go through sha256; traceHash() combines both.
  private laneA = 0x811c9dc5
  private laneB = 0x01000193
  private readonly labelCodes = new Map<string, number>()

  private mixEvent (ev: SimEvent): void {
    let code = this.labelCodes.get(ev.label)
    if (code === undefined) {
      code = 0x811c9dc5
      for (let i = 0; i < ev.label.length; i++) code = Math.imul(code ^ ev.label.charCodeAt(i), 0x01000193) >>> 0
      this.labelCodes.set(ev.label, code)
    }
    const t = Math.round(ev.t * 1000)
    for (const v of [t >>> 0, Math.floor(t / 0x1_0000_0000), ev.node ?? 0xffff, code]) {
      this.laneA = Math.imul(this.laneA ^ v, 0x01000193) >>> 0
      this.laneB = Math.imul(this.laneB ^ (v + 0x9e3779b9), 0x85ebca6b) >>> 0
    }
  }

  get pending (): number {
    return this.heap.size
  }

  nextTime (): number | undefined {
    return this.heap.peek()?.t
  }

  /**
   * Run every event due up to `tEnd` (and what they schedule), then set time to `tEnd`.
   * `afterEvent` runs after each event once its async work has settled.
   */
  async runUntil (tEnd: number, afterEvent?: (ev: SimEvent) => void): Promise<void> {
    for (;;) {
      const top = this.heap.peek()
      if (top === undefined || top.t > tEnd) break
      const ev = this.heap.pop() as SimEvent
      this.nowMs = ev.t
      if (ev.run === CANCELLED) continue
      if (ev.node !== undefined) {
        const st = this.nodeRunState(ev.node)
        if (st === 'crashed') continue
        if (st === 'paused') {
          const list = this.deferred.get(ev.node) ?? []
          list.push(ev)
          this.deferred.set(ev.node, list)
          continue
        }
      }
      this.events++
      this.mixEvent(ev)
      if (ev.run() !== false) await settle()
      afterEvent?.(ev)
    }
    this.nowMs = Math.max(this.nowMs, tEnd)
  }
}

const CANCELLED = (): boolean => false

/**
 * Let every microtask (and nextTick) queued by an event finish. Nothing in the simulated stack
 * does real I/O, so one macrotask turn drains it all.
 */
export async function settle (): Promise<void> {
  await new Promise<void>(resolve => setImmediate(resolve))
}
