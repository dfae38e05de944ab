/**
 * Command-line flags shared by the commands, mapped onto dotted config keys. Anything without a
 * dedicated flag can be set with `--set key=value` (repeatable).
 */
import { ConfigError } from '../core/errors.js'
import { suggestKey } from '../config/parse.js'

export interface FlagSpec {
  /** Flag name without dashes. */
  name: string
  /** The config key it sets, or null for flags the command reads itself. */
  key: string | null
  multiple?: boolean
  boolean?: boolean
  help: string
}

export const CONFIG_FLAGS: readonly FlagSpec[] = [
  { name: 'config', key: null, help: 'config file (JSON or YAML); also RIFTMESH_CONFIG' },
  { name: 'data-dir', key: 'node.dataDir', help: 'data directory (LevelDB, identity key, data files)' },
  { name: 'listen', key: 'node.listen', multiple: true, help: 'multiaddr to listen on (repeatable)' },
  { name: 'bootstrap', key: 'node.bootstrap', multiple: true, help: 'multiaddr of a peer to join through (repeatable)' },
  { name: 'announce', key: 'node.announce', multiple: true, help: 'multiaddr others dial this node on, advertised instead of the listen addresses (repeatable)' },
  { name: 'mdns', key: 'node.mdns', boolean: true, help: 'find peers with the same swarm key on the LAN (multicast DNS)' },
  { name: 'upnp', key: 'node.upnp', boolean: true, help: 'ask the LAN\'s UPnP router to publish the listen port (opens it to the internet)' },
  { name: 'swarm-key', key: 'node.swarmKeyFile', help: 'private-network swarm key file' },
  { name: 'log-level', key: 'node.logLevel', help: 'fatal | error | warn | info | debug | trace | silent' },
  { name: 'metrics-port', key: 'node.metricsPort', help: 'serve Prometheus metrics on this port (0 = off)' },
  { name: 'set', key: null, multiple: true, help: 'set any config key: --set health.deadAfterMs=8000 (repeatable)' }
]

export interface ParsedArgs {
  command: string | undefined
  positionals: string[]
  /** Values of flags by name (strings, string lists or booleans). */
  values: Map<string, string | string[] | boolean>
}

/** Parse `argv` (without node and script) against the given flags. Throws ConfigError on unknown or malformed flags. */
export function parseArgs (argv: readonly string[], specs: readonly FlagSpec[]): ParsedArgs {
  const byName = new Map(specs.map(s => [s.name, s]))
  const values = new Map<string, string | string[] | boolean>()
  const positionals: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1))
      break
    }
    if (!arg.startsWith('--')) {
      positionals.push(arg)
      continue
    }
    const eq = arg.indexOf('=')
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2)
    const spec = byName.get(name)
    if (spec === undefined) {
      const known = specs.map(s => `--${s.name}`)
      const near = suggestKey(`--${name}`, known)
      throw new ConfigError(`--${name}`, `one of ${known.join(', ')}`, `unknown flag${near !== null ? `; did you mean ${near}?` : ''}`)
    }
    if (spec.boolean === true) {
      values.set(name, eq > 0 ? arg.slice(eq + 1) !== 'false' : true)
      continue
    }
    let value: string | undefined = eq > 0 ? arg.slice(eq + 1) : argv[i + 1]
    if (eq < 0) i++
    if (value === undefined || (eq < 0 && value.startsWith('--'))) {
      throw new ConfigError(`--${name}`, 'a value', 'missing')
    }
    if (spec.multiple === true) {
      const cur = values.get(name)
      values.set(name, [...(Array.isArray(cur) ? cur : []), value])
    } else {
      values.set(name, value)
    }
  }
  const [command, ...rest] = positionals
  return { command, positionals: rest, values }
}

/** The dotted-key flags layer for `loadConfig` from parsed flags. */
export function configFlags (parsed: ParsedArgs, specs: readonly FlagSpec[] = CONFIG_FLAGS): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const spec of specs) {
    const v = parsed.values.get(spec.name)
    if (v === undefined || spec.key === null) continue
    out[spec.key] = v
  }
  const sets = parsed.values.get('set')
  for (const s of Array.isArray(sets) ? sets : []) {
    const eq = s.indexOf('=')
    if (eq <= 0) throw new ConfigError('--set', 'key=value, e.g. --set health.deadAfterMs=8000', `got ${JSON.stringify(s)}`)
    out[s.slice(0, eq)] = s.slice(eq + 1)
  }
  return out
}

/** How the user wrote each key of `configFlags(parsed)`: `--metrics-port`, `--set health.deadAfterMs`. */
export function configFlagLabels (parsed: ParsedArgs, specs: readonly FlagSpec[] = CONFIG_FLAGS): Record<string, string> {
  const out: Record<string, string> = {}
  for (const spec of specs) {
    if (spec.key !== null && parsed.values.has(spec.name)) out[spec.key] = `--${spec.name}`
  }
  const sets = parsed.values.get('set')
  for (const s of Array.isArray(sets) ? sets : []) {
    const eq = s.indexOf('=')
    if (eq > 0) out[s.slice(0, eq)] = `--set ${s.slice(0, eq)}`
  }
  return out
}

export function flagHelp (specs: readonly FlagSpec[]): string {
  const width = Math.max(...specs.map(s => s.name.length)) + 2
  return specs.map(s => `  --${s.name.padEnd(width)}${s.help}`).join('\n')
}
