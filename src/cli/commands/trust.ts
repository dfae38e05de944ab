/**
 * `riftmesh operators list|add ID|remove ID` and `riftmesh revoke|reinstate PEER_ID`: the trust
 * log, changed only by an entry an operator signs (here, with --operator-key FILE; the key never
 * leaves this machine) and checked by every node as it reads it.
 */
import { SystemClock, timestampMs } from '../../core/clock.js'
import { attach } from '../../repl/attach.js'
import { OPERATOR_KEY_NEEDED, OperatorKeyError, loadOperatorKey } from '../../repl/operator-key.js'
import { signedTrustChange } from '../../repl/operator-sign.js'
import { trustLines } from '../../repl/trust-view.js'
import type { TrustAction } from '../../state/trust.js'
import type { FlagSpec, ParsedArgs } from '../args.js'
import { UsageError, subcommandError } from '../usage.js'
import { inspectFlags, socketOf } from './inspect.js'
import { operatorKeyFlag, operatorKeyOf } from './settings-signing.js'

export const operatorsFlags: readonly FlagSpec[] = [...inspectFlags, operatorKeyFlag]
export const revokeFlags: readonly FlagSpec[] = [...inspectFlags, operatorKeyFlag, { name: 'reason', key: null, help: 'why (kept in the signed entry)' }]

export const operatorsHelp = `riftmesh operators list | add ID | remove ID  [--operator-key FILE] [--data-dir D | --socket S]

The operator keys whose signatures carry cluster-wide authority: the trust root (trust.operators
in each node's config) changed by the operator-signed trust log. add and remove are signed with
--operator-key FILE (or RIFTMESH_OPERATOR_KEY), a key that is an operator now. The last operator
key cannot be removed. To rotate a key: add the new one, re-sign every setting with it (a setting
counts only while its signer is an operator), then remove the old one, signed with the new one.`

export const revokeHelp = `riftmesh revoke PEER_ID [--reason TEXT] --operator-key FILE [--data-dir D | --socket S]
riftmesh reinstate PEER_ID --operator-key FILE [--data-dir D | --socket S]

Revoke a machine (a lost laptop, a rented host given back): every honest node refuses its
connections and hangs up on it, ignores every entry it signed and re-runs its jobs elsewhere.
reinstate undoes it. Both are signed with an operator key.`

function keyFileOf (args: ParsedArgs): string {
  const file = operatorKeyOf(args)
  if (file === undefined) throw new OperatorKeyError(OPERATOR_KEY_NEEDED.replace('cluster settings need', 'a trust change needs'))
  return file
}

async function change (args: ParsedArgs, action: TrustAction, target: string, reason: string | null): Promise<Record<string, unknown>> {
  const signer = await loadOperatorKey(keyFileOf(args))
  return await signedTrustChange(attach(socketOf(args)), signer, { action, target, reason, atMs: timestampMs(new SystemClock()) })
}

export async function runOperators (args: ParsedArgs, out: (s: string) => void): Promise<number> {
  const [verb = 'list', id, ...extra] = args.positionals
  const usage = 'riftmesh operators list | add ID | remove ID --operator-key FILE'
  const json = args.values.get('json') === true
  switch (verb) {
    case 'list': {
      if (id !== undefined) throw new UsageError('list takes no argument', usage)
      const t = await attach(socketOf(args))('trust') as Record<string, unknown>
      out(json ? JSON.stringify(t, null, 2) : [...trustLines(t, { full: true })].join('\n'))
      return 0
    }
    case 'add':
    case 'remove': {
      if (id === undefined || extra.length > 0) throw new UsageError(`${verb} takes one operator id`, usage)
      const t = await change(args, verb === 'add' ? 'add-operator' : 'remove-operator', id, null)
      out(json ? JSON.stringify(t) : `${verb === 'add' ? 'added' : 'removed'} operator ${id}; ${(t.operators as unknown[]).length} operator key(s) in effect`)
      return 0
    }
    default:
      throw subcommandError(verb, ['list', 'add', 'remove'], usage)
  }
}

function revokeCommand (action: 'revoke' | 'reinstate') {
  return async (args: ParsedArgs, out: (s: string) => void): Promise<number> => {
    const [id, ...extra] = args.positionals
    if (id === undefined || extra.length > 0) throw new UsageError(`${action} takes one peer id`, `riftmesh ${action} PEER_ID --operator-key FILE${action === 'revoke' ? ' [--reason TEXT]' : ''}`)
    const reason = args.values.get('reason')
    const t = await change(args, action, id, typeof reason === 'string' ? reason.slice(0, 512) : null)
    out(args.values.get('json') === true ? JSON.stringify(t) : `${action === 'revoke' ? 'revoked' : 'reinstated'} ${id}; ${(t.revoked as unknown[]).length} peer(s) revoked`)
    return 0
  }
}

export const runRevoke = revokeCommand('revoke')
export const runReinstate = revokeCommand('reinstate')
