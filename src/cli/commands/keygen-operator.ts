/** `riftmesh keygen --operator FILE` and `--operator-id FILE`: make an operator key, or name one. */
import { ConfigError } from '../../core/errors.js'
import { loadOperatorKey, operatorKeyModeWarning, writeOperatorKey } from '../../repl/operator-key.js'
import type { ParsedArgs } from '../args.js'

/** How to put an operator id into the trust root (printed after keygen --operator). */
export function trustRootHint (id: string): string {
  return `add it to trust.operators on every node (config file: trust: { operators: [${id}] }, or --set trust.operators=${id}), ` +
    'then sign cluster changes with --operator-key FILE; keep FILE off the cluster\'s machines'
}

/** Runs the operator forms of keygen; null when neither flag was given (a swarm key is wanted). */
export async function runOperatorKeygen (args: ParsedArgs, out: (s: string) => void, workTreeWarning: (path: string) => string | null): Promise<number | null> {
  const write = args.values.get('operator')
  const show = args.values.get('operator-id')
  if (write === undefined && show === undefined) return null
  if (write !== undefined && show !== undefined) throw new ConfigError('--operator', 'either --operator FILE or --operator-id FILE, not both')
  if (args.values.get('swarm-key') !== undefined) throw new ConfigError('--swarm-key', 'no --swarm-key with --operator or --operator-id (one key per call)')
  if (args.values.get('force') === true) throw new ConfigError('--force', 'no --force with an operator key: an operator key is never overwritten (move the old file away first)')
  if (typeof write === 'string') {
    const id = await writeOperatorKey(write)
    out(`wrote operator key ${write}`)
    out(`operator id: ${id}`)
    out(trustRootHint(id))
    const warning = workTreeWarning(write)
    if (warning !== null) process.stderr.write(`${warning}\n`)
    return 0
  }
  if (typeof show !== 'string') throw new ConfigError('--operator-id', 'a file path')
  const signer = await loadOperatorKey(show)
  out(signer.id)
  const warning = await operatorKeyModeWarning(show)
  if (warning !== null) process.stderr.write(`riftmesh keygen: ${warning}\n`)
  return 0
}
