import { writeSwarmKey } from '../../mesh/keys.js'
import { ConfigError } from '../../core/errors.js'
import type { FlagSpec, ParsedArgs } from '../args.js'

export const keygenFlags: readonly FlagSpec[] = [
  { name: 'swarm-key', key: null, help: 'where to write the new swarm key (mode 0600)' },
  { name: 'force', key: null, boolean: true, help: 'replace an existing file' }
]

export const keygenHelp = `riftmesh keygen --swarm-key FILE [--force]

Write a new private-network swarm key. Every node of one cluster must use the same file;
nodes with another key cannot connect or read anything.`

export async function runKeygen (args: ParsedArgs, out: (s: string) => void): Promise<number> {
  const path = args.values.get('swarm-key')
  if (typeof path !== 'string') throw new ConfigError('--swarm-key', 'a file path', 'missing')
  await writeSwarmKey(path, { force: args.values.get('force') === true })
  out(`wrote swarm key ${path}`)
  return 0
}
