/**
 * The libp2p parts that reach nodes beyond one subnet: circuit relay v2 (a relay for members,
 * reservations for a node nobody can dial), DCUtR hole punching plus riftmesh's own upgrade of
 * a relayed connection on private networks, mDNS on the LAN, and the announce filter
 * (`node.announce`, `node.noAnnounce`).
 *
 * A relayed connection is limited by the relay in bytes and time (`relayMaxBytes`,
 * `relayMaxDurationMs`); riftmesh's protocols all run over limited connections (gossip, sync,
 * heartbeats and, within the byte cap, transfers), so a node behind NAT stays a full member
 * through a relay. When the limit is reached the relay resets the connection and the peer
 * manager dials again.
 */
import { circuitRelayServer, circuitRelayTransport, RELAY_V2_HOP_CODEC } from '@libp2p/circuit-relay-v2'
import { dcutr } from '@libp2p/dcutr'
import { mdns } from '@libp2p/mdns'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Libp2p, StreamHandler } from '@libp2p/interface'
import { announcedAddrs, dialAddrs, isRelayed, type AnnounceRules } from './addrs.js'
import { RiftmeshError, errorMessage } from '../core/errors.js'
import type { Logger } from '../core/logger.js'
import { DEFAULT_RELAY_MAX_BYTES, DEFAULT_RELAY_MAX_DURATION_MS, DEFAULT_RELAY_MAX_RESERVATIONS as DEFAULT_MAX_RESERVATIONS } from '../config/defaults.js'

export interface RelayInit {
  /** Relays held when this node cannot be dialled directly. @default 2 */
  reservations?: number
  /** Reservations this node grants as a relay. @default 128 */
  maxReservations?: number
  /** Bytes per relayed connection before the relay resets it. @default 256 MiB */
  maxBytes?: number
  /** Longest life of a relayed connection. @default 30 min */
  maxDurationMs?: number
}

export { DEFAULT_RELAY_RESERVATIONS as DEFAULT_RESERVATIONS } from '../config/defaults.js'
/** A reservation must be granted within this. */
const RESERVATION_TIMEOUT_MS = 10_000
/** The mDNS service name: riftmesh nodes answer each other, not every libp2p node on the LAN. */
export const MDNS_SERVICE_TAG = '_riftmesh._udp.local'
/** Between two mDNS queries. */
export const MDNS_INTERVAL_MS = 5_000

/** libp2p's announce filter over {@link announcedAddrs}. */
export function announceFilter (rules: Omit<AnnounceRules, 'dropRelayed'>, dropRelayed: () => boolean): (addrs: Multiaddr[]) => Multiaddr[] {
  return addrs => {
    const keep = new Set(announcedAddrs(addrs.map(a => a.toString()), { ...rules, dropRelayed: dropRelayed() }))
    return addrs.filter(a => keep.has(a.toString()))
  }
}

/** The circuit relay transport (dial relayed addresses, hold reservations when told to listen on /p2p-circuit). */
export function relayTransport (): ReturnType<typeof circuitRelayTransport> {
  return circuitRelayTransport({ reservationCompletionTimeout: RESERVATION_TIMEOUT_MS })
}

/** The services a relay-enabled node runs: the relay server with riftmesh's limits, and DCUtR. */
export function relayServices (init: RelayInit): { relay: ReturnType<typeof circuitRelayServer>, dcutr: ReturnType<typeof dcutr> } {
  const maxReservations = init.maxReservations ?? DEFAULT_MAX_RESERVATIONS
  const maxBytes = init.maxBytes ?? DEFAULT_RELAY_MAX_BYTES
  const maxDurationMs = init.maxDurationMs ?? DEFAULT_RELAY_MAX_DURATION_MS
  if (!(Number.isInteger(maxReservations) && maxReservations >= 1)) throw new RangeError(`node.relayMaxReservations must be an integer ≥ 1, got ${maxReservations}`)
  if (!(Number.isInteger(maxBytes) && maxBytes >= 1)) throw new RangeError(`node.relayMaxBytes must be an integer ≥ 1, got ${maxBytes}`)
  if (!(Number.isInteger(maxDurationMs) && maxDurationMs >= 1)) throw new RangeError(`node.relayMaxDurationMs must be an integer ≥ 1, got ${maxDurationMs}`)
  return {
    relay: circuitRelayServer({
      reservations: {
        maxReservations,
        applyDefaultLimit: true,
        defaultDataLimit: BigInt(maxBytes),
        defaultDurationLimit: maxDurationMs
      }
    }),
    dcutr: dcutr()
  }
}

