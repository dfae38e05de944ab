/**
 * Text → value for environment variables and string flags, by the key's kind, and "did you
 * mean" suggestions for unknown keys. Pure functions; a bad string is a ConfigError naming the
 * key, the expected form and where the string came from.
 */
import { ConfigError } from '../core/errors.js'
import { CONFIG_KEYS, CONFIG_SECTIONS, envVarName, type ConfigKeyMeta } from './schema.js'

/** How a value is shown in an error: JSON, cut to 80 characters. */
export function showValue (value: unknown): string {
  const shown = value === undefined ? 'nothing' : JSON.stringify(value) ?? String(value)
  return shown.length > 80 ? `${shown.slice(0, 77)}...` : shown
}

/** The flag of a source that is a flag of its own (`flag "--log-level"` → `--log-level`); undefined for `--set KEY`, env vars, files. */
export function flagOf (source: string): string | undefined {
  return /^flag "(--[a-z][a-z0-9-]*)"$/.exec(source)?.[1]
}

/**
 * A bad value, named the way the user gave it: by its flag when it came from a flag of its own
 * (`flag "--log-level": … (got "loud"; --log-level sets node.logLevel)`), else by its key and
 * where it came from (`config "node.logLevel": … (got "loud" from env RIFTMESH_NODE_LOG_LEVEL)`).
 * `why`, when given, says more about what is wrong with the value.
 */
export function valueError (key: string, expected: string, value: unknown, source: string, why?: string, options?: { cause?: unknown }): ConfigError {
  const more = why !== undefined ? `: ${why}` : ''
  const flag = flagOf(source)
  if (flag !== undefined) return new ConfigError(flag, expected, `got ${showValue(value)}${more}; ${flag} sets ${key}`, options)
  return new ConfigError(key, expected, `got ${showValue(value)} from ${source}${more}`, options)
}

function bad (key: string, meta: ConfigKeyMeta, raw: string, source: string, why?: string): ConfigError {
  return valueError(key, meta.expected, raw, source, why)
}

/** A number from text (`1_000` allowed); undefined when it is not one. */
export function parseNumber (raw: string, integer: boolean): number | undefined {
  const t = raw.trim().replaceAll('_', '')
  const pattern = integer ? /^[+-]?\d+$/ : /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/
  if (!pattern.test(t)) return undefined
  const n = Number(t)
  return Number.isFinite(n) ? n : undefined
}

function parseMap (key: string, meta: ConfigKeyMeta, raw: string, source: string): Record<string, unknown> {
  const t = raw.trim()
  if (t.startsWith('{')) {
    const value = parseJson(key, meta, raw, source)
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad(key, meta, raw, source)
    return value as Record<string, unknown>
  }
  const out: Record<string, unknown> = {}
  for (const pair of t.split(',').map(p => p.trim()).filter(p => p !== '')) {
    const eq = pair.indexOf('=')
    const name = pair.slice(0, eq).trim()
    const n = eq > 0 ? parseNumber(pair.slice(eq + 1), false) : undefined
    if (name === '' || n === undefined) throw bad(key, meta, raw, source, `"${pair}" is not name=number`)
    out[name] = n
  }
  return out
}

function parseJson (key: string, meta: ConfigKeyMeta, raw: string, source: string): unknown {
  try {
    return JSON.parse(raw)
  } catch (err) {
    throw valueError(key, meta.expected, raw, source, 'not valid JSON', { cause: err })
  }
}

/** Parse `raw` for `meta`'s key: integers, numbers, booleans (true/false/1/0), lists (comma-separated), maps, JSON, strings. */
export function parseText (meta: ConfigKeyMeta, raw: string, source: string): unknown {
  const key = meta.key
  const t = raw.trim()
  if (meta.acceptsNull && (t === 'null' || (t === '' && meta.spec.kind === 'string'))) return null
  switch (meta.spec.kind) {
    case 'int':
    case 'number': {
      const n = parseNumber(t, meta.spec.kind === 'int')
      if (n === undefined) throw bad(key, meta, raw, source)
      return n
    }
    case 'boolean': {
      const lower = t.toLowerCase()
      if (lower === 'true' || lower === '1') return true
      if (lower === 'false' || lower === '0') return false
      throw bad(key, meta, raw, source)
    }
    case 'list':
      return t === '' ? [] : t.split(',').map(s => s.trim()).filter(s => s !== '')
    case 'numberMap':
      return parseMap(key, meta, raw, source)
    case 'json':
      return parseJson(key, meta, raw, source)
    case 'string':
      return t
  }
}

/** Parse one entry of a number map (`jobs.maxRuntimeMs.selfplay`). */
export function parseEntry (meta: ConfigKeyMeta, entry: string, raw: string, source: string): number {
  const n = parseNumber(raw, false)
  if (n === undefined) throw bad(`${meta.key}.${entry}`, meta, raw, source)
  return n
}

