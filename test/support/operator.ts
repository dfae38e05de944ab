/**
 * An operator key for test clusters, and cluster settings signed with it through a node's control
 * ops — as `riftmesh settings set --operator-key` does (draft, check, sign here, send back).
 * `jobCommands` counts only when an operator signed it, so every cluster that runs its own
 * job scripts is started with `operatorArgs` and sets them with `signedSetting`.
 */
import { join } from 'node:path'
import type { EntrySigner } from '../../src/state/entry-sig.js'
import { loadOperatorKey, writeOperatorKey } from '../../src/repl/operator-key.js'
import { signedSettingChange } from '../../src/repl/operator-sign.js'

export interface TestOperator {
  file: string
  signer: EntrySigner
  /** Node flags that make this key the cluster's trust root. */
  args: string[]
}

/** A new operator key in `dir` (`operator.key`). */
export async function testOperator (dir: string): Promise<TestOperator> {
  const file = join(dir, 'operator.key')
  await writeOperatorKey(file)
  const signer = await loadOperatorKey(file)
  return { file, signer, args: ['--set', `trust.operators=${signer.id}`] }
}

interface Requester { request: (op: string, args?: Record<string, unknown>) => Promise<unknown> }

/** Set (`value` null: unset) a cluster setting on `node`, signed by the operator. */
export async function signedSetting (node: Requester, op: TestOperator, name: string, value: unknown, force = false): Promise<void> {
  await signedSettingChange(async (o, a) => await node.request(o, a), op.signer, { name, value, force })
}
