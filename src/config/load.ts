/**
 * Loading the configuration: defaults < file < environment < flags. `resolveConfig` is the
 * pure part (layers in, config out); `loadConfig` reads the file and the process environment.
 */
import { readFile, stat } from 'node:fs/promises'
import { homedir } from 'node:os'
import { extname, join, resolve } from 'node:path'
import YAML from 'yaml'
import type { z } from 'zod'
import { ConfigError, errorMessage } from '../core/errors.js'
import { checkConfig, type ValueOrigin } from './checks.js'
import { CONFIG_FILE_ENV, ENV_PREFIX, MAX_CONFIG_FILE_BYTES } from './defaults.js'
import { ENV_INDEX, parseEntry, parseText, showValue, suggestKey, unknownKeyError, valueError, flagOf } from './parse.js'
import {
  CONFIG_KEYS, CONFIG_SECTIONS, configSchema, defaultValues, keyMetaOf,
  type ConfigKeyMeta, type DefaultsContext, type RiftmeshConfig
} from './schema.js'

/** The inputs of `resolveConfig`, lowest precedence first. */
export interface ConfigLayers {
  /** A parsed config file (sections of keys), e.g. from `readConfigFile`. */
  file?: unknown
  /** Where `file` came from, for messages. @default 'config file' */
  fileLabel?: string
  /** Environment; `RIFTMESH_*` variables set keys, others are ignored. */
  env?: Readonly<Record<string, string | undefined>>
  /** Flat dotted keys (`'mesh.coalesceWindowMs': '20'`); strings are parsed like env values. */
  flags?: Readonly<Record<string, unknown>>
  /**
   * How the user wrote each of `flags` (`--metrics-port`, `--set health.deadAfterMs`), so that a
   * message names the flag typed rather than the key. @default the dotted key
   */
  flagLabels?: Readonly<Record<string, string>>
}

/** Where relative paths and derived defaults resolve. */
export type ResolveContext = DefaultsContext

/** Something in the input that was ignored but should be told to the user. */
export interface ConfigWarning {
  readonly envVar: string
  readonly suggestion: string | null
  readonly message: string
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/** User-given values per key, merged layer by layer, with where each came from. */
class Layers implements ValueOrigin {
  readonly values = new Map<string, unknown>()
  private readonly sources = new Map<string, string>()

  set (meta: ConfigKeyMeta, value: unknown, source: string): void {
    const below = this.values.get(meta.key) ?? meta.spec.default
    if (meta.spec.mergeEntries && isPlainObject(value) && isPlainObject(below)) {
      this.values.set(meta.key, { ...below, ...value })
      for (const entry of Object.keys(value)) this.sources.set(`${meta.key}.${entry}`, source)
    } else {
      this.values.set(meta.key, value)
      for (const k of this.sources.keys()) if (k.startsWith(`${meta.key}.`)) this.sources.delete(k)
    }
    this.sources.set(meta.key, source)
  }

  setEntry (meta: ConfigKeyMeta, entry: string, value: unknown, source: string): void {
    this.set(meta, { [entry]: value }, source)
    this.sources.set(`${meta.key}.${entry}`, source)
  }

  isUserSet = (key: string): boolean => this.sources.has(key)

