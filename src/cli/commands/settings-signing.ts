/**
 * `riftmesh settings set|unset` with an operator key (`--operator-key FILE` or
 * RIFTMESH_OPERATOR_KEY): the change is drafted by the node, signed here, and sent back signed.
 * Without a key the unsigned change of before goes on in a cluster without operator keys, with a
 * warning; a cluster with operator keys refuses it (the node says so in one line).
 */
import { attach } from '../../repl/attach.js'
import { ControlError } from '../../repl/control.js'
import { loadOperatorKey, operatorKeyPath } from '../../repl/operator-key.js'
import { signedSettingChange, type SignedSettingResult } from '../../repl/operator-sign.js'
import type { FlagSpec, ParsedArgs } from '../args.js'

export const operatorKeyFlag: FlagSpec = { name: 'operator-key', key: null, help: 'sign the change with this operator key file (also RIFTMESH_OPERATOR_KEY)' }

/** The warning an unsigned change prints: the cluster has no operator keys. */
export const NO_OPERATORS_WARNING = 'warning: this cluster has no operator keys, so any member holding the swarm key can change cluster settings; ' +
  'configure trust.operators (see OPERATIONS \'Operator keys\')'

/** The operator key to sign with, if the flag or the environment names one. */
export function operatorKeyOf (args: ParsedArgs): string | undefined {
  return operatorKeyPath(args.values.get('operator-key'), process.env)
}

/** A signed set (`value`) or unset (`value` null); a refusal as unsafe says how to force it. */
export async function signedSettingsChange (socket: string, keyFile: string, change: { name: string, value: unknown, force: boolean }, forceHint: string): Promise<SignedSettingResult> {
  const signer = await loadOperatorKey(keyFile)
  try {
    return await signedSettingChange(attach(socket), signer, change)
  } catch (err) {
    if (err instanceof ControlError && err.remoteName === 'UnsafeSettingError') throw new ControlError(`${err.message}${forceHint}`)
    throw err
  }
}
