/**
 * riftmesh's own TCP hole punch between two members that are both behind NAT and reach each other
 * only through a relay. libp2p's DCUtR cannot do it on Node (docs/OPERATIONS.md §11): a punch
 * must dial from a port the NAT has a mapping for, and Node cannot dial from the port it listens
 * on. So each side dials from a fresh port of its own, with nothing listening on it: a NAT that
 * keeps source ports (Linux masquerade, most home and office routers) maps that dial to
 * `<its address>:<the same port>`, which is what the other side aims at, and two dials at the same
 * moment become one TCP connection (simultaneous open). libp2p's upgrader then runs the swarm key,
 * Noise and Yamux on it, the initiator as dialler and the responder as listener, and the relayed
 * connection is closed. A NAT that picks new ports, or answers unasked SYNs with a reset, leaves
 * the two relayed — nothing else changes.
 *
 * `/riftmesh/punch/1.0.0` on the relayed connection, JSON frames: the initiator (the smaller
 * peer id) sends `{ ip, port }` (its NAT's address as its public peers observe it, and its punch
 * port), the responder answers its own `{ ip, port }`, the initiator sends `{ sync: true }` and
 * dials half a round trip later; the responder dials when the sync arrives. Each side keeps
 * dialling for {@link PUNCH_WINDOW_MS}.
 */
import { connect as tcpConnect, createServer, type Socket } from 'node:net'
import { isIPv4 } from 'node:net'
import type { Connection, Libp2p, Stream, Upgrader, ComponentLogger } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { fromString as bytesFromString } from 'uint8arrays/from-string'
import { toString as bytesToString } from 'uint8arrays/to-string'
import { sleep, type Clock } from '../core/clock.js'
import { errorMessage } from '../core/errors.js'
import type { Logger } from '../core/logger.js'
import { ipOf, isRelayed } from './addrs.js'
import { punchedConnection } from './punched-conn.js'

export const PUNCH_PROTOCOL = '/riftmesh/punch/1.0.0'
/** How long each side keeps dialling. */
export const PUNCH_WINDOW_MS = 6_000
/** Between two punches towards one peer. */
export const PUNCH_RETRY_MS = 60_000
/** Punches under way at once at most (more wait for the next identify). */
export const MAX_CONCURRENT_PUNCHES = 4
/** Peers whose last punch is remembered at most (the oldest is forgotten). */
export const MAX_REMEMBERED_PEERS = 1_024
/** A refused dial (the other side not dialling yet, or a router's reset) is tried again after this. */
const REDIAL_MS = 100
const MAX_FRAME_BYTES = 512

export type PunchMessage = { ip: string, port: number } | { sync: true }

/** The smaller peer id starts the punch, so only one side does. */
export function isPunchInitiator (self: string, peer: string): boolean {
  return self < peer
}

/** A punch frame as sent by the other side, or undefined when it is not one. */
export function parsePunchMessage (value: unknown): PunchMessage | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const v = value as Record<string, unknown>
  if (v.sync === true) return { sync: true }
  if (typeof v.ip === 'string' && isIPv4(v.ip) && Number.isInteger(v.port) && (v.port as number) >= 1024 && (v.port as number) <= 65_535) return { ip: v.ip, port: v.port as number }
  return undefined
}

/**
 * This node's address as its NAT shows it: the IP a directly connected peer observed (identify),
 * when it is none of this node's own addresses; undefined when not behind NAT or not known.
 */
export function natAddress (observed: string | undefined, own: readonly string[]): string | undefined {
  const ip = observed === undefined || isRelayed(observed) ? undefined : ipOf(observed)
  if (ip === undefined || !isIPv4(ip)) return undefined
  return own.some(a => ipOf(a) === ip) ? undefined : ip
}

/** Set `key` to `value` as the newest entry, forgetting the oldest beyond `max` entries. */
export function rememberNewest<K, V> (map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key)
  map.set(key, value)
  while (map.size > max) map.delete(map.keys().next().value as K)
}

export interface HolePunchComponents {
  libp2p: Libp2p
  clock: Clock
  logger: Logger
}

interface Libp2pInternals { components?: { upgrader?: Upgrader, logger?: ComponentLogger } }

