/**
 * Operator authority. The trust root — the operator public keys (as Ed25519 peer id strings) a
 * node is started with — and the `trust` map of the control document: an operator-signed log of
 * changes to it (add or remove an operator key, revoke or reinstate a peer). The log is applied in
 * (seq, key) order from the root; an entry counts only if its signer is an operator at that point,
 * so a removed key's later entries — and anything signed by a key never added — change nothing.
 * Removing the last operator key changes nothing either: the CLI refuses it, and a reader does
 * not take it from a hand-signed entry.
 * Pure functions here; ClusterState holds the map.
 */

export { TRUST_ACTIONS, trustEntrySchema, type TrustAction, type TrustEntry } from './schema.js'
import type { TrustEntry } from './schema.js'

/** `<seq, 12 digits>/<signer>`: one key per signer and sequence number. */
export function trustKey (seq: number, signer: string): string {
  return `${String(seq).padStart(12, '0')}/${signer}`
}

export function trustKeyCheck (key: string, v: TrustEntry): string | null {
  return key.startsWith(`${String(v.seq).padStart(12, '0')}/`) ? null : 'key is not <seq>/<signer>'
}

export interface TrustState {
  operators: ReadonlySet<string>
  revoked: ReadonlySet<string>
}

export interface SignedTrustEntry { key: string, entry: TrustEntry, signer: string }

/** The operators and revoked peers after applying `log` (signatures already checked) to `root`; `ignored` counts the entries that changed nothing. */
export function resolveTrust (root: readonly string[], log: readonly SignedTrustEntry[]): TrustState & { ignored: number } {
  const operators = new Set(root)
  const revoked = new Set<string>()
  let ignored = 0
  const ordered = [...log].sort((a, b) => a.entry.seq - b.entry.seq || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  for (const { entry, signer } of ordered) {
    if (!operators.has(signer)) { ignored++; continue }
    switch (entry.action) {
      case 'add-operator': operators.add(entry.target); break
      case 'remove-operator':
        // never the last key: without one any member could change cluster settings again
        if (operators.size === 1 && operators.has(entry.target)) ignored++
        else operators.delete(entry.target)
        break
      case 'revoke': revoked.add(entry.target); break
      case 'reinstate': revoked.delete(entry.target); break
    }
  }
  return { operators, revoked, ignored }
}

/** The sequence number a new trust entry needs to come after every one seen. */
export function nextTrustSeq (log: readonly SignedTrustEntry[]): number {
  let max = 0
  for (const e of log) max = Math.max(max, e.entry.seq)
  return max + 1
}
