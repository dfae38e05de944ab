/**
 * The simulated network: nodes, the connection graph, per-directed-link state (up, cut, held)
 * and the gossip model. Partitions are checked when a message is sent and again when it would
 * be delivered, so in-flight messages die with the link. Traffic is counted by kind.
 */
import type { Rng } from '../../src/core/rng.js'
import type { Scheduler } from '../core/scheduler.js'
import { DEFAULT_LINK_MODEL, drawLatencyMs, type LinkModel } from './link-model.js'
import { GossipModel, DEFAULT_GOSSIP, type GossipParams } from './gossip-model.js'
import { SimMesh } from './sim-mesh.js'

export type TrafficKind = 'data' | 'heartbeat' | 'control' | 'antiEntropy'

export interface TrafficCounter { msgs: number, bytes: number, dropped: number }

export interface SimNetworkInit {
  link?: Partial<LinkModel>
  gossip?: Partial<GossipParams>
  /** Topic → traffic kind for the accounting. */
  kindOfTopic: (topic: string) => TrafficKind
  /** Delay before a healed link's peers reconnect (uniform 0..this). @default 1000 */
  maxRedialMs?: number
  /** Delay before peers notice a crashed node's connection is gone. @default 2000 */
  crashDetectMs?: number
}

const pairKey = (a: number, b: number): string => (a < b ? `${a}-${b}` : `${b}-${a}`)
const dirKey = (a: number, b: number): string => `${a}>${b}`

export class SimNetwork {
  readonly link: LinkModel
  readonly counters: Record<TrafficKind, TrafficCounter> = {
    data: { msgs: 0, bytes: 0, dropped: 0 },
    heartbeat: { msgs: 0, bytes: 0, dropped: 0 },
    control: { msgs: 0, bytes: 0, dropped: 0 },
    antiEntropy: { msgs: 0, bytes: 0, dropped: 0 }
  }

  readonly gossip: GossipModel
  private readonly meshes = new Map<number, SimMesh>()
  private readonly indexOfId = new Map<string, number>()
  private readonly edges = new Map<number, Set<number>>()
  private readonly cuts = new Set<string>()
  /** Partition groups: links between nodes of different groups are down (plus individual cuts). */
  private groupOf: Map<number, number> | undefined
  private readonly holds = new Map<string, Array<() => void>>()
  private readonly linkOverrides = new Map<string, Partial<LinkModel>>()
  private readonly up = new Set<number>()
  /** Connection state as last reported to the meshes, per pair. */
  private readonly reported = new Set<string>()
  private readonly maxRedialMs: number
  private readonly crashDetectMs: number

  constructor (readonly sched: Scheduler, private readonly rng: Rng, private readonly init: SimNetworkInit) {
    this.link = { ...DEFAULT_LINK_MODEL, ...init.link }
    this.gossip = new GossipModel(this, rng.fork('gossip'), { ...DEFAULT_GOSSIP, ...init.gossip })
    this.maxRedialMs = init.maxRedialMs ?? 1000
    this.crashDetectMs = init.crashDetectMs ?? 2000
  }

  kindOfTopic (topic: string): TrafficKind {
    return this.init.kindOfTopic(topic)
  }

  /** Create (or return) the mesh of node `index` with id `id`. */
  attach (index: number, id: string): SimMesh {
    let mesh = this.meshes.get(index)
    if (mesh === undefined) {
      mesh = new SimMesh(this, index, id)
      this.meshes.set(index, mesh)
      this.indexOfId.set(id, index)
      this.edges.set(index, this.edges.get(index) ?? new Set())
    }
    return mesh
  }

  mesh (index: number): SimMesh | undefined {
    return this.meshes.get(index)
  }

  indexOf (id: string): number | undefined {
    return this.indexOfId.get(id)
  }

  nodeIndexes (): number[] {
    return [...this.meshes.keys()].sort((a, b) => a - b)
  }

  /** Add a connection between two nodes (both must be attached). */
  connect (a: number, b: number): void {
    if (a === b) return
    this.edges.get(a)?.add(b)
    this.edges.get(b)?.add(a)
    this.refresh(a, b, 0)
  }

  neighbours (a: number): number[] {
    return [...(this.edges.get(a) ?? [])].sort((x, y) => x - y)
  }

  setUp (node: number, isUp: boolean): void {
    if (isUp) this.up.add(node)
    else this.up.delete(node)
    for (const b of this.edges.get(node) ?? []) this.refresh(node, b, isUp ? this.rng.next() * this.maxRedialMs : this.crashDetectMs)
  }

  isUp (node: number): boolean {
    return this.up.has(node)
  }

  /** Directed link state: messages a→b flow. */
  linkUp (a: number, b: number): boolean {
    if (this.groupOf !== undefined && this.groupOf.get(a) !== this.groupOf.get(b)) return false
    return this.cuts.size === 0 || !this.cuts.has(dirKey(a, b))
  }

  /** Cut a→b (and b→a unless oneWay). */
  cut (a: number, b: number, oneWay = false): void {
    this.cuts.add(dirKey(a, b))
    if (!oneWay) this.cuts.add(dirKey(b, a))
    this.refresh(a, b, 0)
  }

  /** Cut every link between different groups (nodes in no group form one more group); replaces an earlier partition. */
  partition (groups: number[][]): void {
    const groupOf = new Map<number, number>()
    groups.forEach((g, i) => { for (const n of g) groupOf.set(n, i) })
    // nodes named in no group form a group of their own
    for (const n of this.nodeIndexes()) if (!groupOf.has(n)) groupOf.set(n, -1)
    this.groupOf = groupOf
    for (const a of this.nodeIndexes()) for (const b of this.edges.get(a) ?? []) if (a < b) this.refresh(a, b, 0)
  }

