/**
 * Which addresses a node advertises and which of another node's addresses it dials, and why a
 * dial failed — pure functions over multiaddr strings.
 *
 * A node listening on 0.0.0.0 has every interface address, loopback included. Loopback and
 * link-local addresses mean "this machine" to whoever dials them, so advertising them sends
 * every other node to itself (the star-mesh defect). They are advertised only when the node has
 * nothing else: a cluster whose nodes all run on one machine.
 *
 * A relayed address (`/ip4/<relay>/tcp/<port>/p2p/<relay>/p2p-circuit/p2p/<node>`) reaches the
 * node through a relay; it is dialled only after the node's direct addresses.
 */
import { BlockList, isIP } from 'node:net'

const IP_RE = /^\/(ip4|ip6)\/([^/]+)(\/|$)/

/** The IP of a multiaddr (`/ip4/10.0.0.5/tcp/4100` → `10.0.0.5`), or undefined for other kinds. */
export function ipOf (addr: string): string | undefined {
  return IP_RE.exec(addr)?.[2]
}

export function isLoopback (addr: string): boolean {
  const ip = ipOf(addr)
  return ip !== undefined && (ip.startsWith('127.') || ip === '::1')
}

export function isLinkLocal (addr: string): boolean {
  const ip = ipOf(addr)?.toLowerCase()
  return ip !== undefined && (ip.startsWith('169.254.') || /^fe[89ab][0-9a-f]:/.test(ip))
}

export function isUnspecified (addr: string): boolean {
  const ip = ipOf(addr)
  return ip === '0.0.0.0' || ip === '::'
}

/** Usable only on this machine (or this link). */
export function isLocalOnly (addr: string): boolean {
  return isLoopback(addr) || isLinkLocal(addr)
}

/**
 * The addresses to tell other nodes: the listen addresses minus unspecified ones, and minus
 * loopback and link-local ones unless nothing else is left. Order kept.
 */
export function advertisable (addrs: readonly string[]): string[] {
  const specified = addrs.filter(a => !isUnspecified(a))
  const remote = specified.filter(a => !isLocalOnly(a))
  return remote.length > 0 ? remote : specified
}

/** Reaches its node through a circuit relay. */
export function isRelayed (addr: string): boolean {
  return addr.includes('/p2p-circuit')
}

/** A list of address ranges (`/ip4/<net>/ipcidr/<bits>`, or one address) and a test for them. */
export function rangeMatcher (ranges: readonly string[]): (addr: string) => boolean {
  if (ranges.length === 0) return () => false
  const list = new BlockList()
  for (const r of ranges) {
    const m = /^\/(ip4|ip6)\/([^/]+)(?:\/ipcidr\/(\d+))?$/.exec(r)
    if (m === null) throw new RangeError(`not an address range: ${r} (expected /ip4/<net>/ipcidr/<bits>)`)
    const family = m[1] === 'ip4' ? 'ipv4' : 'ipv6'
    if (m[3] === undefined) list.addAddress(m[2] as string, family)
    else list.addSubnet(m[2] as string, Number(m[3]), family)
  }
  return addr => {
    if (isRelayed(addr)) return false // a relayed address is judged by the relay, not this node
    const ip = ipOf(addr)
    const v = ip === undefined ? 0 : isIP(ip)
    return v !== 0 && list.check(ip as string, v === 4 ? 'ipv4' : 'ipv6')
  }
}

export interface AnnounceRules {
  /** `node.announce`: when not empty, these replace the direct addresses the node listens on. */
  announce: readonly string[]
  /** `node.noAnnounce`: address ranges never advertised. */
  noAnnounce: readonly string[]
  /** Leave relayed addresses out (the node is dialled directly: a relay would only be a detour). @default false */
  dropRelayed?: boolean
}

/**
 * What a node advertises: its announced addresses instead of its direct listen addresses when it
 * has any (relayed addresses are kept unless `dropRelayed`), minus the ranges never to
 * advertise, then {@link advertisable}. Order kept.
 */
export function announcedAddrs (addrs: readonly string[], rules: AnnounceRules): string[] {
  const denied = rangeMatcher(rules.noAnnounce)
  const announced = new Set(rules.announce)
  const base = rules.announce.length > 0 ? addrs.filter(a => isRelayed(a) || announced.has(a.replace(/\/p2p\/[^/]+$/, ''))) : addrs
  return advertisable(base.filter(a => !denied(a) && !(rules.dropRelayed === true && isRelayed(a))))
}