/** Edit distance (insert, delete, substitute, swap of neighbours), case-insensitive. */
export function editDistance (a: string, b: string): number {
  const s = a.toLowerCase()
  const t = b.toLowerCase()
  const d: number[][] = Array.from({ length: s.length + 1 }, (_, i) => Array.from({ length: t.length + 1 }, (_, j) => i === 0 ? j : j === 0 ? i : 0))
  for (let i = 1; i <= s.length; i++) {
    for (let j = 1; j <= t.length; j++) {
      const row = d[i] as number[]
      const up = d[i - 1] as number[]
      const cost = s[i - 1] === t[j - 1] ? 0 : 1
      let best = Math.min((up[j] as number) + 1, (row[j - 1] as number) + 1, (up[j - 1] as number) + cost)
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) best = Math.min(best, (d[i - 2] as number[])[j - 2] as number + 1)
      row[j] = best
    }
  }
  return (d[s.length] as number[])[t.length] as number
}

const lastSegment = (key: string): string => key.slice(key.lastIndexOf('.') + 1)
const parentOf = (key: string): string => key.slice(0, Math.max(0, key.lastIndexOf('.')))

/**
 * The known key closest to `unknown`, or null when none is close. A key is close when the whole
 * key is a few edits away, or when its last segment is (so `mesh.deadAfterMs` finds
 * `health.deadAfterMs`).
 */
export function suggestKey (unknown: string, candidates: Iterable<string>): string | null {
  const limit = Math.max(2, Math.floor(lastSegment(unknown).length / 3))
  let best: string | null = null
  let bestScore = Infinity
  for (const candidate of candidates) {
    const whole = editDistance(unknown, candidate)
    const sameParent = parentOf(unknown).toLowerCase() === parentOf(candidate).toLowerCase()
    const segment = editDistance(lastSegment(unknown), lastSegment(candidate)) + (sameParent ? 0 : 1)
    const score = Math.min(whole, segment)
    if (score <= limit && score < bestScore) {
      best = candidate
      bestScore = score
    }
  }
  return best
}

/** Every name a file or flag may use: sections, keys and fixed map entries. */
export function knownKeyPaths (): string[] {
  const out: string[] = Object.keys(CONFIG_SECTIONS)
  for (const meta of CONFIG_KEYS.values()) {
    out.push(meta.key)
    for (const sub of meta.spec.subKeys ?? []) out.push(`${meta.key}.${sub}`)
  }
  return out
}

/** The key names of `section` (its part after the dot), in table order. */
function sectionKeyNames (section: string): string[] {
  return [...CONFIG_KEYS.values()].filter(m => m.section === section).map(m => m.key.slice(section.length + 1))
}

/**
 * A ConfigError for a key that does not exist, with a suggestion when one is close. A key under
 * a known section lists that section's keys; a dotted key is never "corrected" to a bare section.
 */
export function unknownKeyError (key: string, source: string): ConfigError {
  const parent = parentOf(key)
  const meta = CONFIG_KEYS.get(parent)
  const expected = parent === ''
    ? `a section name (${Object.keys(CONFIG_SECTIONS).join(', ')})`
    : meta !== undefined
      ? meta.spec.subKeys !== null ? `an entry of ${parent} (${meta.spec.subKeys.join(', ')})` : `${parent} set as a whole`
      : Object.hasOwn(CONFIG_SECTIONS, parent)
        ? `a key of section "${parent}" (${sectionKeyNames(parent).join(', ')})`
        : parent.includes('.') ? `a key of section "${parent.slice(0, parent.indexOf('.'))}"` : `a key under a section (${Object.keys(CONFIG_SECTIONS).join(', ')})`
  const candidates = knownKeyPaths().filter(k => k !== key && (parent === '' || k.includes('.')))
  const suggestion = suggestKey(key, candidates)
  return new ConfigError(key, expected, `unknown key in ${source}${suggestion !== null ? `; did you mean "${suggestion}"?` : ''}`)
}

/** Where an environment variable points: a key, or one entry of a fixed number map. */
export interface EnvTarget {
  readonly meta: ConfigKeyMeta
  readonly entry: string | null
}

function buildEnvIndex (): ReadonlyMap<string, EnvTarget> {
  const index = new Map<string, EnvTarget>()
  for (const meta of CONFIG_KEYS.values()) {
    index.set(meta.env, { meta, entry: null })
    for (const sub of meta.spec.subKeys ?? []) index.set(envVarName(`${meta.key}.${sub}`), { meta, entry: sub })
  }
  return index
}

/** Env var name → what it sets. */
export const ENV_INDEX: ReadonlyMap<string, EnvTarget> = buildEnvIndex()
