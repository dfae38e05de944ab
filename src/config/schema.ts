/**
 * The configuration schema of a riftmesh node: one strict zod object per section, the resolved
 * `RiftmeshConfig` type, and the key table (dotted key → env var, expected form, unit,
 * description, default) that error messages, `describeConfig()` and the README table share.
 */
import { z } from 'zod'
import { isDerived, sectionSchema, type DeriveContext, type FieldSpec, type Frozen } from './fields.js'
import { ENV_PREFIX } from './defaults.js'
import { nodeFields } from './sections/node.js'
import { meshFields } from './sections/mesh.js'
import { healthFields } from './sections/health.js'
import { storeFields } from './sections/store.js'
import { jobsFields } from './sections/jobs.js'
import { electionFields } from './sections/election.js'
import { selectorFields } from './sections/selector.js'
import { schedulerFields } from './sections/scheduler.js'
import { trainingFields } from './sections/training.js'
import { syncFields } from './sections/sync.js'
import { trustFields } from './sections/trust.js'

/** Every section and its fields, in the order the config table lists them. */
export const CONFIG_SECTIONS = {
  node: nodeFields,
  mesh: meshFields,
  health: healthFields,
  store: storeFields,
  jobs: jobsFields,
  election: electionFields,
  selector: selectorFields,
  scheduler: schedulerFields,
  training: trainingFields,
  sync: syncFields,
  trust: trustFields
} as const
export type ConfigSection = keyof typeof CONFIG_SECTIONS

export const configSchema = z.strictObject({
  node: sectionSchema(nodeFields),
  mesh: sectionSchema(meshFields),
  health: sectionSchema(healthFields),
  store: sectionSchema(storeFields),
  jobs: sectionSchema(jobsFields),
  election: sectionSchema(electionFields),
  selector: sectionSchema(selectorFields),
  scheduler: sectionSchema(schedulerFields),
  training: sectionSchema(trainingFields),
  sync: sectionSchema(syncFields),
  trust: sectionSchema(trustFields)
})

/** The fully resolved configuration of a node: every key present, paths absolute. */
export type RiftmeshConfig = Frozen<z.output<typeof configSchema>>

/** One row of the key table. */
export interface ConfigKeyMeta {
  /** Dotted key, e.g. `health.deadAfterMs`. */
  readonly key: string
  readonly section: ConfigSection
  /** Environment variable, e.g. `RIFTMESH_HEALTH_DEAD_AFTER_MS`. */
  readonly env: string
  /** The expected form shown in a ConfigError. */
  readonly expected: string
  readonly unit: string | null
  readonly description: string
  /** null (from a file or flag, or "null" from env/flags) is accepted. */
  readonly acceptsNull: boolean
  readonly spec: FieldSpec
}

/** `deadAfterMs` → `DEAD_AFTER_MS`; digits stay with the word before them (`cpuStretch80` → `CPU_STRETCH80`). */
export function upperSnake (segment: string): string {
  return segment.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/[^A-Za-z0-9]+/g, '_').toUpperCase()
}

/** Env var of a dotted key: `health.deadAfterMs` → `RIFTMESH_HEALTH_DEAD_AFTER_MS`. */
export function envVarName (key: string): string {
  return ENV_PREFIX + key.split('.').map(upperSnake).join('_')
}

function buildKeyTable (): ReadonlyMap<string, ConfigKeyMeta> {
  const table = new Map<string, ConfigKeyMeta>()
  for (const [section, fields] of Object.entries(CONFIG_SECTIONS) as Array<[ConfigSection, Record<string, FieldSpec>]>) {
    for (const [name, spec] of Object.entries(fields)) {
      const key = `${section}.${name}`
      const derived = isDerived(spec.default) ? spec.default : null
      table.set(key, {
        key,
        section,
        env: envVarName(key),
        expected: derived !== null ? `${spec.expected}, or null for ${derived.derivedText}` : spec.expected,
        unit: spec.unit,
        description: spec.description,
        acceptsNull: spec.nullable || derived !== null,
        spec
      })
    }
  }
  return table
}

/** Every config key, in table order. */
export const CONFIG_KEYS: ReadonlyMap<string, ConfigKeyMeta> = buildKeyTable()

/** The key-table row of a dotted path, or of its longest known prefix (`jobs.maxRuntimeMs.selfplay` → `jobs.maxRuntimeMs`). */
export function keyMetaOf (path: string): ConfigKeyMeta | undefined {
  const parts = path.split('.')
  for (let n = parts.length; n >= 2; n--) {
    const meta = CONFIG_KEYS.get(parts.slice(0, n).join('.'))
    if (meta !== undefined) return meta
  }
  return undefined
}

/** Where derived defaults look: the working dir and the home dir (null when unknown). */
export interface DefaultsContext {
  readonly cwd: string
  readonly homeDir?: string | null
}

/**
 * The default of every key, derived ones computed for `ctx` (in table order, so a derived
 * default may use keys listed before it). `overrides` replaces keys before later ones derive.
 */
export function defaultValues (ctx: DefaultsContext, overrides: ReadonlyMap<string, unknown> = new Map()): Map<string, unknown> {
  const values = new Map<string, unknown>()
  const derive: DeriveContext = { cwd: ctx.cwd, homeDir: ctx.homeDir ?? null, get: key => values.get(key) }
  for (const [key, meta] of CONFIG_KEYS) {
    const given = overrides.get(key)
    if (given !== undefined && given !== null) values.set(key, given)
    else if (isDerived(meta.spec.default)) values.set(key, meta.spec.default.derive(derive))
    else values.set(key, given !== undefined ? given : structuredClone(meta.spec.default))
  }
  return values
}

/** A row of the config table (README, `riftmesh config --help`). */
export interface ConfigRow {
  readonly key: string
  readonly env: string
  /** The default value; for a derived default, its value for the given context (or null without one). */
  readonly default: unknown
  /** The default as shown to people, e.g. `300000 (5 min)` or `<homeDir>/.riftmesh`. */
  readonly defaultText: string
  readonly expected: string
  readonly unit: string | null
  readonly description: string
}

/** Every key with its default and description, in table order. */
export function describeConfig (ctx?: DefaultsContext): ConfigRow[] {
  const resolved = ctx !== undefined ? defaultValues(ctx) : null
  return [...CONFIG_KEYS.values()].map(meta => {
    const spec = meta.spec
    const derived = isDerived(spec.default) ? spec.default : null
    const value = derived !== null ? (resolved?.get(meta.key) ?? null) : spec.default
    return {
      key: meta.key,
      env: meta.env,
      default: value,
      defaultText: derived !== null && resolved === null ? derived.derivedText : formatValue(value, meta.unit),
      expected: meta.expected,
      unit: meta.unit,
      description: meta.description
    }
  })
}

const DURATIONS: Array<[number, string]> = [[86_400_000, 'd'], [3_600_000, 'h'], [60_000, 'min'], [1_000, 's']]
const SIZES: Array<[number, string]> = [[1_073_741_824, 'GiB'], [1_048_576, 'MiB'], [1_024, 'KiB']]

/** A value as text, with a readable hint for durations and sizes: `300000 (5 min)`. */
export function formatValue (value: unknown, unit: string | null): string {
  if (typeof value === 'number' && value > 0) {
    const scale = unit === 'ms' ? DURATIONS : unit === 'bytes' ? SIZES : []
    const hit = scale.find(([size]) => value >= size && value % size === 0)
    if (hit !== undefined) return `${value} (${value / hit[0]} ${hit[1]})`
  }
  return typeof value === 'string' ? value : JSON.stringify(value)
}
