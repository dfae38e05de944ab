/**
 * A few real ElectionServices (each with its ElectionObserver) on one VirtualClock: each with its
 * own ClusterState and LocalTables (memory-level), documents copied between connected nodes after
 * every step, and "alive" meaning up and connected — the failure detector's answer, without
 * heartbeats.
 */
import { MemoryLevel } from 'memory-level'
import { VirtualClock } from '../../../src/core/clock.js'
import { silentLogger, type Logger } from '../../../src/core/logger.js'
import { SeededRng } from '../../../src/core/rng.js'
import { ClusterState } from '../../../src/state/cluster-state.js'
import type { RootDb } from '../../../src/store/level.js'
import { LocalTables } from '../../../src/store/tables.js'
import { ElectionService } from '../../../src/election/election.js'
import { ElectionObserver, type ElectionObserverInit } from '../../../src/election/observer.js'
import { nodeId, signerOfId, syncInto } from '../../helpers.js'

export const TIMINGS = { leaseMs: 4_000, renewIntervalMs: 1_000, driftMarginMs: 400, backoffMinMs: 200, backoffMaxMs: 1_500 }
/** Virtual time per step of `run`; documents are exchanged after each. */
export const STEP_MS = 50

export interface Member {
  index: number
  id: string
  state: ClusterState
  tables: LocalTables
  db: RootDb
  election: ElectionService
  observer: ElectionObserver
  up: boolean
}

export interface ElectionClusterInit {
  /** How many of the nodes are voters (the first ones). @default every node */
  voters?: number
  /** Logger of node `i`. @default silent */
  logger?: (i: number) => Logger
  /** Settings of every node's ElectionObserver. @default its defaults */
  observer?: ElectionObserverInit
}

export class ElectionCluster {
  readonly clock = new VirtualClock(1_000_000)
  readonly members: Member[] = []
  private readonly cuts = new Set<string>()

  private constructor (private readonly init: ElectionClusterInit) {}

  static async start (n: number, init: ElectionClusterInit = {}): Promise<ElectionCluster> {
    const c = new ElectionCluster(init)
    const voters = Array.from({ length: init.voters ?? n }, (_, i) => nodeId(i))
    for (let i = 0; i < n; i++) c.members.push(await c.member(i, voters))
    return c
  }

  private async member (i: number, voters: string[]): Promise<Member> {
    const logger = this.init.logger?.(i) ?? silentLogger()
    const db = new MemoryLevel<string, Uint8Array>({ keyEncoding: 'utf8', valueEncoding: 'view' }) as unknown as RootDb
    await db.open()
    const state = new ClusterState({ clock: this.clock, logger, rng: new SeededRng(i + 1), signer: signerOfId(nodeId(i)) }, { selfId: nodeId(i), voters })
    const tables = new LocalTables(db, logger)
    const election = new ElectionService({ state, tables, clock: this.clock, logger, isAlive: id => this.alive(i, id) }, { voters, ...TIMINGS })
    await election.start()
    const observer = new ElectionObserver({ election, state, clock: this.clock, logger, isAlive: id => this.alive(i, id) }, this.init.observer)
    observer.start()
    return { index: i, id: nodeId(i), state, tables, db, election, observer, up: true }
  }

  /** Whether node `from` sees node `id` alive: both up and not cut apart. */
  alive (from: number, id: string): boolean {
    const to = this.members.find(m => m.id === id)
    return to !== undefined && to.up && (this.members[from]?.up ?? false) && this.connected(from, to.index)
  }

  connected (a: number, b: number): boolean {
    return a === b || !this.cuts.has(`${Math.min(a, b)}-${Math.max(a, b)}`)
  }

  /** Cut node `i` off from every other node. */
  isolate (i: number): void {
    for (const m of this.members) if (m.index !== i) this.cuts.add(`${Math.min(i, m.index)}-${Math.max(i, m.index)}`)
  }

  heal (): void {
    this.cuts.clear()
  }

  /** Stop node `i` as a crash would (its election stops; its entries stay in the others' documents). */
  crash (i: number): void {
    const m = this.members[i] as Member
    m.election.stop()
    m.observer.stop()
    m.up = false
  }

  /** Let `ms` of virtual time pass: timers fire, their I/O settles, connected nodes exchange documents. */
  async run (ms: number): Promise<void> {
    for (let t = 0; t < ms; t += STEP_MS) {
      this.clock.advance(Math.min(STEP_MS, ms - t))
      await settle()
      for (const a of this.members) {
        for (const b of this.members) if (a !== b && a.up && b.up && this.connected(a.index, b.index)) syncInto(a.state, b.state)
      }
    }
  }

  /** Run until `cond` holds, at most `maxMs` of virtual time; fails when it never does. */
  async runUntil (cond: () => boolean, maxMs: number): Promise<void> {
    for (let t = 0; t < maxMs; t += STEP_MS) {
      if (cond()) return
      await this.run(STEP_MS)
    }
    if (!cond()) throw new Error(`condition not met within ${maxMs} ms of virtual time`)
  }

  leaderIndex (): number | undefined {
    return this.members.find(m => m.up && m.election.isLeader())?.index
  }

  async close (): Promise<void> {
    for (const m of this.members) {
      m.election.stop()
      m.observer.stop()
      await m.db.close()
    }
  }
}

/** Let the I/O started by fired timers finish (memory-level completes within the microtask and nextTick queues). */
async function settle (): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>(resolve => setImmediate(resolve))
}
