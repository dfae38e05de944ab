/**
 * Strict flags of the workload scripts: `--name value` or `--name=value`, each at most once;
 * an unknown flag, a positional argument, a missing value, a repeated flag or a malformed
 * number is a `UsageError` (the script exits 2). An empty value is refused unless the flag
 * allows it (`--baseline ''` means "no baseline model").
 */
import { UsageError } from './errors.js'

export interface FlagDef {
  name: string
  help: string
  kind: 'string' | 'int'
  required?: boolean
  /** The value may be ''. */
  allowEmpty?: boolean
  /** Bounds of an int flag (inclusive). */
  min?: number
  max?: number
}

export type FlagValues = ReadonlyMap<string, string | number>

function parseValue (def: FlagDef, raw: string): string | number {
  if (raw === '' && def.allowEmpty !== true) throw new UsageError(`--${def.name}`, 'needs a non-empty value')
  if (def.kind === 'string') return raw
  if (!/^-?\d+$/.test(raw)) throw new UsageError(`--${def.name}`, `expected an integer, got ${JSON.stringify(raw.slice(0, 40))}`)
  const n = Number(raw)
  const min = def.min ?? Number.MIN_SAFE_INTEGER
  const max = def.max ?? Number.MAX_SAFE_INTEGER
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`--${def.name}`, `expected an integer in ${min}..${max}, got ${raw}`)
  return n
}

export function parseFlags (argv: readonly string[], defs: readonly FlagDef[]): FlagValues {
  const byName = new Map(defs.map(d => [d.name, d]))
  const out = new Map<string, string | number>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (!arg.startsWith('--')) throw new UsageError(JSON.stringify(arg.slice(0, 40)), 'unexpected argument (flags are --name value)')
    const eq = arg.indexOf('=')
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2)
    const def = byName.get(name)
    if (def === undefined) throw new UsageError(`--${name}`, `unknown flag (known: ${defs.map(d => `--${d.name}`).join(', ')})`)
    if (out.has(name)) throw new UsageError(`--${name}`, 'given twice')
    let raw: string | undefined
    if (eq > 0) {
      raw = arg.slice(eq + 1)
    } else {
      raw = argv[++i]
      if (raw === undefined || raw.startsWith('--')) throw new UsageError(`--${name}`, 'missing value')
    }
    out.set(name, parseValue(def, raw))
  }
  for (const d of defs) if (d.required === true && !out.has(d.name)) throw new UsageError(`--${d.name}`, 'required')
  return out
}

/** A string flag's value ('' when absent and not required). */
export function str (flags: FlagValues, name: string): string {
  const v = flags.get(name)
  return typeof v === 'string' ? v : v === undefined ? '' : String(v)
}

/** An int flag's value, or `fallback` when absent. */
export function int (flags: FlagValues, name: string, fallback: number): number {
  const v = flags.get(name)
  return typeof v === 'number' ? v : fallback
}

/** Help lines for flag definitions. */
export function flagsHelp (defs: readonly FlagDef[]): string {
  const w = Math.max(...defs.map(d => d.name.length)) + 2
  return defs.map(d => `  --${d.name.padEnd(w)}${d.required === true ? '(required) ' : ''}${d.help}`).join('\n')
}