  /** Remove every cut and release every held link. */
  healAll (): void {
    this.cuts.clear()
    this.groupOf = undefined
    for (const key of [...this.holds.keys()]) this.releaseKey(key)
    for (const a of this.nodeIndexes()) for (const b of this.edges.get(a) ?? []) if (a < b) this.refresh(a, b, this.rng.next() * this.maxRedialMs)
  }

  heal (a: number, b: number): void {
    this.cuts.delete(dirKey(a, b))
    this.cuts.delete(dirKey(b, a))
    this.refresh(a, b, this.rng.next() * this.maxRedialMs)
  }

  /** Queue a→b traffic until released (delivered then, in order). */
  hold (a: number, b: number): void {
    if (!this.holds.has(dirKey(a, b))) this.holds.set(dirKey(a, b), [])
  }

  release (a: number, b: number): void {
    this.releaseKey(dirKey(a, b))
  }

  setLinkModel (a: number, b: number, model: Partial<LinkModel>): void {
    this.linkOverrides.set(dirKey(a, b), { ...this.linkOverrides.get(dirKey(a, b)), ...model })
  }

  setDefaultLinkModel (model: Partial<LinkModel>): void {
    Object.assign(this.link, model)
  }

  /** Nodes `a` has a live connection to (as its mesh sees it). */
  connectedPeers (a: number): number[] {
    const out: number[] = []
    for (const b of this.edges.get(a) ?? []) if (this.reported.has(pairKey(a, b))) out.push(b)
    return out.sort((x, y) => x - y)
  }

  /**
   * Send one message a→b. `deliver` runs at b after the link's latency unless the message is
   * lost, the link is cut (at send or delivery) or b is down. Returns false if dropped at once.
   */
  send (a: number, b: number, kind: TrafficKind, bytes: number, deliver: () => void | boolean, reliable = false): boolean {
    const c = this.counters[kind]
    if (!this.up.has(a) || !this.linkUp(a, b)) { c.dropped++; return false }
    const model = this.modelOf(a, b)
    if (!reliable && model.loss > 0 && this.rng.next() < model.loss) { c.dropped++; return false }
    c.msgs++
    c.bytes += bytes
    const copies = !reliable && model.duplicate > 0 && this.rng.next() < model.duplicate ? 2 : 1
    for (let i = 0; i < copies; i++) {
      const schedule = (): void => {
        this.sched.after(drawLatencyMs(model, this.rng, bytes), kind, () => {
          if (!this.linkUp(a, b) || !this.up.has(b)) { c.dropped++; return false }
          return deliver()
        }, b)
      }
      const held = this.holds.get(dirKey(a, b))
      if (held !== undefined) held.push(schedule)
      else schedule()
    }
    return true
  }

  /** Ordered delivery for streams: never before the previous frame of the same stream. */
  sendOrdered (a: number, b: number, bytes: number, lastT: { t: number }, deliver: () => void, onLost: () => void): void {
    const c = this.counters.antiEntropy
    if (!this.up.has(a) || !this.linkUp(a, b)) { c.dropped++; onLost(); return }
    c.msgs++
    c.bytes += bytes
    const model = this.modelOf(a, b)
    const t = Math.max(lastT.t, this.sched.nowMs + drawLatencyMs(model, this.rng, bytes))
    lastT.t = t
    this.sched.at(t, `deliver stream ${a}>${b}`, () => {
      if (!this.linkUp(a, b) || !this.up.has(b)) { c.dropped++; onLost(); return }
      deliver()
    }, b)
  }

  private modelOf (a: number, b: number): LinkModel {
    const o = this.linkOverrides.get(dirKey(a, b))
    return o === undefined ? this.link : { ...this.link, ...o }
  }

  private releaseKey (key: string): void {
    const q = this.holds.get(key)
    this.holds.delete(key)
    for (const s of q ?? []) s()
  }

  /**
   * Recompute whether a and b are connected (edge, both up, both directions open) and tell
   * their meshes after `delayMs` if that changed. A one-way cut leaves the connection up: the
   * peers do not notice, which is what makes asymmetric partitions nasty.
   */
  private refresh (a: number, b: number, delayMs: number): void {
    const key = pairKey(a, b)
    const should = (this.edges.get(a)?.has(b) ?? false) && this.up.has(a) && this.up.has(b) &&
      (this.linkUp(a, b) || this.linkUp(b, a))
    this.sched.after(delayMs, `conn ${key}`, () => {
      const now = (this.edges.get(a)?.has(b) ?? false) && this.up.has(a) && this.up.has(b) && (this.linkUp(a, b) || this.linkUp(b, a))
      if (now !== should) return // changed again since
      const was = this.reported.has(key)
      if (now === was) return
      if (now) this.reported.add(key)
      else this.reported.delete(key)
      this.sched.trace(`${now ? 'connect' : 'disconnect'} ${key}`)
      const ma = this.meshes.get(a)
      const mb = this.meshes.get(b)
      if (ma !== undefined && mb !== undefined) {
        ma.emitPeer(now ? 'connect' : 'disconnect', mb.selfId)
        mb.emitPeer(now ? 'connect' : 'disconnect', ma.selfId)
      }
    })
  }
}