async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '0.0.0.0', () => resolve())
  })
  const port = (server.address() as { port: number }).port
  await new Promise<void>(resolve => server.close(() => resolve()))
  return port
}

export class HolePunch {
  private readonly log: Logger
  private readonly lastTry = new Map<string, number>()
  private readonly running = new Set<string>()
  private nat: string | undefined
  private controller: AbortController | undefined

  constructor (private readonly c: HolePunchComponents) {
    this.log = c.logger.child({ component: 'hole-punch' })
  }

  async start (): Promise<void> {
    if (this.controller !== undefined) return
    this.controller = new AbortController()
    await this.c.libp2p.handle(PUNCH_PROTOCOL, async (stream, connection) => await this.respond(stream, connection), {
      maxInboundStreams: 2, maxOutboundStreams: 2, runOnLimitedConnection: true
    })
  }

  async stop (): Promise<void> {
    this.controller?.abort()
    this.controller = undefined
    await this.c.libp2p.unhandle(PUNCH_PROTOCOL).catch((err: unknown) => this.log.debug({ err }, 'unhandle failed'))
  }

  /** What a directly connected peer saw of this node (identify's observed address). */
  observed (addr: string | undefined): void {
    const own = this.c.libp2p.getMultiaddrs().map(a => a.toString())
    const nat = natAddress(addr, own)
    if (nat !== undefined) this.nat = nat
  }

  /** The peer is reached only through a relay: punch, if this node starts punches with it and has not tried lately. */
  maybePunch (peer: string): void {
    const signal = this.controller?.signal
    if (signal === undefined || this.nat === undefined || !isPunchInitiator(this.c.libp2p.peerId.toString(), peer)) return
    const conns = this.c.libp2p.getConnections(peerIdFromString(peer)).filter(c => c.status === 'open')
    const relayed = conns.find(c => isRelayed(c.remoteAddr.toString()))
    if (relayed === undefined || conns.some(c => !isRelayed(c.remoteAddr.toString()))) return
    if (!this.begin(peer)) return
    this.settle(peer, this.initiate(relayed, this.nat, signal))
  }

  /**
   * Whether a punch with `peer` may start now (on either side): one at a time per peer, at most
   * MAX_CONCURRENT_PUNCHES in all, and not within PUNCH_RETRY_MS of a failed one — a member cannot
   * make this node dial out again and again. Marks it started.
   */
  private begin (peer: string): boolean {
    const now = this.c.clock.monoMs()
    const last = this.lastTry.get(peer)
    if (this.running.has(peer) || this.running.size >= MAX_CONCURRENT_PUNCHES || (last !== undefined && now - last < PUNCH_RETRY_MS)) return false
    rememberNewest(this.lastTry, peer, now, MAX_REMEMBERED_PEERS)
    this.running.add(peer)
    return true
  }

  private settle (peer: string, punch: Promise<boolean>): void {
    punch
      .then(ok => {
        if (!ok) return this.log.info({ peer, windowMs: PUNCH_WINDOW_MS }, 'hole punch: no connection within the window (a NAT that picks new ports, or resets unasked SYNs?); the peer stays relayed')
        this.log.info({ peer }, 'hole punched: a direct connection replaces the relayed one')
        this.lastTry.delete(peer) // only failures wait PUNCH_RETRY_MS: a peer that restarts is punched again at once
      })
      .catch((err: unknown) => this.log.debug({ err: errorMessage(err), peer }, 'hole punch failed; the peer stays relayed'))
      .finally(() => this.running.delete(peer))
  }

