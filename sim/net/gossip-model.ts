/**
 * A model of gossipsub that keeps the mechanics that decide delivery, latency and cost: flood
 * publish by the origin, a mesh of degree D (kept between Dlo and Dhi at each heartbeat)
 * that forwards first-seen messages, a seen cache that drops duplicates, and lazy gossip
 * (IHAVE of recent ids to Dlazy non-mesh peers, answered by IWANT) that repairs losses.
 */
import type { Rng } from '../../src/core/rng.js'
import type { SimNetwork } from './sim-network.js'

export interface GossipParams {
  D: number
  Dlo: number
  Dhi: number
  Dlazy: number
  heartbeatMs: number
  /** Heartbeat windows of message ids advertised in IHAVE. */
  gossipWindows: number
  /** Heartbeat windows kept to answer IWANT. */
  historyWindows: number
  seenTtlMs: number
  /** Bytes added to each data message (signature, key, seqno, topic, framing). */
  messageOverheadBytes: number
  /** Bytes of a control message (IHAVE/IWANT) plus per id. */
  controlOverheadBytes: number
  idBytes: number
}

export const DEFAULT_GOSSIP: GossipParams = {
  D: 6, Dlo: 4, Dhi: 12, Dlazy: 6, heartbeatMs: 1000, gossipWindows: 3, historyWindows: 5, seenTtlMs: 120_000,
  messageOverheadBytes: 140, controlOverheadBytes: 40, idBytes: 44
}

interface Msg { id: string, origin: number, topic: string, data: Uint8Array }

interface NodeGossip {
  seq: number
  seen: Map<string, number>
  /** Newest window first. */
  windows: Array<Map<string, Msg>>
  mesh: Map<string, Set<number>>
}

export class GossipModel {
  private readonly nodes = new Map<number, NodeGossip>()
  /** Messages dropped as already seen (duplicates), across the network. */
  duplicates = 0

  constructor (private readonly net: SimNetwork, private readonly rng: Rng, readonly params: GossipParams) {}

  private state (n: number): NodeGossip {
    let s = this.nodes.get(n)
    if (s === undefined) {
      s = { seq: 0, seen: new Map(), windows: [new Map()], mesh: new Map() }
      this.nodes.set(n, s)
    }
    return s
  }

  /** A node restarted: it forgets everything gossip-related (seq goes on, ids stay unique). */
  reset (n: number): void {
    const s = this.state(n)
    s.seen.clear()
    s.windows = [new Map()]
    s.mesh.clear()
  }

  publish (a: number, topic: string, data: Uint8Array): number {
    const s = this.state(a)
    const msg: Msg = { id: `${a}:${++s.seq}`, origin: a, topic, data }
    this.remember(a, msg)
    let sent = 0
    for (const b of this.subscribedPeers(a, topic)) {
      if (this.sendMsg(a, b, msg)) sent++
    }
    return sent
  }

  /** Run one gossip heartbeat of node `a`. */
  heartbeat (a: number): void {
    const s = this.state(a)
    const mesh = this.net.mesh(a)
    if (mesh === undefined) return
    const p = this.params
    for (const topic of mesh.topics()) {
      const candidates = this.subscribedPeers(a, topic)
      const cset = new Set(candidates)
      const m = new Set([...(s.mesh.get(topic) ?? [])].filter(x => cset.has(x)))
      if (m.size < p.Dlo) {
        for (const x of this.rng.shuffle(candidates.filter(c => !m.has(c)))) {
          if (m.size >= p.D) break
          m.add(x)
          this.control(a, x, 0)
        }
      } else if (m.size > p.Dhi) {
        for (const x of this.rng.shuffle([...m])) {
          if (m.size <= p.D) break
          m.delete(x)
          this.control(a, x, 0)
        }
      }
      s.mesh.set(topic, m)
      const ids: string[] = []
      for (const w of s.windows.slice(0, p.gossipWindows)) for (const [id, msg] of w) if (msg.topic === topic) ids.push(id)
      if (ids.length > 0) {
        for (const x of this.rng.shuffle(candidates.filter(c => !m.has(c))).slice(0, p.Dlazy)) this.ihave(a, x, ids)
      }
    }
    s.windows.unshift(new Map())
    if (s.windows.length > p.historyWindows) s.windows.length = p.historyWindows
    const now = this.net.sched.nowMs
    for (const [id, exp] of s.seen) {
      if (exp > now) break
      s.seen.delete(id)
    }
  }

  private subscribedPeers (a: number, topic: string): number[] {
    return this.net.connectedPeers(a).filter(b => this.net.mesh(b)?.isSubscribed(topic) === true)
  }

  private remember (n: number, msg: Msg): void {
    const s = this.state(n)
    s.seen.set(msg.id, this.net.sched.nowMs + this.params.seenTtlMs)
    s.windows[0]?.set(msg.id, msg)
  }

  private sendMsg (a: number, b: number, msg: Msg): boolean {
    const kind = this.net.kindOfTopic(msg.topic)
    return this.net.send(a, b, kind, msg.data.byteLength + this.params.messageOverheadBytes, () => this.receive(b, a, msg))
  }

  /** Returns false when nothing but the model itself ran (a duplicate): no async work to settle. */
  private receive (b: number, from: number, msg: Msg): boolean {
    const s = this.state(b)
    if (s.seen.has(msg.id)) {
      this.duplicates++
      return false
    }
    this.remember(b, msg)
    const mesh = this.net.mesh(b)
    const origin = this.net.mesh(msg.origin)
    if (mesh === undefined || origin === undefined) return false
    let forwardTo = s.mesh.get(msg.topic)
    if (forwardTo === undefined || forwardTo.size === 0) {
      forwardTo = new Set(this.rng.shuffle(this.subscribedPeers(b, msg.topic)).slice(0, this.params.D))
    }
    for (const x of forwardTo) if (x !== from && x !== msg.origin) this.sendMsg(b, x, msg)
    if (mesh.isSubscribed(msg.topic)) mesh.deliverTopic(msg.topic, origin.selfId, msg.data)
    return true
  }

  private control (a: number, b: number, ids: number): void {
    this.net.send(a, b, 'control', this.params.controlOverheadBytes + ids * this.params.idBytes, () => false)
  }

  private ihave (a: number, b: number, ids: string[]): void {
    const bytes = this.params.controlOverheadBytes + ids.length * this.params.idBytes
    this.net.send(a, b, 'control', bytes, () => {
      const sb = this.state(b)
      const want = ids.filter(id => !sb.seen.has(id))
      if (want.length === 0) return false
      this.net.send(b, a, 'control', this.params.controlOverheadBytes + want.length * this.params.idBytes, () => {
        const sa = this.state(a)
        for (const id of want) {
          const msg = sa.windows.map(w => w.get(id)).find(m => m !== undefined)
          if (msg !== undefined) this.sendMsg(a, b, msg)
        }
        return false
      })
      return false
    })
  }
}
