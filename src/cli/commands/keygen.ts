import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { writeSwarmKey } from '../../mesh/keys.js'
import { ConfigError } from '../../core/errors.js'
import type { FlagSpec, ParsedArgs } from '../args.js'
import { runOperatorKeygen } from './keygen-operator.js'

export const keygenFlags: readonly FlagSpec[] = [
  { name: 'swarm-key', key: null, help: 'where to write the new swarm key (mode 0600)' },
  { name: 'operator', key: null, help: 'where to write a new operator key (mode 0600); prints its operator id' },
  { name: 'operator-id', key: null, help: 'print the operator id of an existing operator key file' },
  { name: 'force', key: null, boolean: true, help: 'replace an existing file' }
]

export const keygenHelp = `riftmesh keygen --swarm-key FILE [--force] | --operator FILE | --operator-id FILE

Write a new private-network swarm key (mode 0600). Every node of one cluster must use the same
file; nodes with another key cannot connect or read anything, and whoever has the file can join.
Keep it out of version control: keygen warns when FILE is in a git work tree that does not
ignore it.

--operator FILE writes a new operator key (never over an existing file) and prints its operator
id: list that id in trust.operators on every node, and sign cluster changes with
--operator-key FILE. --operator-id FILE prints the id of an existing key.`

/** The git work tree holding `path`: the nearest directory above it with a `.git`, or null. */
export function gitWorkTree (path: string): string | null {
  for (let dir = dirname(resolve(path)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, '.git'))) return dir
    if (dirname(dir) === dir) return null
  }
}

/**
 * The warning for a key written where version control may pick it up: inside a git work tree
 * that does not ignore it (or where git cannot say), else null.
 */
export function keyInWorkTreeWarning (path: string): string | null {
  const tree = gitWorkTree(path)
  if (tree === null) return null
  const ignored = spawnSync('git', ['-C', tree, 'check-ignore', '--quiet', resolve(path)], { stdio: 'ignore' })
  if (ignored.status === 0) return null
  return `riftmesh keygen: warning: ${path} is in the git work tree ${tree}, which does not ignore it; keep *.key out of version control (add it to .gitignore, or keep the key elsewhere)`
}

export async function runKeygen (args: ParsedArgs, out: (s: string) => void): Promise<number> {
  const operator = await runOperatorKeygen(args, out, keyInWorkTreeWarning)
  if (operator !== null) return operator
  const path = args.values.get('swarm-key')
  if (typeof path !== 'string') throw new ConfigError('--swarm-key', 'a file path (or --operator FILE for an operator key)', 'missing')
  await writeSwarmKey(path, { force: args.values.get('force') === true })
  out(`wrote swarm key ${path}`)
  const warning = keyInWorkTreeWarning(path)
  if (warning !== null) process.stderr.write(`${warning}\n`)
  return 0
}