  private async initiate (relayed: Connection, nat: string, parent: AbortSignal): Promise<boolean> {
    const signal = AbortSignal.any([parent, AbortSignal.timeout(3 * PUNCH_WINDOW_MS)])
    const stream = await relayed.newStream(PUNCH_PROTOCOL, { signal, runOnLimitedConnection: true })
    let port: number
    let other: { ip: string, port: number }
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
      port = await freePort()
      const sent = this.c.clock.monoMs()
      await lp.write(bytesFromString(JSON.stringify({ ip: nat, port })), { signal })
      const answer = parsePunchMessage(JSON.parse(bytesToString((await lp.read({ signal })).subarray())))
      if (answer === undefined || 'sync' in answer) throw new Error('the peer answered no address')
      other = answer
      const rtt = this.c.clock.monoMs() - sent
      await lp.write(bytesFromString(JSON.stringify({ sync: true })), { signal })
      await sleep(this.c.clock, Math.floor(rtt / 2), { signal })
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)))
      throw err
    }
    await stream.close({ signal }).catch(() => { /* the punch does not need it any more */ })
    return await this.punch(relayed, port, other, true, signal)
  }

  private async respond (stream: Stream, relayed: Connection): Promise<void> {
    const parent = this.controller?.signal
    const peer = relayed.remotePeer.toString()
    if (parent === undefined || this.nat === undefined || !isRelayed(relayed.remoteAddr.toString()) || !this.begin(peer)) {
      stream.abort(new Error('not punching'))
      return
    }
    this.settle(peer, this.answer(stream, relayed, this.nat, parent).catch((err: unknown) => {
      stream.abort(err instanceof Error ? err : new Error(String(err)))
      throw err
    }))
  }

  private async answer (stream: Stream, relayed: Connection, nat: string, parent: AbortSignal): Promise<boolean> {
    const signal = AbortSignal.any([parent, AbortSignal.timeout(3 * PUNCH_WINDOW_MS)])
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
    const other = parsePunchMessage(JSON.parse(bytesToString((await lp.read({ signal })).subarray())))
    if (other === undefined || 'sync' in other) throw new Error('the initiator sent no address')
    const port = await freePort()
    await lp.write(bytesFromString(JSON.stringify({ ip: nat, port })), { signal })
    const sync = parsePunchMessage(JSON.parse(bytesToString((await lp.read({ signal })).subarray())))
    if (sync === undefined || !('sync' in sync)) throw new Error('the initiator sent no sync')
    await stream.close({ signal }).catch(() => { /* the punch does not need it any more */ })
    return await this.punch(relayed, port, other, false, signal)
  }

  /** Dial from `port` to the other side until connected or the window ends, then upgrade and drop the relayed connection. */
  private async punch (relayed: Connection, port: number, other: { ip: string, port: number }, initiator: boolean, signal: AbortSignal): Promise<boolean> {
    const socket = await this.dialLoop(port, other, signal)
    if (socket === undefined) return false
    const peer = relayed.remotePeer.toString()
    const internals = (this.c.libp2p as Libp2p & Libp2pInternals).components
    const upgrader = internals?.upgrader
    if (upgrader === undefined || internals?.logger === undefined) {
      socket.destroy()
      throw new Error('this libp2p node has no upgrader')
    }
    const remote = multiaddr(`/ip4/${other.ip}/tcp/${other.port}/p2p/${peer}`)
    const maConn = punchedConnection(socket, remote, initiator ? 'outbound' : 'inbound', internals.logger.forComponent('riftmesh:punch'))
    try {
      const conn = await upgrader.upgradeOutbound(maConn, { initiator, signal })
      this.log.debug({ peer, addr: conn.remoteAddr.toString(), initiator }, 'punched connection upgraded')
    } catch (err) {
      maConn.abort(err instanceof Error ? err : new Error(String(err)))
      throw err
    }
    await relayed.close().catch((err: unknown) => this.log.debug({ err, peer }, 'closing the relayed connection failed'))
    return true
  }

  private async dialLoop (port: number, other: { ip: string, port: number }, signal: AbortSignal): Promise<Socket | undefined> {
    const end = this.c.clock.monoMs() + PUNCH_WINDOW_MS
    while (!signal.aborted) {
      const left = end - this.c.clock.monoMs()
      if (left <= 0) return undefined
      const socket = await new Promise<Socket | undefined>(resolve => {
        const s = tcpConnect({ host: other.ip, port: other.port, localPort: port })
        const done = (ok: boolean): void => {
          s.removeAllListeners('connect').removeAllListeners('timeout')
          s.setTimeout(0)
          if (!ok) s.destroy()
          resolve(ok ? s : undefined)
        }
        s.once('connect', () => done(true))
        s.setTimeout(left, () => done(false))
        s.once('error', () => done(false))
      })
      if (socket !== undefined) {
        socket.removeAllListeners('error')
        return socket
      }
      await sleep(this.c.clock, REDIAL_MS, { signal }).catch(() => undefined)
    }
    return undefined
  }
}
