/**
 * Building blocks of the config schema. Each value type carries its zod schema together with
 * the text that error messages and `describeConfig()` show for it, so the check and its
 * description cannot drift apart, plus the `kind` that says how a string from an environment
 * variable or a flag is parsed.
 */
import { z } from 'zod'

/** How a string (env var, flag) becomes a value: see `parseText` in ./parse.ts. */
export type ValueKind = 'int' | 'number' | 'boolean' | 'string' | 'list' | 'numberMap' | 'json'

/** Deeply readonly view of a value. */
export type Frozen<T> = T extends ReadonlyArray<infer U>
  ? ReadonlyArray<Frozen<U>>
  : T extends object ? { readonly [K in keyof T]: Frozen<T[K]> } : T

export interface ValueType<S extends z.ZodType> {
  readonly schema: S
  readonly kind: ValueKind
  /** The expected form, as shown in a ConfigError ("an integer ≥ 1 (milliseconds, …)"). */
  readonly expected: string
  readonly unit: string | null
  /** `null` is accepted (and the string "null" from env/flags means null). */
  readonly nullable: boolean
  /** Fixed entry names of a `numberMap`, for typo suggestions and per-entry env vars. */
  readonly subKeys: readonly string[] | null
  /** A `numberMap` given by a higher layer is merged entry by entry over the lower one. */
  readonly mergeEntries: boolean
  /** A path: `~/` expands to the home dir and relative paths resolve against the working dir. */
  readonly isPath: boolean
}

/** What a derived default may look at: the working dir, the home dir and keys resolved so far. */
export interface DeriveContext {
  readonly cwd: string
  readonly homeDir: string | null
  get: (key: string) => unknown
}

/** A default computed at load time (e.g. the data dir under the home dir). */
export interface DerivedDefault {
  readonly derivedText: string
  readonly derive: (ctx: DeriveContext) => string
}

export interface FieldSpec<S extends z.ZodType = z.ZodType> extends ValueType<S> {
  readonly description: string
  readonly default: Frozen<z.output<S>> | DerivedDefault
}

export function isDerived (value: unknown): value is DerivedDefault {
  return typeof value === 'object' && value !== null && 'derive' in value
}

export function field<S extends z.ZodType> (
  type: ValueType<S>, defaultValue: Frozen<z.output<S>> | DerivedDefault, description: string
): FieldSpec<S> {
  return { ...type, default: defaultValue, description }
}

type Shape<F> = { [K in keyof F]: F[K] extends FieldSpec<infer S> ? S : never }

/** The strict zod object of one section. */
export function sectionSchema<F extends Record<string, FieldSpec<z.ZodType>>> (fields: F): z.ZodObject<Shape<F>, z.core.$strict> {
  const shape: Record<string, z.ZodType> = {}
  for (const [name, spec] of Object.entries(fields)) shape[name] = spec.schema
  return z.strictObject(shape as Shape<F>)
}

/** Longest timer Node accepts (setTimeout overflows above 2^31 − 1 ms and fires at once). */
export const MAX_TIMER_MS = 2_147_483_647

const base = { unit: null, nullable: false, subKeys: null, mergeEntries: false, isPath: false } as const

/** A duration in milliseconds. */
export function ms (min = 1): ValueType<z.ZodNumber> {
  return {
    ...base,
    schema: z.number().int().min(min).max(MAX_TIMER_MS),
    kind: 'int',
    unit: 'ms',
    expected: `an integer ≥ ${min} (milliseconds, at most ${MAX_TIMER_MS} ≈ 24.8 days)`
  }
}

/** A size in bytes. */
export function bytes (min = 1): ValueType<z.ZodNumber> {
  return { ...base, schema: z.number().int().min(min), kind: 'int', unit: 'bytes', expected: `an integer ≥ ${min} (bytes)` }
}

/** A whole number from `min` to `max` (no upper bound when `max` is omitted). */
export function int (min: number, max?: number, unit: string | null = null): ValueType<z.ZodNumber> {
  const range = max === undefined ? `≥ ${min}` : `from ${min} to ${max}`
  const schema = max === undefined ? z.number().int().min(min) : z.number().int().min(min).max(max)
  return { ...base, schema, kind: 'int', unit, expected: `an integer ${range}${unit !== null ? ` (${unit})` : ''}` }
}

