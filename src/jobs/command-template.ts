/**
 * Job commands are templates: an argv array (never a shell string) whose elements may hold
 * placeholders such as `{board}` or `--out={outputDir}`, expanded from a job's values. Expanded
 * values are inserted as they are, never re-expanded and never seen by a shell (the runner spawns
 * argv directly). `{{` and `}}` stand for literal braces.
 *
 * The default templates run the built-in workloads (`dist/src/workloads/<name>.js`) with the
 * Node that runs riftmesh (`process.execPath`); settings may replace them per job type.
 */
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { JobTypeName } from '../core/vocabulary.js'
import type { RunnerKind } from './engine-modes.js'
import { TemplateError } from './errors.js'

/** Placeholders every template may use. */
export const PLACEHOLDER_NAMES = [
  'jobId', 'jobType', 'board', 'players', 'config', 'engineMode', 'runner', 'games',
  'outputDir', 'modelPath', 'baselineModelPath', 'modelAPath', 'modelBPath', 'dataDir', 'workDir', 'seed'
] as const
export type PlaceholderName = typeof PLACEHOLDER_NAMES[number]

/** Most elements in a template (and its expansion). */
export const MAX_TEMPLATE_ARGS = 256
/** Longest element of a template or of an expanded command, in characters. */
export const MAX_ARG_CHARS = 32_768
/** Longest expanded command, all elements together, in characters. */
export const MAX_COMMAND_CHARS = 262_144

/** A command template: argv[0] is the executable (absolute, or looked up on the job's PATH). */
export type CommandTemplate = readonly string[]
/** A value for a placeholder; `null`/`undefined` count as missing. */
export type TemplateValue = string | number | boolean | null | undefined
export type TemplateValues = Readonly<Record<string, TemplateValue>>

export interface ExpandOptions {
  /** Placeholder names allowed besides `PLACEHOLDER_NAMES` (user settings may add their own). */
  extraPlaceholders?: readonly string[]
}

const NAME = /^[A-Za-z][A-Za-z0-9_]*$/
const TOKEN = /\{\{|\}\}|\{([^{}]*)\}|[{}]/g

type Part = { text: string } | { name: string }

/** Split one template element into literal text and placeholder names; malformed braces throw. */
function parseArg (arg: string, index: number): Part[] {
  const parts: Part[] = []
  let last = 0
  for (const m of arg.matchAll(TOKEN)) {
    const at = m.index
    if (at > last) parts.push({ text: arg.slice(last, at) })
    last = at + m[0].length
    if (m[0] === '{{') parts.push({ text: '{' })
    else if (m[0] === '}}') parts.push({ text: '}' })
    else if (m[1] !== undefined && NAME.test(m[1])) parts.push({ name: m[1] })
    else {
      throw new TemplateError(`template element ${index} ${JSON.stringify(arg)}: malformed placeholder at ${at} (write {{ or }} for a literal brace)`)
    }
  }
  if (last < arg.length) parts.push({ text: arg.slice(last) })
  return parts
}

function checkShape (template: CommandTemplate): void {
  if (template.length === 0) throw new TemplateError('template is empty: it needs at least the executable')
  if (template.length > MAX_TEMPLATE_ARGS) throw new TemplateError(`template has ${template.length} elements, more than ${MAX_TEMPLATE_ARGS}`)
  template.forEach((arg, i) => {
    if (arg.length > MAX_ARG_CHARS) throw new TemplateError(`template element ${i} is longer than ${MAX_ARG_CHARS} characters`)
  })
  if (template[0] === '') throw new TemplateError('template element 0 (the executable) is empty')
}

function knownSet (options: ExpandOptions): Set<string> {
  const known = new Set<string>(PLACEHOLDER_NAMES)
  for (const name of options.extraPlaceholders ?? []) {
    if (!NAME.test(name)) throw new TemplateError(`extra placeholder name ${JSON.stringify(name)} is not a name`, name)
    known.add(name)
  }
  return known
}

/**
 * Check a template without values (e.g. when settings are loaded): its shape and that every
 * placeholder is known. Returns the placeholder names it uses, in order of first use.
 */
export function templatePlaceholders (template: CommandTemplate, options: ExpandOptions = {}): string[] {
  checkShape(template)
  const known = knownSet(options)
  const used: string[] = []
  template.forEach((arg, i) => {
    for (const part of parseArg(arg, i)) {
      if (!('name' in part)) continue
      if (!known.has(part.name)) throw new TemplateError(`unknown placeholder {${part.name}} in template element ${i}`, part.name)
      if (!used.includes(part.name)) used.push(part.name)
    }
  })
  return used
}

function valueText (name: string, value: TemplateValue): string {
  if (value === undefined || value === null) throw new TemplateError(`no value for placeholder {${name}}`, name)
  if (typeof value === 'number' && !Number.isFinite(value)) throw new TemplateError(`value of {${name}} is not a finite number`, name)
  const text = String(value)
  if (text.includes('\0')) throw new TemplateError(`value of {${name}} contains a NUL character`, name)
  return text
}

/**
 * Expand a template into the argv to spawn. Throws `TemplateError` naming the placeholder for an
 * unknown placeholder or a missing value, and for malformed braces or results over the limits.
 */
export function expandTemplate (template: CommandTemplate, values: TemplateValues, options: ExpandOptions = {}): string[] {
  checkShape(template)
  const known = knownSet(options)
  const argv: string[] = []
  let total = 0
  template.forEach((arg, i) => {
    let out = ''
    for (const part of parseArg(arg, i)) {
      if ('text' in part) {
        out += part.text
        continue
      }
      if (!known.has(part.name)) throw new TemplateError(`unknown placeholder {${part.name}} in template element ${i}`, part.name)
      out += valueText(part.name, Object.hasOwn(values, part.name) ? values[part.name] : undefined)
    }
    if (out.length > MAX_ARG_CHARS) throw new TemplateError(`expanded element ${i} is longer than ${MAX_ARG_CHARS} characters`)
    total += out.length
    argv.push(out)
  })
  if (total > MAX_COMMAND_CHARS) throw new TemplateError(`expanded command is longer than ${MAX_COMMAND_CHARS} characters`)
  return argv
}