/** mDNS discovery with riftmesh's service tag. */
export function lanDiscovery (): ReturnType<typeof mdns> {
  return mdns({ serviceTag: MDNS_SERVICE_TAG, interval: MDNS_INTERVAL_MS })
}

/**
 * Hold reservations on `count` relays (members that serve circuit relay v2) and advertise the
 * relayed addresses. libp2p finds the relays among connected peers and replaces one that goes away.
 */
export async function reserveRelays (node: Libp2p, count: number, log: Logger): Promise<void> {
  // libp2p keeps listening behind its components; the node object carries them
  const tm = (node as Libp2p & { components?: { transportManager?: { listen: (addrs: Multiaddr[]) => Promise<void> } } }).components?.transportManager
  if (tm === undefined) throw new RiftmeshError('cannot reserve relays: this libp2p node has no transport manager', 'ERR_MESH')
  log.info({ relays: count }, `this node cannot be dialled directly: reserving ${count} relay(s)`)
  await tm.listen(Array.from({ length: count }, () => multiaddr('/p2p-circuit')))
}

/**
 * A peer reached only through a relay that advertises direct addresses (a public member that
 * dialled this NATed node through its relay first): dial it directly once, on a new connection,
 * and close the relayed one. DCUtR does this only towards public IP ranges; a cluster on
 * private networks needs it for every range.
 */
export function upgradeRelayed (node: Libp2p, peer: string, listenAddrs: readonly string[], log: Logger): void {
  // a copy: libp2p hands out its own list, which the new direct connection joins
  const conns = [...node.getConnections(peerIdFromString(peer))]
  if (conns.length === 0 || conns.some(c => !isRelayed(c.remoteAddr.toString()))) return
  const direct = dialAddrs(peer, listenAddrs).filter(a => !isRelayed(a))
  if (direct.length === 0) return
  const upgrade = async (): Promise<void> => {
    const conn = await node.dial(direct.map(a => multiaddr(a)), { force: true })
    // a dial may join another one in libp2p's queue and come back relayed: keep what there is
    if (isRelayed(conn.remoteAddr.toString())) return
    log.info({ peer, addr: conn.remoteAddr.toString() }, 'replaced a relayed connection with a direct one')
    await Promise.all(conns.map(async c => await c.close()))
  }
  upgrade().catch((err: unknown) => log.debug({ err: errorMessage(err), peer }, 'no direct connection to a peer reached through a relay'))
}

/** What riftmesh needs of libp2p's relay server: its hop handler and its reservations. */
interface RelayServer { onHop: StreamHandler, reservationStore: { clear: () => void } }

/**
 * Serve relays only while this node is dialled directly: a relay behind NAT hands out relayed
 * addresses nobody can use. libp2p starts the relay server with the node, and its stop() cannot
 * be undone (it aborts a controller for good), so this takes the hop protocol away (dropping the
 * reservations made on it) or hands it back to the server's own handler.
 */
export async function serveRelay (node: Libp2p, on: boolean, log: Logger): Promise<void> {
  const relay = (node.services as Record<string, unknown>).relay as RelayServer | undefined
  if (relay === undefined) return
  if (on) {
    await node.handle(RELAY_V2_HOP_CODEC, relay.onHop, { runOnLimitedConnection: true })
  } else {
    await node.unhandle(RELAY_V2_HOP_CODEC)
    relay.reservationStore.clear()
  }
  log.debug({ serving: on }, on ? 'serving circuit relay to members' : 'not serving circuit relay')
}

/** mDNS found a peer: libp2p dials nobody by itself, so dial it (another swarm key fails the handshake). */
export function dialDiscovered (node: Libp2p, peer: string, log: Logger): void {
  if (peer === node.peerId.toString() || node.getConnections(peerIdFromString(peer)).length > 0) return
  node.dial(peerIdFromString(peer)).then(
    () => log.info({ peer }, 'connected to a peer found on the LAN (mDNS)'),
    (err: unknown) => log.debug({ err: errorMessage(err), peer }, 'dialling a peer found on the LAN failed')
  )
}
