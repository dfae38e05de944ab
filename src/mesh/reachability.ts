/**
 * Whether other nodes can dial this node directly, found by asking peers to dial it back.
 *
 * libp2p's AutoNAT (v1 and v2) was measured out: it never dials or confirms a private address
 * (10/8, 172.16/12, 192.168/16, 100.64/10 — most clusters' whole network) and wants four
 * confirmations from four different /8 networks, which a cluster of a few machines on one site
 * never has. So riftmesh asks its own members: `/riftmesh/dialback/1.0.0`, one request frame
 * (JSON `{ addrs }`: the requester's direct advertised addresses), one answer frame
 * (`{ ok, addr?, cause? }`). The answering peer opens a new connection (`force`) to those
 * addresses with the requester's peer id, closes it, and says whether it connected. Only members
 * (same swarm key) can ask, and only for the requester's own peer id.
 *
 * `decideReachability` (pure) turns the answers into public / private / unknown with the reason
 * `status` shows; `ReachabilityProbe` asks up to {@link MAX_PROBE_PEERS} directly connected peers
 * every round (every 60 s while public, every 15 s otherwise) and calls `onChange` when the
 * verdict changes (the mesh then reserves relay slots, serves relays or stops, and advertises
 * relayed addresses only while private).
 */
import type { Connection, Libp2p, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { fromString as bytesFromString } from 'uint8arrays/from-string'
import { toString as bytesToString } from 'uint8arrays/to-string'
import type { Clock, TimerHandle } from '../core/clock.js'
import { errorMessage } from '../core/errors.js'
import type { Logger } from '../core/logger.js'
import { dialCause, isRelayed, withPeerId } from './addrs.js'

export const DIALBACK_PROTOCOL = '/riftmesh/dialback/1.0.0'
/** Peers asked per round. */
export const MAX_PROBE_PEERS = 3
/** Addresses dialled back per request at most. */
export const MAX_DIALBACK_ADDRS = 4
const MAX_FRAME_BYTES = 8 * 1024
/** One dial-back (the answering side's dial) must finish within this. @default 5_000 */
export const DEFAULT_DIALBACK_TIMEOUT_MS = 5_000
/** First round after start, and the retry while no peer has answered. @default 3_000 */
export const DEFAULT_FIRST_PROBE_MS = 3_000
/** Between rounds once an answer came. @default 60_000 */
export const DEFAULT_PROBE_INTERVAL_MS = 60_000
/** Between rounds while private: a verdict made under load (dial-backs timing out) is soon checked again. @default 15_000 */
export const DEFAULT_PRIVATE_PROBE_INTERVAL_MS = 15_000

export type ReachabilityState = 'public' | 'private' | 'unknown'

export interface DialBackAnswer {
  peer: string
  ok: boolean
  /** The address that connected (ok) or the cause of the failure (dialCause). */
  addr?: string
  cause?: string
}

export interface Reachability {
  state: ReachabilityState
  /** One line for `status`. */
  why: string
  /** When the answers were gathered (ms since epoch), null before any round. */
  checkedAt: number | null
}

/** public / private / unknown from this node's direct addresses and the peers' dial-back answers. */
export function decideReachability (directAddrs: readonly string[], answers: readonly DialBackAnswer[]): Omit<Reachability, 'checkedAt'> {
  if (directAddrs.length === 0) return { state: 'private', why: 'no direct address to advertise (all filtered by node.noAnnounce or none listening)' }
  const ok = answers.filter(a => a.ok)
  if (ok.length > 0) return { state: 'public', why: `dialled back directly by ${ok.length} of ${answers.length} peer(s) on ${ok[0]?.addr ?? directAddrs[0]}` }
  if (answers.length === 0) return { state: 'unknown', why: 'no peer has answered a dial-back yet' }
  const causes = [...new Set(answers.map(a => a.cause ?? 'other'))].join(', ')
  return { state: 'private', why: `${answers.length} peer(s) could not dial ${directAddrs.join(' or ')} (${causes}): behind NAT or a firewall` }
}

export interface ReachabilityProbeComponents {
  libp2p: Libp2p
  clock: Clock
  logger: Logger
}

export interface ReachabilityProbeInit {
  /** The addresses this node advertises (direct ones are asked about). */
  advertised: () => string[]
  /** Called when the verdict changes (not for unknown). */
  onChange: (state: ReachabilityState) => Promise<void>
  /** @default DEFAULT_DIALBACK_TIMEOUT_MS */
  dialBackTimeoutMs?: number
  /** @default DEFAULT_PROBE_INTERVAL_MS */
  probeIntervalMs?: number
}

async function readJson (stream: Stream, signal: AbortSignal): Promise<unknown> {
  const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
  return JSON.parse(bytesToString((await lp.read({ signal })).subarray()))
}

async function writeJson (stream: Stream, value: unknown, signal: AbortSignal): Promise<void> {
  await lpStream(stream, { maxDataLength: MAX_FRAME_BYTES }).write(bytesFromString(JSON.stringify(value)), { signal })
}

export class ReachabilityProbe {
  private readonly log: Logger
  private current: Reachability = { state: 'unknown', why: 'not checked yet', checkedAt: null }
  private timer: TimerHandle | undefined
  private controller: AbortController | undefined
  private running = false

  constructor (private readonly c: ReachabilityProbeComponents, private readonly init: ReachabilityProbeInit) {
    this.log = c.logger.child({ component: 'reachability' })
  }

  get reachability (): Reachability {
    return this.current
  }

  async start (): Promise<void> {
    if (this.controller !== undefined) return
    this.controller = new AbortController()
    await this.c.libp2p.handle(DIALBACK_PROTOCOL, async (stream, connection) => await this.answer(stream, connection), {
      maxInboundStreams: 2, maxOutboundStreams: 2, runOnLimitedConnection: true
    })
    this.schedule(DEFAULT_FIRST_PROBE_MS)
  }

  async stop (): Promise<void> {
    this.controller?.abort()
    this.controller = undefined
    this.c.clock.clearTimer(this.timer)
    this.timer = undefined
  }

  private schedule (ms: number): void {
    this.c.clock.clearTimer(this.timer)
    this.timer = this.c.clock.setTimer(() => {
      this.round().catch((err: unknown) => this.log.warn({ err }, 'reachability round failed'))
    }, ms)
  }

  /** Ask up to MAX_PROBE_PEERS directly connected peers to dial this node back. */
  async round (): Promise<Reachability> {
    const signal = this.controller?.signal
    if (signal === undefined || this.running) return this.current
    this.running = true
    try {
      const direct = this.init.advertised().filter(a => !isRelayed(a)).slice(0, MAX_DIALBACK_ADDRS)
      const peers = [...new Map(this.c.libp2p.getConnections().filter(c => c.direct && c.limits === undefined).map(c => [c.remotePeer.toString(), c])).values()]
        .slice(0, MAX_PROBE_PEERS)
      const answers = direct.length === 0 ? [] : (await Promise.all(peers.map(async conn => await this.ask(conn, direct, signal)))).filter((a): a is DialBackAnswer => a !== undefined)
      const decided = decideReachability(direct, answers)
      const changed = decided.state !== this.current.state
      this.current = { ...decided, checkedAt: this.c.clock.nowMs() }
      if (changed) this.log.info({ reachability: this.current.state, why: this.current.why }, `reachability: ${this.current.state} — ${this.current.why}`)
      if (changed && this.current.state !== 'unknown') await this.init.onChange(this.current.state)
    } finally {
      this.running = false
    }
    const next = { unknown: DEFAULT_FIRST_PROBE_MS, private: DEFAULT_PRIVATE_PROBE_INTERVAL_MS, public: this.init.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS }[this.current.state]
    if (!signal.aborted) this.schedule(next)
    return this.current
  }

  private async ask (conn: Connection, addrs: string[], parent: AbortSignal): Promise<DialBackAnswer | undefined> {
    const peer = conn.remotePeer.toString()
    const signal = AbortSignal.any([parent, AbortSignal.timeout(2 * (this.init.dialBackTimeoutMs ?? DEFAULT_DIALBACK_TIMEOUT_MS))])
    try {
      const stream = await conn.newStream(DIALBACK_PROTOCOL, { signal, runOnLimitedConnection: true })
      await writeJson(stream, { addrs }, signal)
      const reply = await readJson(stream, signal) as { ok?: unknown, addr?: unknown, cause?: unknown }
      await stream.close({ signal }).catch(() => { /* the answer is in */ })
      return { peer, ok: reply.ok === true, ...(typeof reply.addr === 'string' ? { addr: reply.addr } : {}), ...(typeof reply.cause === 'string' ? { cause: reply.cause } : {}) }
    } catch (err) {
      this.log.debug({ err: errorMessage(err), peer }, 'dial-back request failed')
      return undefined // a peer that does not answer says nothing about this node
    }
  }

  /** Dial the requester back on the addresses it sent, on a new connection, and say whether it connected. */
  private async answer (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    const signal = AbortSignal.any([this.controller?.signal ?? AbortSignal.abort(), AbortSignal.timeout(2 * (this.init.dialBackTimeoutMs ?? DEFAULT_DIALBACK_TIMEOUT_MS))])
    const req = await readJson(stream, signal) as { addrs?: unknown }
    const addrs = (Array.isArray(req.addrs) ? req.addrs : []).filter((a): a is string => typeof a === 'string' && !isRelayed(a))
      .slice(0, MAX_DIALBACK_ADDRS).map(a => withPeerId(a, peer)).filter(a => a.endsWith(`/p2p/${peer}`))
    let reply: { ok: boolean, addr?: string, cause?: string } = { ok: false, cause: 'other' }
    if (addrs.length > 0) {
      try {
        const back = await this.c.libp2p.dial(addrs.map(a => multiaddr(a)), { force: true, signal: AbortSignal.any([signal, AbortSignal.timeout(this.init.dialBackTimeoutMs ?? DEFAULT_DIALBACK_TIMEOUT_MS)]) })
        if (isRelayed(back.remoteAddr.toString())) {
          // the dial joined another one in libp2p's queue and came back through a relay: says nothing
          reply = { ok: false, cause: 'other' }
        } else {
          reply = { ok: true, addr: back.remoteAddr.toString() }
          // close the extra connection, unless libp2p made it the one this node keeps with the peer
          if (this.c.libp2p.getConnections(connection.remotePeer).some(c => c !== back && c.status === 'open')) {
            await back.close().catch((err: unknown) => this.log.debug({ err, peer }, 'closing the dial-back connection failed'))
          }
        }
      } catch (err) {
        reply = { ok: false, cause: dialCause(err) }
      }
    }
    await writeJson(stream, reply, signal)
    await stream.close({ signal })
  }
}