  sourceOf = (path: string): string => {
    const parts = path.split('.')
    for (let n = parts.length; n >= 2; n--) {
      const source = this.sources.get(parts.slice(0, n).join('.'))
      if (source !== undefined) return source
    }
    return 'default'
  }
}

function applyFile (layers: Layers, doc: unknown, source: string): void {
  if (doc === null || doc === undefined) return
  if (!isPlainObject(doc)) {
    throw new ConfigError('file', `a mapping of sections (${Object.keys(CONFIG_SECTIONS).join(', ')})`, `${source} holds ${showValue(doc)}`)
  }
  for (const [section, body] of Object.entries(doc)) {
    if (!Object.hasOwn(CONFIG_SECTIONS, section)) throw unknownKeyError(section, source)
    if (body === null) continue
    if (!isPlainObject(body)) throw new ConfigError(section, `an object of "${section}" keys`, `got ${showValue(body)} from ${source}`)
    for (const [name, value] of Object.entries(body)) {
      const meta = CONFIG_KEYS.get(`${section}.${name}`)
      if (meta === undefined) throw unknownKeyError(`${section}.${name}`, source)
      const subKeys = meta.spec.subKeys
      if (subKeys !== null && isPlainObject(value)) {
        for (const entry of Object.keys(value)) if (!subKeys.includes(entry)) throw unknownKeyError(`${meta.key}.${entry}`, source)
      }
      layers.set(meta, value, source)
    }
  }
}

function applyEnv (layers: Layers, env: Readonly<Record<string, string | undefined>>): void {
  for (const [name, raw] of Object.entries(env)) {
    if (raw === undefined) continue
    const target = ENV_INDEX.get(name)
    if (target === undefined) continue
    const source = `env ${name}`
    if (target.entry === null) layers.set(target.meta, parseText(target.meta, raw, source), source)
    else layers.setEntry(target.meta, target.entry, parseEntry(target.meta, target.entry, raw, source), source)
  }
}

function applyFlags (layers: Layers, flags: Readonly<Record<string, unknown>>, labels: Readonly<Record<string, string>>): void {
  for (const [flag, value] of Object.entries(flags)) {
    if (value === undefined) continue
    const label = Object.hasOwn(labels, flag) ? labels[flag] : undefined
    const source = `flag "${label ?? flag}"`
    const meta = CONFIG_KEYS.get(flag)
    if (meta !== undefined) {
      layers.set(meta, typeof value === 'string' ? parseText(meta, value, source) : value, source)
      continue
    }
    if (!flag.includes('.')) throw new ConfigError(flag, 'a dotted key such as "health.deadAfterMs"', `unknown key in ${label ?? 'flags'}`)
    const owner = keyMetaOf(flag)
    const entry = owner !== undefined ? flag.slice(owner.key.length + 1) : ''
    const entryOk = owner?.spec.kind === 'numberMap' && (owner.spec.subKeys === null || owner.spec.subKeys.includes(entry))
    if (owner === undefined || !entryOk) throw unknownKeyError(flag, label ?? 'flags')
    layers.setEntry(owner, entry, typeof value === 'string' ? parseEntry(owner, entry, value, source) : value, source)
  }
}

function resolvePath (meta: ConfigKeyMeta, value: unknown, ctx: ResolveContext, layers: Layers): unknown {
  if (typeof value !== 'string' || value === '') return value
  let p = value
  if (p === '~' || p.startsWith('~/')) {
    if (ctx.homeDir == null) {
      throw new ConfigError(meta.key, meta.expected, `got ${showValue(value)} from ${layers.sourceOf(meta.key)} but no home directory is known`)
    }
    p = join(ctx.homeDir, p.slice(1))
  }
  return resolve(ctx.cwd, p)
}

function toNested (values: ReadonlyMap<string, unknown>): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {}
  for (const [key, value] of values) {
    const meta = CONFIG_KEYS.get(key) as ConfigKeyMeta
    const [section, name] = [meta.section, key.slice(meta.section.length + 1)]
    out[section] ??= {}
    out[section][name] = value
  }
  return out
}

function issueError (issue: z.core.$ZodIssue, nested: unknown, layers: Layers): ConfigError {
  const path = issue.path.map(String).join('.')
  const meta = keyMetaOf(path)
  if (issue.code === 'unrecognized_keys') {
    return new ConfigError(`${path}.${issue.keys[0] ?? ''}`, meta?.expected ?? 'a known key', `unknown field from ${layers.sourceOf(path)}`)
  }
  let value: unknown = nested
  for (const part of issue.path) value = (value as Record<PropertyKey, unknown> | undefined)?.[part]
  const why = issue.code === 'custom' ? issue.message : issue.code === 'invalid_key' ? 'invalid entry name' : undefined
  // a list's entry (node.listen.0) is named by its place; its flag by the list's key
  const source = layers.sourceOf(path)
  return valueError(flagOf(source) !== undefined && meta !== undefined ? meta.key : path, meta?.expected ?? 'a valid value', value, source, why)
}

function deepFreeze<T> (value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v)
    Object.freeze(value)
  }
  return value
}

/**
 * The configuration for these layers: defaults < file < env < flags. Pure: no I/O, and unknown
 * `RIFTMESH_*` env vars are ignored here (see `unknownEnvVars`). Throws a ConfigError naming the
 * dotted key and the expected form for a bad value, an unknown file or flag key, or a broken
 * rule across keys.
 */
