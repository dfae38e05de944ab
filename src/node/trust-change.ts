/**
 * Whether an operator may make a change to the trust log now, from this node's view of it: a
 * pure function of the change, the signer and the trust in effect. The node asks it before it
 * hands out a sequence number; every reader still applies the log on its own (state/trust.ts).
 */
import type { TrustAction, TrustState } from '../state/trust.js'

export interface TrustChange {
  action: TrustAction
  /** The operator id or peer id the change is about. */
  target: string
  /** The operator id of the key that will sign it. */
  by: string
}

/** Why `change` cannot be made (one line, naming the fix), or null when it can. */
export function trustChangeIssue (change: TrustChange, trust: TrustState, isPeerId: (id: string) => boolean): string | null {
  const { action, target, by } = change
  if (!isPeerId(target)) return `${target} is not a peer id (an Ed25519 peer id, as riftmesh keygen --operator-id or riftmesh status prints it)`
  if (trust.operators.size === 0) {
    return 'this cluster has no operator keys yet: list the first operator id in trust.operators on every node (riftmesh keygen --operator prints it), then sign with that key'
  }
  if (!trust.operators.has(by)) return `operator key ${by} is not an operator of this cluster (never added, or removed): sign with a key riftmesh operators list shows`
  switch (action) {
    case 'add-operator':
      return trust.operators.has(target) ? `${target} is already an operator` : null
    case 'remove-operator':
      if (!trust.operators.has(target)) return `${target} is not an operator (riftmesh operators list shows them)`
      return trust.operators.size === 1
        ? `refused: ${target} is the last operator key, and without one any member could change cluster settings; add another first (riftmesh operators add ID)`
        : null
    case 'revoke':
      return trust.revoked.has(target) ? `${target} is already revoked` : null
    case 'reinstate':
      return trust.revoked.has(target) ? null : `${target} is not revoked`
  }
}
