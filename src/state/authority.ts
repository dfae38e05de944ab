/**
 * Who may write which entry — checked on read, for every entry, against its verified signer
 * (entry-sig.ts). A node writes only entries about itself; a voter only its grant; a leader
 * its own lease and certificate, and leader-only registers (models, training) only for an epoch
 * it holds; cluster settings and the trust log only an operator. A revoked signer may write
 * nothing. Pure functions of the entry and the trust context; the refusal reason is what the
 * reader counts.
 */
import { AB_TEST_SETTING_PREFIX, SETTING_JOB_COMMANDS } from './settings-registry.js'

export interface TrustContext {
  /**
   * Whether the cluster has operator keys (a trust root or a trust log). Without any, cluster-wide
   * authority is every member's, as before signed entries (status warns); authorship still holds.
   */
  hasOperators: () => boolean
  isOperator: (id: string) => boolean
  isRevoked: (id: string) => boolean
  /** Whether `nodeId` held `epoch` (a valid certificate of a majority of voters; always in epoch mode). */
  heldEpoch: (nodeId: string, epoch: number) => boolean
}

export type AuthorityReason = 'wrong-signer' | 'not-operator' | 'revoked' | 'no-epoch-authority'

/** The entry is about `owner` and must be signed by it. */
export function ownEntry (owner: string, signer: string, t: TrustContext): AuthorityReason | null {
  if (t.isRevoked(signer)) return 'revoked'
  return signer === owner ? null : 'wrong-signer'
}

/**
 * Settings that need an operator even in a cluster without operator keys: `jobCommands` makes
 * every node run a program, so no member may set it on its own authority.
 */
export const OPERATOR_ONLY_SETTINGS: ReadonlySet<string> = new Set([SETTING_JOB_COMMANDS])

/**
 * Settings registers: an operator's, except A/B test entries, which the test's owner node writes.
 * A cluster without operator keys takes them from any member, except the operator-only ones.
 */
export function settingAuthority (name: string, writer: string, signer: string, t: TrustContext): AuthorityReason | null {
  const own = ownEntry(writer, signer, t)
  if (own !== null) return own
  if (name.startsWith(AB_TEST_SETTING_PREFIX)) return null
  if (!t.hasOperators()) return OPERATOR_ONLY_SETTINGS.has(name) ? 'not-operator' : null
  return t.isOperator(signer) ? null : 'not-operator'
}

/** Leader-only registers (models, training records): the leader of the entry's epoch, or an operator. */
export function leaderRegisterAuthority (writer: string, epoch: number, signer: string, t: TrustContext): AuthorityReason | null {
  const own = ownEntry(writer, signer, t)
  if (own !== null) return own
  return !t.hasOperators() || t.isOperator(signer) || t.heldEpoch(signer, epoch) ? null : 'no-epoch-authority'
}
