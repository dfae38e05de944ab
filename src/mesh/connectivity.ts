/**
 * The libp2p parts that reach nodes beyond one subnet: circuit relay v2 (a relay for members,
 * reservations for a node nobody can dial), DCUtR hole punching, mDNS on the LAN, and the
 * announce filter (`node.announce`, `node.noAnnounce`).
 *
 * A relayed connection is limited by the relay in bytes and time (`relayMaxBytes`,
 * `relayMaxDurationMs`); riftmesh's protocols all run over limited connections (gossip, sync,
 * heartbeats and, within the byte cap, transfers), so a node behind NAT stays a full member
 * through a relay. When the limit is reached the relay resets the connection and the peer
 * manager dials again.
 */
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { dcutr } from '@libp2p/dcutr'
import { mdns } from '@libp2p/mdns'
import type { Multiaddr } from '@multiformats/multiaddr'
import { announcedAddrs, type AnnounceRules } from './addrs.js'
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
export function announceFilter (rules: AnnounceRules): (addrs: Multiaddr[]) => Multiaddr[] {
  return addrs => {
    const keep = new Set(announcedAddrs(addrs.map(a => a.toString()), rules))
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