export function resolveConfig (layers: ConfigLayers, ctx: ResolveContext): RiftmeshConfig {
  const given = new Layers()
  applyFile(given, layers.file, layers.fileLabel ?? 'config file')
  applyEnv(given, layers.env ?? {})
  applyFlags(given, layers.flags ?? {}, layers.flagLabels ?? {})
  const values = defaultValues(ctx, given.values)
  for (const [key, value] of values) {
    const meta = CONFIG_KEYS.get(key) as ConfigKeyMeta
    if (meta.spec.isPath) values.set(key, resolvePath(meta, value, ctx, given))
  }
  const nested = toNested(values)
  const parsed = configSchema.safeParse(nested)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw issue !== undefined ? issueError(issue, nested, given) : new ConfigError('config', 'a valid configuration', parsed.error.message)
  }
  const config = deepFreeze(parsed.data) as RiftmeshConfig
  checkConfig(config, given)
  return config
}

/** `RIFTMESH_*` variables that set no key, each with the closest known variable if any. */
export function unknownEnvVars (env: Readonly<Record<string, string | undefined>>): ConfigWarning[] {
  const warnings: ConfigWarning[] = []
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined || name === CONFIG_FILE_ENV || ENV_INDEX.has(name)) continue
    const suggestion = suggestKey(name, ENV_INDEX.keys())
    const hint = suggestion !== null ? `; did you mean ${suggestion}?` : ''
    warnings.push({ envVar: name, suggestion, message: `unknown environment variable ${name} ignored${hint}` })
  }
  return warnings
}

const FILE_FORMATS: Readonly<Record<string, 'json' | 'yaml'>> = { '.json': 'json', '.yaml': 'yaml', '.yml': 'yaml' }

/** Read and parse a JSON (.json) or YAML (.yaml, .yml) config file. Errors are ConfigErrors with key `file`. */
export async function readConfigFile (path: string, options: { signal?: AbortSignal } = {}): Promise<unknown> {
  const format = FILE_FORMATS[extname(path).toLowerCase()]
  if (format === undefined) throw new ConfigError('file', 'a path ending in .json, .yaml or .yml', `got ${path}`)
  let text: string
  try {
    const info = await stat(path)
    if (info.size > MAX_CONFIG_FILE_BYTES) {
      throw new ConfigError('file', `a file of at most ${MAX_CONFIG_FILE_BYTES} bytes`, `${path} has ${info.size} bytes`)
    }
    text = await readFile(path, { encoding: 'utf8', signal: options.signal })
  } catch (err) {
    if (err instanceof ConfigError) throw err
    options.signal?.throwIfAborted()
    throw new ConfigError('file', 'a readable JSON or YAML file', `${path}: ${errorMessage(err)}`, { cause: err })
  }
  try {
    if (format === 'json') return JSON.parse(text.replace(/^\uFEFF/, '')) as unknown
    return YAML.parse(text, { uniqueKeys: true, prettyErrors: true, maxAliasCount: 100 }) as unknown
  } catch (err) {
    throw new ConfigError('file', format === 'json' ? 'valid JSON' : 'valid YAML', `${path}: ${errorMessage(err)}`, { cause: err })
  }
}

export interface LoadConfigOptions {
  /** Config file (.json, .yaml, .yml). @default the RIFTMESH_CONFIG env var, else no file */
  file?: string
  /** @default process.env */
  env?: Readonly<Record<string, string | undefined>>
  /** Flat dotted keys, highest precedence. @default {} */
  flags?: Readonly<Record<string, unknown>>
  /** How each flag was written, for messages (see ConfigLayers). @default {} */
  flagLabels?: Readonly<Record<string, string>>
  /** Relative paths resolve against this. @default process.cwd() */
  cwd?: string
  /** Home dir for `~/` and the default data dir; null when there is none. @default os.homedir() */
  homeDir?: string | null
  signal?: AbortSignal
}

export interface LoadedConfig {
  readonly config: RiftmeshConfig
  readonly warnings: readonly ConfigWarning[]
  /** Absolute path of the file read, or null. */
  readonly file: string | null
}

/** Read the config file (if any) and resolve it with the environment and flags. */
export async function loadConfig (options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const cwd = options.cwd ?? process.cwd()
  const homeDir = options.homeDir !== undefined ? options.homeDir : (homedir() || null)
  const env = options.env ?? process.env
  const named = options.file ?? (env[CONFIG_FILE_ENV] !== '' ? env[CONFIG_FILE_ENV] : undefined)
  const file = named === undefined
    ? null
    : resolve(cwd, named === '~' || named.startsWith('~/') ? join(homeDir ?? '~', named.slice(1)) : named)
  const doc = file !== null ? await readConfigFile(file, { signal: options.signal }) : undefined
  const config = resolveConfig({ file: doc, fileLabel: `file ${file ?? ''}`, env, flags: options.flags, flagLabels: options.flagLabels }, { cwd, homeDir })
  return { config, warnings: unknownEnvVars(env), file }
}