/** A finite number; `minExclusive` makes the lower bound strict. */
export function num (min: number, max: number, unit: string | null = null, minExclusive = false): ValueType<z.ZodNumber> {
  const lower = minExclusive ? z.number().gt(min) : z.number().min(min)
  const range = minExclusive ? `> ${min} and ≤ ${max}` : `from ${min} to ${max}`
  return { ...base, schema: lower.max(max), kind: 'number', unit, expected: `a number ${range}${unit !== null ? ` (${unit})` : ''}` }
}

/** A percentage 0–100. */
export function percent (): ValueType<z.ZodNumber> {
  return num(0, 100, 'percent')
}

export function bool (): ValueType<z.ZodBoolean> {
  return { ...base, schema: z.boolean(), kind: 'boolean', expected: 'true or false (env and flags: true, false, 1 or 0)' }
}

export function oneOf<const T extends readonly [string, ...string[]]> (values: T): ValueType<z.ZodEnum<{ [K in T[number]]: K }>> {
  return { ...base, schema: z.enum(values), kind: 'string', expected: `one of ${values.map(v => `"${v}"`).join(', ')}` }
}

/** A string matching `pattern`, described by `expected`. */
export function text (pattern: RegExp, expected: string, maxChars = 256): ValueType<z.ZodString> {
  return { ...base, schema: z.string().max(maxChars).regex(pattern), kind: 'string', expected }
}

/** A file system path; relative paths and `~/` are resolved by the loader. */
export function path (): ValueType<z.ZodString> {
  return { ...base, schema: z.string().min(1).max(4_096), kind: 'string', isPath: true, expected: 'a non-empty path (relative to the working directory, or ~/…)' }
}

/** Make a value type accept null. */
export function nullable<S extends z.ZodType> (type: ValueType<S>, meaning: string): ValueType<z.ZodNullable<S>> {
  return { ...type, schema: type.schema.nullable(), nullable: true, expected: `${type.expected}, or null ${meaning}` }
}

/** A list of strings (comma-separated in env and flags), duplicates refused. */
export function list<S extends z.ZodType<string>> (item: S, itemText: string, maxItems: number): ValueType<z.ZodArray<S>> {
  const schema = z.array(item).max(maxItems).refine(a => new Set(a).size === a.length, 'duplicate entries')
  return { ...base, schema, kind: 'list', expected: `a list of at most ${maxItems} distinct ${itemText} (comma-separated in env and flags)` }
}

/** An object with exactly the entries `keys`, each a number checked by `value`. Merged entry by entry. */
export function fixedMap<const K extends readonly [string, ...string[]]> (
  keys: K, value: ValueType<z.ZodNumber>, what: string
): ValueType<z.ZodObject<{ [P in K[number]]: z.ZodNumber }, z.core.$strict>> {
  const shape = Object.fromEntries(keys.map(k => [k, value.schema])) as { [P in K[number]]: z.ZodNumber }
  return {
    ...base,
    schema: z.strictObject(shape),
    kind: 'numberMap',
    unit: value.unit,
    subKeys: keys,
    mergeEntries: true,
    expected: `an object mapping ${what} (${keys.join(', ')}) to ${value.expected} (env and flags: name=value,…)`
  }
}

/** An open object of name → number (names checked by `keyPattern`), merged entry by entry. */
export function openMap (keyPattern: RegExp, keyText: string, value: ValueType<z.ZodNumber>, maxEntries: number): ValueType<z.ZodRecord<z.ZodString, z.ZodNumber>> {
  const schema = z.record(z.string().min(1).max(64).regex(keyPattern), value.schema)
    .refine(r => Object.keys(r).length <= maxEntries, `more than ${maxEntries} entries`)
  return {
    ...base,
    schema,
    kind: 'numberMap',
    unit: value.unit,
    mergeEntries: true,
    expected: `an object of at most ${maxEntries} entries mapping ${keyText} to ${value.expected} (env and flags: name=value,…)`
  }
}

/** A structured value written as JSON in env and flags. */
export function json<S extends z.ZodType> (schema: S, expected: string, unit: string | null = null): ValueType<S> {
  return { ...base, schema, kind: 'json', unit, expected: `${expected} (JSON in env and flags)` }
}
