/**
 * Control ops of the trust log (`riftmesh operators`, `revoke`, `reinstate`, status): the trust in
 * effect, the sequence number a change needs, and storing a change an operator signed. The
 * operator key stays with the CLI or REPL; the node checks the signed entry as every reader does
 * (ClusterState.writeSigned) before it stores it.
 */
import { OwnershipError } from '../core/errors.js'
import type { ControlHandler } from '../repl/control.js'
import { ControlError } from '../repl/control.js'
import { isSigningId } from '../state/entry-sig.js'
import { TRUST_ACTIONS, type TrustAction } from '../state/trust.js'
import type { ClusterState } from '../state/cluster-state.js'
import { trustChangeIssue } from './trust-change.js'

type TrustParts = { state: ClusterState, store: { flush: () => Promise<void> }, heartbeat: { otherTrustRoots: () => string[] } }

/** Longest id accepted in a control op (the trust schema's limit). */
const MAX_ID_CHARS = 128

function idArg (args: Record<string, unknown>, key: string, op: string): string {
  const v = args[key]
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_ID_CHARS) throw new ControlError(`${op} needs ${key} (a peer id)`)
  return v
}

/** The trust in effect as the status and `operators list` show it. */
export function trustReport (state: ClusterState, otherTrustRoots: readonly string[] = []): { hasOperators: boolean, operators: string[], root: string[], revoked: string[], nextSeq: number, otherRoots: string[] } {
  const t = state.trust()
  return {
    /** Peers alive that were started with another trust root (their heartbeats say so). */
    otherRoots: [...otherTrustRoots],
    hasOperators: t.operators.size > 0,
    operators: [...t.operators].sort(),
    root: [...state.operatorsRoot],
    revoked: [...t.revoked].sort(),
    nextSeq: state.nextTrustSeq()
  }
}

export function trustControlHandlers (p: TrustParts): Record<string, ControlHandler> {
  return {
    trust: async () => trustReport(p.state, p.heartbeat.otherTrustRoots()),
    /** Check a change `{action, target, by}` and answer the sequence number its entry needs. */
    trustDraft: async args => {
      const action = args.action
      if (typeof action !== 'string' || !(TRUST_ACTIONS as readonly string[]).includes(action)) throw new ControlError(`trustDraft needs an action: ${TRUST_ACTIONS.join(', ')}`)
      const change = { action: action as TrustAction, target: idArg(args, 'target', 'trustDraft'), by: idArg(args, 'by', 'trustDraft') }
      const issue = trustChangeIssue(change, p.state.trust(), isSigningId)
      if (issue !== null) throw new ControlError(issue)
      return { seq: p.state.nextTrustSeq() }
    },
    /** Store a trust entry an operator signed; answers the trust in effect after it. */
    writeSignedTrust: async args => {
      const key = args.key
      if (typeof key !== 'string' || key.length === 0 || key.length > 256) throw new ControlError('writeSignedTrust needs the key of the signed entry')
      try {
        p.state.writeSigned('trust', key, args.raw)
      } catch (err) {
        if (err instanceof OwnershipError) throw new ControlError(`signed trust entry refused: ${err.message}`)
        throw err
      }
      await p.store.flush()
      return trustReport(p.state, p.heartbeat.otherTrustRoots())
    }
  }
}