/** The peer id in a multiaddr's trailing `/p2p/<peer>`, or undefined. */
export function peerIdOf (addr: string): string | undefined {
  return /\/p2p\/([^/]+)$/.exec(addr)?.[1]
}

/** `addr` with `/p2p/<peer>` appended when it has no peer id. */
export function withPeerId (addr: string, peer: string): string {
  return /\/p2p\/[^/]+$/.test(addr) ? addr : `${addr}/p2p/${peer}`
}

/**
 * The addresses to dial for another node, best first, each with its peer id: what it advertised
 * (minus unspecified addresses, other nodes' peer ids, and loopback/link-local ones when it has
 * others — those would reach this machine, not that node), duplicates removed, direct addresses
 * before relayed ones. At most `max`.
 */
export function dialAddrs (peer: string, addrs: readonly string[], max = 16): string[] {
  const own = addrs.filter(a => isRelayed(a) ? (a.endsWith('/p2p-circuit') || a.endsWith(`/p2p-circuit/p2p/${peer}`)) : (!a.includes('/p2p/') || a.endsWith(`/p2p/${peer}`)))
  const all = [...new Set(advertisable(own).map(a => withPeerId(a, peer)))]
  return [...all.filter(a => !isRelayed(a)), ...all.filter(a => isRelayed(a))].slice(0, max)
}

/** Why a dial failed, in words an operator can act on. */
export type DialCause = 'swarm-key' | 'peer-id' | 'refused' | 'unreachable' | 'timeout' | 'self' | 'cluster-name' | 'other'

export const DIAL_CAUSE_HINTS: Readonly<Record<DialCause, string>> = {
  'swarm-key': 'the private-network handshake failed: the other side most likely has another swarm key (or is not a riftmesh node)',
  'peer-id': 'another node answers at that address: the /p2p/ peer id in the address is not the one listening there',
  refused: 'nothing listens at that address and port (connection refused)',
  unreachable: 'no route to that address (host or network unreachable)',
  timeout: 'no answer within the dial timeout (host down, firewalled, or packets dropped)',
  self: 'that address is this node itself',
  'cluster-name': 'the node there belongs to another cluster (another node.clusterName), so this node hung up on it: give both the same node.clusterName, or join through a node of this cluster',
  other: 'the dial failed'
}

/**
 * Classify a dial error from its name and message chain (libp2p 3's wording: a pnet mismatch
 * shows as an EncryptionFailedError with a reset, a wrong /p2p/ id as "Payload identity key X
 * does not match expected remote identity key Y"; when X is this node, the address led back here).
 */
export function dialCause (err: unknown, selfId?: string): DialCause {
  const texts: string[] = []
  for (let e: unknown = err, i = 0; e !== undefined && e !== null && i < 6; i++) {
    if (e instanceof Error) {
      texts.push(`${e.name}: ${e.message}`)
      const agg = (e as { errors?: unknown }).errors
      if (Array.isArray(agg)) for (const x of agg.slice(0, 8)) if (x instanceof Error) texts.push(`${x.name}: ${x.message}`)
      e = (e as { cause?: unknown }).cause
    } else {
      texts.push(String(e))
      break
    }
  }
  const t = texts.join(' | ')
  if (selfId !== undefined && selfId !== '' && t.includes(`Payload identity key ${selfId} `)) return 'self'
  if (/dial(l)?ing? (to )?self|cannot dial self|DialToSelf|Tried to dial self/i.test(t)) return 'self'
  if (/does not match expected remote identity key|UnexpectedPeer|unexpected peer/i.test(t)) return 'peer-id'
  if (/ECONNREFUSED/.test(t)) return 'refused'
  if (/EHOSTUNREACH|ENETUNREACH|EADDRNOTAVAIL|no valid addresses/i.test(t)) return 'unreachable'
  if (/EncryptionFailed|InvalidCryptoExchange|psk|pnet|nonce|ECONNRESET|EPIPE|decrypt/i.test(t)) return 'swarm-key'
  if (/timed? ?out|TimeoutError|AbortError|aborted/i.test(t)) return 'timeout'
  return 'other'
}