/** What a job contributes to its template values. */
export interface JobTemplateInput {
  jobId: string
  type: JobTypeName
  /** Board configuration `<board>_<players>p` (e.g. `hex8_3p`); gives {config}, {board} and {players}. */
  config?: string | null
  engineMode?: string | null
  runner?: RunnerKind | null
  dataDir: string
  workDir: string
  outputDir: string
  /** The dispatch's spec: `games`, `modelPath`, `baselineModelPath`, `modelAPath`, `modelBPath`, `seed`, and any user keys. */
  spec?: Readonly<Record<string, TemplateValue>>
}

const CONFIG_KEY = /^([a-z][a-z0-9]*)_(\d+)p$/

/**
 * Template values of a job. Spec keys come first so the job's own fields (ids, paths, config)
 * always win over a spec entry of the same name.
 */
export function templateValuesForJob (input: JobTemplateInput): Record<string, TemplateValue> {
  const values: Record<string, TemplateValue> = { ...(input.spec ?? {}) }
  values.jobId = input.jobId
  values.jobType = input.type
  values.dataDir = input.dataDir
  values.workDir = input.workDir
  values.outputDir = input.outputDir
  // a selfplay dispatch of an older leader carries no modelPath: no model, as it always meant
  if (input.type === 'selfplay' && values.modelPath === undefined) values.modelPath = ''
  if (input.engineMode !== undefined && input.engineMode !== null) values.engineMode = input.engineMode
  if (input.runner !== undefined && input.runner !== null) values.runner = input.runner
  if (input.config !== undefined && input.config !== null) {
    values.config = input.config
    const m = CONFIG_KEY.exec(input.config)
    if (m !== null) {
      values.board = m[1]
      values.players = m[2]
    }
  }
  return values
}

/**
 * Where the built-in workloads are: `<package>/dist/src/workloads`, found from this module's
 * own location whether it runs from `dist/src/jobs/` (built) or `src/jobs/` (tests, tsx).
 */
export function workloadsDir (moduleUrl: string = import.meta.url): string {
  const srcDir = dirname(dirname(fileURLToPath(moduleUrl)))
  const root = dirname(srcDir)
  return basename(root) === 'dist' ? join(srcDir, 'workloads') : join(root, 'dist', 'src', 'workloads')
}

/** Absolute path of a built-in workload script. */
export function workloadPath (name: string): string {
  return join(workloadsDir(), `${name}.js`)
}

function selfplay (runner: RunnerKind): CommandTemplate {
  return [
    process.execPath, workloadPath('selfplay'), '--job-id', '{jobId}', '--runner', runner,
    '--board', '{board}', '--players', '{players}', '--engine-mode', '{engineMode}', '--games', '{games}',
    '--model', '{modelPath}', '--data-dir', '{dataDir}', '--output-dir', '{outputDir}'
  ]
}

/** The default template of each job type (selfplay: one per runner). */
export function defaultCommandTemplate (type: JobTypeName, runner: RunnerKind = 'hybrid'): CommandTemplate {
  const node = process.execPath
  switch (type) {
    case 'selfplay':
      return selfplay(runner)
    case 'training':
      return [node, workloadPath('train'), '--job-id', '{jobId}', '--config', '{config}', '--data-dir', '{dataDir}', '--output-dir', '{outputDir}']
    case 'export':
      return [node, workloadPath('export'), '--job-id', '{jobId}', '--config', '{config}', '--model', '{modelPath}', '--data-dir', '{dataDir}', '--output-dir', '{outputDir}']
    case 'gauntlet':
      // {baselineModelPath} is '' when the config has no best model yet: the workload then plays a baseline engine
      return [node, workloadPath('gauntlet'), '--job-id', '{jobId}', '--config', '{config}', '--model', '{modelPath}', '--baseline', '{baselineModelPath}', '--games', '{games}', '--data-dir', '{dataDir}', '--output-dir', '{outputDir}']
    case 'tournament':
      return [node, workloadPath('tournament'), '--job-id', '{jobId}', '--config', '{config}', '--model-a', '{modelAPath}', '--model-b', '{modelBPath}', '--games', '{games}', '--data-dir', '{dataDir}', '--output-dir', '{outputDir}']
    case 'sync':
      return [node, workloadPath('sync'), '--job-id', '{jobId}', '--data-dir', '{dataDir}', '--output-dir', '{outputDir}']
  }
}

/** Templates from settings, by job type; a selfplay entry may be split by runner. */
export type CommandTemplateOverrides = Partial<Record<Exclude<JobTypeName, 'selfplay'>, CommandTemplate>> & {
  selfplay?: CommandTemplate | Partial<Record<RunnerKind, CommandTemplate>>
}

/** The template to use: the settings' one for this type (and runner) if any, else the default. */
export function resolveCommandTemplate (type: JobTypeName, runner: RunnerKind = 'hybrid', overrides: CommandTemplateOverrides = {}): CommandTemplate {
  if (type === 'selfplay') {
    const o = overrides.selfplay
    if (o === undefined) return defaultCommandTemplate(type, runner)
    if (Array.isArray(o)) return o as CommandTemplate
    return (o as Partial<Record<RunnerKind, CommandTemplate>>)[runner] ?? defaultCommandTemplate(type, runner)
  }
  return overrides[type] ?? defaultCommandTemplate(type, runner)
}
