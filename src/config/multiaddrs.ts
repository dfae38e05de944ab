/**
 * Listen and bootstrap addresses, checked when the config is loaded rather than when libp2p
 * trips over them: each must parse as a multiaddr, use TCP (the only transport a node runs),
 * and a bootstrap address must name its peer (`/p2p/<peer id>`). Pure functions returning the
 * problem in words, or null.
 */
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { z } from 'zod'
import { errorMessage } from '../core/errors.js'

export const LISTEN_EXAMPLE = '/ip4/0.0.0.0/tcp/4100'
export const BOOTSTRAP_EXAMPLE = '/ip4/10.0.0.5/tcp/4100/p2p/12D3KooW…'

const LISTEN_HOSTS = new Set(['ip4', 'ip6'])
const DIAL_HOSTS = new Set(['ip4', 'ip6', 'dns', 'dns4', 'dns6'])

function parse (text: string): { addr: Multiaddr } | { problem: string } {
  if (!text.startsWith('/')) return { problem: 'not a multiaddr (it starts with "/", like /ip4/<address>/tcp/<port>)' }
  try {
    return { addr: multiaddr(text) }
  } catch (err) {
    return { problem: `not a valid multiaddr: ${errorMessage(err)}` }
  }
}

/** The protocol names of `addr` in order, with their values. */
function parts (addr: Multiaddr): Array<{ name: string, value: string | undefined }> {
  return addr.getComponents().map(c => ({ name: c.name, value: c.value }))
}

/** Why `text` cannot be a listen address (`/ip4|ip6/<addr>/tcp/<port>`), or null. */
export function listenAddrProblem (text: string): string | null {
  const p = parse(text)
  if ('problem' in p) return p.problem
  const [host, transport, ...rest] = parts(p.addr)
  if (host === undefined || !LISTEN_HOSTS.has(host.name)) return `a node listens on an /ip4 or /ip6 address, e.g. ${LISTEN_EXAMPLE}`
  if (transport?.name !== 'tcp' || rest.length > 0) return `riftmesh listens on TCP only (/${host.name}/<address>/tcp/<port>, e.g. ${LISTEN_EXAMPLE})`
  return null
}

/** Why `text` cannot be a bootstrap address (`/ip4|ip6|dns…/<host>/tcp/<port>/p2p/<peer id>`), or null. */
export function bootstrapAddrProblem (text: string): string | null {
  const p = parse(text)
  if ('problem' in p) return p.problem
  const list = parts(p.addr)
  const [host, transport] = list
  const last = list[list.length - 1]
  if (host === undefined || !DIAL_HOSTS.has(host.name) || transport?.name !== 'tcp') {
    return `riftmesh joins over TCP only: /ip4|ip6|dns/<host>/tcp/<port>/p2p/<peer id>, e.g. ${BOOTSTRAP_EXAMPLE}`
  }
  if (last?.name !== 'p2p' || list.length !== 3) {
    return `a bootstrap address ends in /p2p/<peer id> (the peer-id line the node prints at start), e.g. ${BOOTSTRAP_EXAMPLE}`
  }
  try {
    peerIdFromString(last.value ?? '')
  } catch {
    return `"${last.value ?? ''}" after /p2p/ is not a peer id (12D3KooW… or Qm…, as the node prints it)`
  }
  return null
}

export const ANNOUNCE_EXAMPLE = '/ip4/203.0.113.7/tcp/41000'
export const NO_ANNOUNCE_EXAMPLE = '/ip4/172.16.0.0/ipcidr/12'

/** Why `text` cannot be an announced address (`/ip4|ip6|dns…/<host>/tcp/<port>`, no peer id), or null. */
export function announceAddrProblem (text: string): string | null {
  const p = parse(text)
  if ('problem' in p) return p.problem
  const [host, transport, ...rest] = parts(p.addr)
  if (host === undefined || !DIAL_HOSTS.has(host.name) || transport?.name !== 'tcp' || rest.length > 0) {
    return `an announced address is where others dial this node over TCP: /ip4|ip6|dns/<host>/tcp/<port>, e.g. ${ANNOUNCE_EXAMPLE}`
  }
  if (host.value === '0.0.0.0' || host.value === '::') return `announce the address others dial (e.g. ${ANNOUNCE_EXAMPLE}), not ${host.value}`
  return null
}

/** Why `text` cannot be an address range never to announce (`/ip4|ip6/<net>/ipcidr/<bits>`), or null. */
export function noAnnounceProblem (text: string): string | null {
  const p = parse(text)
  if ('problem' in p) return p.problem
  const list = parts(p.addr)
  const [host, cidr] = list
  const max = host?.name === 'ip4' ? 32 : 128
  if (host === undefined || !LISTEN_HOSTS.has(host.name) || list.length > 2 || (cidr !== undefined && cidr.name !== 'ipcidr')) {
    return `an address range is /ip4|ip6/<network>/ipcidr/<prefix bits>, e.g. ${NO_ANNOUNCE_EXAMPLE}`
  }
  if (cidr !== undefined && !(Number(cidr.value) >= 0 && Number(cidr.value) <= max)) return `the prefix after /ipcidr/ is 0..${max} bits`
  return null
}

/** A string schema whose issue message is `problem(text)`. */
function checked (problem: (text: string) => string | null): z.ZodType<string> {
  return z.string().max(512).superRefine((text, ctx) => {
    const why = problem(text)
    if (why !== null) ctx.addIssue({ code: 'custom', message: why })
  })
}

/** A listen multiaddr (TCP). */
export const listenAddrSchema = checked(listenAddrProblem)
/** A bootstrap multiaddr (TCP, ending in /p2p/<peer id>). */
export const bootstrapAddrSchema = checked(bootstrapAddrProblem)
/** An announced multiaddr (TCP, no peer id). */
export const announceAddrSchema = checked(announceAddrProblem)
/** An address range never announced (`/ip4/<net>/ipcidr/<bits>`). */
export const noAnnounceSchema = checked(noAnnounceProblem)
