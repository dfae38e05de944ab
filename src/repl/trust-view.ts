/**
 * The trust lines of `riftmesh status` and `riftmesh operators list`: the operator keys in effect,
 * the revoked peers, and warnings while the cluster has no operator key (any member holding the
 * swarm key can then change cluster settings, all but jobCommands) and while live peers run with
 * another trust root. From the control op's trust report (node/control-trust.ts).
 */

import { wrapText } from './format.js'

export interface TrustSummary {
  hasOperators: boolean
  operators: string[]
  revoked: string[]
  /** Peers alive that were started with another trust root (trust.operators). */
  otherRoots: string[]
}

/** The warning status prints while the cluster has no operator key. */
export const NO_OPERATOR_KEYS_WARNING = 'WARNING no operator keys: any member holding the swarm key can change cluster settings such as voters, and nobody can set jobCommands — see OPERATIONS \'Operator keys\''

/** The warning status prints while live peers run with another trust root than this node. */
export function otherRootsWarning (ids: readonly string[]): string {
  return `WARNING ${ids.length} node(s) were started with other operator keys (trust.operators) than this one: ${ids.join(', ')} — ` +
    'cluster settings one side accepts the other ignores; give every node the same trust.operators and restart it'
}

/** Ids shown in status: the first 12 characters at least (every Ed25519 id starts with 12D3KooW) and the last 6. */
function shortId (id: string): string {
  return id.length > 22 ? `${id.slice(0, 14)}…${id.slice(-6)}` : id
}

/** The trust report of a status reply (absent from a node older than operator keys). */
export function trustSummary (raw: unknown): TrustSummary | null {
  if (raw === null || typeof raw !== 'object') return null
  const t = raw as Record<string, unknown>
  const ids = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : [])
  return { hasOperators: t.hasOperators === true, operators: ids(t.operators), revoked: ids(t.revoked), otherRoots: ids(t.otherRoots) }
}

/** Lines for status (ids shortened) or for `operators list` (`full`: one whole id per line). */
export function trustLines (raw: unknown, options: { full?: boolean } = {}): string[] {
  const t = trustSummary(raw)
  if (t === null) return []
  const full = options.full === true
  const list = (ids: string[]): string => (full ? ids.map(id => `\n  ${id}`).join('') : ` (${ids.map(shortId).join(', ')})`)
  const lines: string[] = []
  if (t.otherRoots.length > 0) lines.push(otherRootsWarning(t.otherRoots.map(shortId)))
  if (!t.hasOperators) lines.push(NO_OPERATOR_KEYS_WARNING)
  else lines.push(`operators: ${t.operators.length}${list(t.operators)}`)
  lines.push(t.revoked.length === 0 ? 'revoked: none' : `revoked: ${t.revoked.length}${list(t.revoked)}`)
  return lines
}

/**
 * The status text with the trust lines: the no-operator-key warning first (it is the one thing a
 * reader must not miss), the operators and revoked peers after the rest.
 */
export function withTrustLines (statusText: string, raw: unknown, width = Infinity): string {
  const lines = trustLines(raw).flatMap(l => (Number.isFinite(width) ? wrapText(l, width) : [l]))
  const first = lines.findIndex(l => !l.startsWith('WARNING') && !l.startsWith('  '))
  const warning = first < 0 ? lines : lines.slice(0, first)
  const rest = first < 0 ? [] : lines.slice(first)
  return [...warning, statusText, ...rest].join('\n')
}
