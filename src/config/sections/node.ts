/** `node`: who this node is, where it keeps its data, how it is reached. */
import { join } from 'node:path'
import { z } from 'zod'
import { LOG_LEVELS, type LogLevel } from '../../core/logger.js'
import * as D from '../defaults.js'
import * as V from '../../core/vocabulary.js'
import { bool, bytes, field, int, list, ms, nullable, num, oneOf, path, text } from '../fields.js'
import { ANNOUNCE_EXAMPLE, BOOTSTRAP_EXAMPLE, LISTEN_EXAMPLE, NO_ANNOUNCE_EXAMPLE, announceAddrSchema, bootstrapAddrSchema, listenAddrSchema, noAnnounceSchema } from '../multiaddrs.js'

const logLevels = LOG_LEVELS as unknown as readonly [LogLevel, ...LogLevel[]]

export const nodeFields = {
  dataDir: field(path(), {
    derivedText: `<homeDir>/${D.DEFAULT_DATA_DIR_NAME} (or <cwd>/${D.DEFAULT_DATA_DIR_NAME} without a home dir)`,
    derive: ctx => join(ctx.homeDir ?? ctx.cwd, D.DEFAULT_DATA_DIR_NAME)
  }, 'Directory for the store, job logs, models and game data. null means the default.'),
  clusterName: field(
    text(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a name of 1–64 letters, digits, ".", "_" or "-" starting with a letter or digit', 64),
    D.DEFAULT_CLUSTER_NAME,
    'Name of the cluster; nodes only mesh with nodes of the same cluster name.'),
  listen: field(list(listenAddrSchema, `TCP multiaddrs such as ${LISTEN_EXAMPLE}`, 32), D.DEFAULT_LISTEN_ADDRS,
    'Multiaddrs this node listens on (TCP only).'),
  bootstrap: field(list(bootstrapAddrSchema, `TCP multiaddrs of peers such as ${BOOTSTRAP_EXAMPLE}`, 256), D.DEFAULT_BOOTSTRAP_ADDRS,
    'Multiaddrs of peers dialled at start to join the mesh (TCP, ending in /p2p/<peer id>).'),
  announce: field(list(announceAddrSchema, `TCP multiaddrs such as ${ANNOUNCE_EXAMPLE}`, 16), D.DEFAULT_ANNOUNCE_ADDRS,
    'Addresses advertised instead of the listen addresses: where others reach this node (a port-mapped host: the public address and published port). Relayed addresses are still added.'),
  noAnnounce: field(list(noAnnounceSchema, `address ranges such as ${NO_ANNOUNCE_EXAMPLE}`, 32), D.DEFAULT_NO_ANNOUNCE,
    'Address ranges never advertised (a container bridge, a VPN nobody else is on).'),
  mdns: field(bool(), D.DEFAULT_MDNS,
    'Find peers on the LAN by multicast DNS (only peers with the same swarm key connect); needs no bootstrap list on one LAN.'),
  upnp: field(bool(), D.DEFAULT_UPNP,
    'Ask the LAN\'s UPnP gateway (a home or office router) to publish the listen port, and advertise the mapped address; the router then lets in anyone who dials that port.'),
  relay: field(oneOf(['auto', 'off'] as const), D.DEFAULT_RELAY_MODE,
    '"auto": while peers can dial this node directly, relay for members; when they cannot, hold reservations on node.relayReservations relays and advertise the relayed addresses; "off": neither.'),
  relayReservations: field(int(1, 8, 'relays'), D.DEFAULT_RELAY_RESERVATIONS,
    'Relays a node that cannot be dialled directly holds a reservation on.'),
  relayMaxReservations: field(int(1, 10_000, 'reservations'), D.DEFAULT_RELAY_MAX_RESERVATIONS,
    'Reservations this node grants as a relay at most.'),
  relayMaxBytes: field(bytes(64 * 1_024), D.DEFAULT_RELAY_MAX_BYTES,
    'Bytes one connection relayed by this node carries before it is reset (a file larger than this is fetched from a holder reached directly).'),
  relayMaxDurationMs: field(ms(10_000), D.DEFAULT_RELAY_MAX_DURATION_MS,
    'Longest life of one connection relayed by this node; the peer manager dials a fresh one after it.'),
  swarmKeyFile: field(path(), {
    derivedText: `<dataDir>/${D.DEFAULT_SWARM_KEY_FILE_NAME}`,
    derive: ctx => join(String(ctx.get('node.dataDir')), D.DEFAULT_SWARM_KEY_FILE_NAME)
  }, 'Pre-shared key file of the private swarm. null means <dataDir>/swarm.key.'),
  logLevel: field(oneOf(logLevels), D.DEFAULT_LOG_LEVEL, 'Minimum level of log lines written.'),
  metricsPort: field(int(0, 65_535, 'TCP port'), D.DEFAULT_METRICS_PORT,
    'Port of the metrics endpoint; 0 turns it off.'),
  metricsHost: field(text(/^[0-9A-Za-z.:_-]+$/, 'an IP address or host name', 255), D.DEFAULT_METRICS_HOST,
    'Address the metrics endpoint listens on (0.0.0.0 for every interface).'),
  metricsHistoryIntervalMs: field(ms(0), D.DEFAULT_METRICS_HISTORY_INTERVAL_MS,
    'Between two samples of the metrics history kept in LevelDB (read by metrics() in the REPL); 0 keeps none.'),
  capabilities: field(
    nullable(list(z.enum(V.CAPABILITY_NAMES), `capabilities (${V.CAPABILITY_NAMES.join(', ')})`, V.CAPABILITY_NAMES.length), 'to derive them from the hardware'),
    D.DEFAULT_CAPABILITIES,
    'Work this node advertises; null derives it from the hardware (GPU node: selfplay, training, gauntlet, tournament, export; CPU node: selfplay, export, gauntlet).'),
  leaderEligible: field(bool(), D.DEFAULT_LEADER_ELIGIBLE, 'Whether this node may become leader.'),
  cpuPowerMultiplier: field(num(0, 100, 'multiplier', true), D.DEFAULT_CPU_POWER_MULTIPLIER,
    'Multiplier of this node\'s CPU power score (cpuCount × multiplier).')
}
