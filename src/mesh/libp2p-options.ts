/**
 * What a riftmesh libp2p node is made of — transports, encryption, the swarm key, discovery,
 * services and gossipsub's settings — as one pure function of {@link Libp2pMeshInit}. The mesh
 * (./libp2p-mesh.ts) creates the node from it and wires its events.
 */
import type { Libp2pOptions } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { memory } from '@libp2p/memory'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { identify, identifyPush } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { gossipsub, StrictSign } from '@libp2p/gossipsub'
import { bootstrap } from '@libp2p/bootstrap'
import { preSharedKey } from '@libp2p/pnet'
import { uPnPNAT } from '@libp2p/upnp-nat'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { toString as bytesToString } from 'uint8arrays/to-string'
import type { ConnectionGater, PrivateKey } from '@libp2p/interface'
import type { Registry } from 'prom-client'
import { announceFilter, lanDiscovery, relayServices, relayTransport, type RelayInit } from './connectivity.js'


/** Smallest gossip message for which gossipsub sends IDONTWANT to its mesh peers (its default: 512). */
export const IDONTWANT_MIN_BYTES = 2048
export interface Libp2pMeshInit {
  privateKey: PrivateKey
  /** Swarm key file contents; null runs a public network (tests of the key itself only). */
  swarmKey: Uint8Array | null
  listen: readonly string[]
  bootstrap: readonly string[]
  /** @default 'tcp' */
  transport?: 'tcp' | 'memory'
  /** Decides which connections are allowed (e.g. revoked peers); libp2p's default allows all. */
  connectionGater?: ConnectionGater
  /** Advertised instead of the direct listen addresses (a port-mapped host). @default [] */
  announce?: readonly string[]
  /** Address ranges (`/ip4/<net>/ipcidr/<bits>`) never advertised. @default [] */
  noAnnounce?: readonly string[]
  /** Find peers on the LAN by mDNS and dial them. @default false */
  mdns?: boolean
  /** Ask the LAN's UPnP gateway to publish the listen port and advertise the mapped address. @default false */
  upnp?: boolean
  /** Serve circuit relays, punch holes, probe reachability and reserve relays when private; absent: none of it. */
  relay?: RelayInit
  /** Largest gossip message accepted, in bytes. @default 1 MiB */
  maxGossipMessageBytes?: number
  /** Gossipsub heartbeat. @default 700 */
  gossipHeartbeatMs?: number
  /** Longest dial of one address of a peer; the next address is tried after it. @default 3_000 */
  addressDialTimeoutMs?: number
  /** Most open connections. @default 200 */
  maxConnections?: number
  /** libp2p's own metrics (connections, streams, bytes per protocol …) into this prom-client registry; none when absent. */
  metricsRegistry?: Registry
}

export const DEFAULT_GOSSIP_HEARTBEAT_MS = 700
export const DEFAULT_ADDRESS_DIAL_TIMEOUT_MS = 3_000
export const DEFAULT_MAX_GOSSIP_MESSAGE_BYTES = 1024 * 1024
export const DEFAULT_MAX_CONNECTIONS = 200
/** What the gateway shows beside a mapping riftmesh asked for. */
export const UPNP_MAPPING_DESCRIPTION = 'riftmesh'

/** `from` + `seqno` of a gossip message (StrictSign: both always present; else the whole payload). */
export function fastMessageId (msg: { from?: Uint8Array, seqno?: Uint8Array, data?: Uint8Array, topic: string }): string {
  if (msg.from !== undefined && msg.seqno !== undefined) return `${bytesToString(msg.from, 'base64')}.${bytesToString(msg.seqno, 'base64')}`
  return `${msg.topic}.${bytesToString(msg.data ?? new Uint8Array(0), 'base64')}`
}

/**
 * The options of `createLibp2p` (not started). `isPublic` tells the announce filter whether
 * members dial this node directly (then it advertises no relayed address).
 */
export function libp2pOptions (init: Libp2pMeshInit, isPublic: () => boolean): Libp2pOptions<Record<string, unknown>> {
  const transport = init.transport ?? 'tcp'
  const maxBytes = init.maxGossipMessageBytes ?? DEFAULT_MAX_GOSSIP_MESSAGE_BYTES
  const relay = init.relay
  const announce = [...(init.announce ?? [])]
  return {
    privateKey: init.privateKey,
    // never tell others a loopback or link-local address unless this node has nothing else;
    // announced addresses replace the direct listen addresses, relayed ones are kept
    addresses: {
      listen: [...init.listen],
      ...(announce.length > 0 ? { appendAnnounce: announce } : {}),
      announceFilter: announceFilter({ announce, noAnnounce: init.noAnnounce ?? [] }, isPublic)
    },
    transports: [transport === 'tcp' ? tcp() : memory(), ...(relay !== undefined ? [relayTransport()] : [])],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    ...(init.swarmKey !== null ? { connectionProtector: preSharedKey({ psk: init.swarmKey }) } : {}),
    ...(init.connectionGater !== undefined ? { connectionGater: init.connectionGater } : {}),
    // each address of a peer gets its own budget, so a dead direct address leaves time for the relayed ones
    connectionManager: { maxConnections: init.maxConnections ?? DEFAULT_MAX_CONNECTIONS, addressDialTimeout: init.addressDialTimeoutMs ?? DEFAULT_ADDRESS_DIAL_TIMEOUT_MS },
    ...(init.metricsRegistry !== undefined ? { metrics: prometheusMetrics({ registry: init.metricsRegistry, collectDefaultMetrics: false }) } : {}),
    peerDiscovery: [
      ...(init.bootstrap.length > 0 ? [bootstrap({ list: [...init.bootstrap], timeout: 0 })] : []),
      ...(init.mdns === true ? [lanDiscovery()] : [])
    ],
    services: {
      identify: identify(),
      ping: ping(),
      // with relays, protocols and addresses change after start (relaying on or off, a reservation
      // made): identify push tells connected peers at once
      ...(relay !== undefined ? { identifyPush: identifyPush(), ...relayServices(relay) } : {}),
      // the mapped address is advertised at once (riftmesh runs no AutoNAT to confirm it); the
      // dial-back probe then finds out whether members really reach it
      ...(init.upnp === true ? { upnp: uPnPNAT({ autoConfirmAddress: true, portMappingDescription: UPNP_MAPPING_DESCRIPTION }) } : {}),
      pubsub: gossipsub({
        // heartbeats and document updates reach a node behind NAT over its relayed connections
        runOnLimitedConnection: true,
        globalSignaturePolicy: StrictSign,
        emitSelf: false,
        allowPublishToZeroTopicPeers: true,
        floodPublish: true,
        heartbeatInterval: init.gossipHeartbeatMs ?? DEFAULT_GOSSIP_HEARTBEAT_MS,
        // Recognise a duplicate by (from, seqno) before its signature is checked: every copy used
        // to cost an Ed25519 verification (~30 % of CPU at 100 nodes). Only messages that passed
        // validation enter this cache, so a forged copy cannot hide the real one.
        fastMsgIdFn: fastMessageId,
        // IDONTWANT only for messages larger than a signed entry's update (~530 B): below, the
        // control message to each mesh peer costs more than the duplicate it saves (measured by
        // npm run bench -- propagation: 13.6–20 control sends per change at N=10 against 2.3–6)
        idontwantMinDataSize: IDONTWANT_MIN_BYTES,
        maxInboundDataLength: maxBytes + 64 * 1024,
        maxOutboundBufferSize: 16 * maxBytes
      })
    },
    start: false
  }
}
