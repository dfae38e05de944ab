/**
 * The cluster settings: one entry per setting — its schema, the form and meaning of a value, what
 * applies while it is unset, and who reads it. Everything that touches a setting goes through
 * here: the `setSetting` / `unsetSetting` control ops (so `riftmesh settings` and the REPL)
 * refuse an unknown name or a value that fails its schema, and every node checks every value it
 * reads (`ClusterState.settings()`): a value that fails is ignored and counted, so a malformed
 * setting written by an old or hostile peer never takes effect.
 */
import { z } from 'zod'
import { RiftmeshError } from '../core/errors.js'
import { BOARD_PRIORITY_LEVELS, JOB_TYPE_NAMES } from '../core/vocabulary.js'
import { suggestKey } from '../config/parse.js'
import { ENGINE_MODES } from '../jobs/engine-modes.js'
import { ALL_CONFIG_KEYS, BOARDS, MAX_TEXT_CHARS, configKeySchema, settingValueSchema, type SettingValue } from './schema.js'

export interface SettingSpec<T = unknown> {
  /** The setting's name; a family of settings is named by its prefix and `<id>` (`abTest/<id>`). */
  name: string
  /** What a value must be; a transform gives readers their typed form. */
  schema: z.ZodType<T>
  /** The form of a value in a few words. */
  form: string
  /** A value to copy, as JSON. */
  example: string
  meaning: string
  /** What applies while the setting is unset. */
  whenUnset: string
  readBy: string
  /** Whether `settings set` / `unset` may change it (false: the cluster writes it itself). @default true */
  settable?: boolean
}

/** A setting name or value that is refused; the message is one line naming the problem. */
export class SettingError extends RiftmeshError {
  constructor (message: string) {
    super(message, 'ERR_SETTING')
    this.name = 'SettingError'
  }
}

/** A change that would give up a protection; `losses` says which, one phrase each. */
export class UnsafeSettingError extends RiftmeshError {
  constructor (message: string, readonly losses: readonly string[]) {
    super(message, 'ERR_SETTING_UNSAFE')
    this.name = 'UnsafeSettingError'
  }
}

/** A peer id as the config key `election.voters` takes it. */
const peerIdSchema = z.string().regex(/^[A-Za-z0-9]{1,128}$/, 'a peer id (letters and digits)')
const priority = z.number().int().min(0).max(100)
const argv = z.array(z.string().min(1).max(MAX_TEXT_CHARS)).min(1).max(256)
const levelSchema = z.union([z.enum(BOARD_PRIORITY_LEVELS), z.number().int().min(0).max(3)])
  .transform(v => (typeof v === 'number' ? BOARD_PRIORITY_LEVELS[v] as typeof BOARD_PRIORITY_LEVELS[number] : v))

/** Most voters a list may name (as the config key). */
export const MAX_VOTERS = 64
/** Fewer voters than this: the election runs in epoch mode. */
export const MIN_MAJORITY_VOTERS = 3

export const votersSetting = z.array(peerIdSchema).min(1).max(MAX_VOTERS).transform(v => [...new Set(v)].sort())
export const JOB_COMMAND_KEYS = [...JOB_TYPE_NAMES, 'selfplay:hybrid', 'selfplay:gpu'] as const
export const jobCommandsSetting = z.partialRecord(z.enum(JOB_COMMAND_KEYS), argv)
export const staticPrioritySetting = z.record(configKeySchema, priority)
export const curriculumWeightsSetting = z.record(configKeySchema, z.number().min(0).max(100))
/** Keyed by config key, or by board (applies to each player count; a config key wins). */
export const boardOverridesSetting = z.record(z.union([configKeySchema, z.enum(BOARDS)]), levelSchema)
/** `<config>:<engineMode>` → static priority of an extra candidate row in that mode. */
export const engineMixesSetting = z.record(
  z.string().regex(new RegExp(`^(${ALL_CONFIG_KEYS.join('|')}):(${ENGINE_MODES.join('|')})$`), 'a key like square8_2p:mcts'),
  priority)

export const SETTING_VOTERS = 'voters'
export const SETTING_LEADERS = 'leaders'
export const SETTING_JOB_COMMANDS = 'jobCommands'
export const SETTING_STATIC_PRIORITY = 'staticPriority'
export const SETTING_CURRICULUM_WEIGHTS = 'curriculumWeights'
export const SETTING_BOARD_OVERRIDES = 'boardOverrides'
export const SETTING_ENGINE_MIXES = 'engineMixes'
export const SETTING_SELFPLAY_PAUSED = 'selfplayPaused'
/** A/B test definitions are settings named `abTest/<id>` (managers/ab-test.ts validates them). */
export const AB_TEST_SETTING_PREFIX = 'abTest/'

export const VOTERS: SettingSpec<string[]> = {
  name: SETTING_VOTERS,
  schema: votersSetting,
  form: 'a list of peer ids, 3 or 5 of them',
  example: '["12D3KooWA…", "12D3KooWB…", "12D3KooWC…"]',
  meaning: 'who elects the leader: a leader needs a lease granted by a strict majority of them; fewer than 3 runs the election in epoch mode, without split-brain protection',
  whenUnset: 'the node\'s config election.voters',
  readBy: 'the election on every node (grants, leases, quorum), the job worker\'s epoch fence, status'
}

export const LEADERS: SettingSpec<string[]> = {
  name: SETTING_LEADERS,
  schema: votersSetting,
  form: 'a list of peer ids, 1 to 64',
  example: '["12D3KooWA…", "12D3KooWB…"]',
  meaning: 'who may lead: voters grant only to these and no other node stands; a leader left out loses its grants and steps down within a lease. Set it when members run on machines you do not control: a leader dispatches, fences and promotes models',
  whenUnset: 'every node\'s config election.eligibility decides (all: any node may stand)',
  readBy: 'the election on every node (whom a voter grants, whether a node stands), status'
}

export const JOB_COMMANDS: SettingSpec<z.infer<typeof jobCommandsSetting>> = {
  name: SETTING_JOB_COMMANDS,
  schema: jobCommandsSetting,
  form: `a record from job type (${JOB_COMMAND_KEYS.join(', ')}) to a non-empty argv list of strings`,
  example: '{"selfplay": ["/opt/team/selfplay.sh", "{jobId}", "{config}", "{outputDir}"]}',
  meaning: 'the command each job type runs; types left out keep the built-in workload',
  whenUnset: 'every job type runs its built-in workload (docs/OPERATIONS.md §6)',
  readBy: 'the job worker on every node, when it starts a job'
}

export const STATIC_PRIORITY: SettingSpec<z.infer<typeof staticPrioritySetting>> = {
  name: SETTING_STATIC_PRIORITY,
  schema: staticPrioritySetting,
  form: 'a record from config key (e.g. hex8_2p) to an integer 0–100',
  example: '{"hex8_2p": 8, "square19_4p": 0}',
  meaning: 'self-play priority of each board config (0: not played); configs left out keep theirs',
  whenUnset: 'the config key scheduler.staticPriority',
  readBy: 'the self-play scheduler on every node'
}

export const CURRICULUM_WEIGHTS: SettingSpec<z.infer<typeof curriculumWeightsSetting>> = {
  name: SETTING_CURRICULUM_WEIGHTS,
  schema: curriculumWeightsSetting,
  form: 'a record from config key to a number 0–100',
  example: '{"hex8_2p": 1.5}',
  meaning: 'curriculum weight per config: above 1 raises its self-play priority, below 1 lowers it',
  whenUnset: 'weight 1 for every config (no change)',
  readBy: 'the self-play scheduler on every node'
}

export const BOARD_OVERRIDES: SettingSpec<z.infer<typeof boardOverridesSetting>> = {
  name: SETTING_BOARD_OVERRIDES,
  schema: boardOverridesSetting,
  form: `a record from config key or board (${BOARDS.join(', ')}) to ${BOARD_PRIORITY_LEVELS.join(' | ')} (or 0–3)`,
  example: '{"hex8": "high", "square19_4p": "critical"}',
  meaning: 'a priority boost per board or config (a config key wins over its board)',
  whenUnset: 'level low for every config (no boost)',
  readBy: 'the self-play scheduler on every node'
}

export const ENGINE_MIXES: SettingSpec<z.infer<typeof engineMixesSetting>> = {
  name: SETTING_ENGINE_MIXES,
  schema: engineMixesSetting,
  form: 'a record from "<config>:<engineMode>" to an integer 0–100',
  example: '{"square8_2p:mcts": 4}',
  meaning: 'extra self-play candidates: a config played in a given engine mode, at this static priority',
  whenUnset: 'no extra candidates (each config in its routed engine mode)',
  readBy: 'the self-play scheduler on every node'
}

export const SELFPLAY_PAUSED: SettingSpec<boolean> = {
  name: SETTING_SELFPLAY_PAUSED,
  schema: z.boolean(),
  form: 'true or false',
  example: 'true',
  meaning: 'pause self-play cluster-wide: no new self-play job is dispatched (running ones finish); status and whyNot say "selfplay: paused"',
  whenUnset: 'self-play runs (unless the untrained backlog or the training nodes\' disks hold it back)',
  readBy: 'the leader\'s self-play dispatch (and a leaderless node\'s own), status, whyNot'
}

export const AB_TEST: SettingSpec<SettingValue> = {
  name: `${AB_TEST_SETTING_PREFIX}<id>`,
  schema: settingValueSchema,
  form: 'an A/B test definition (config, models, budget, owner, state)',
  example: '(written by riftmesh ab start)',
  meaning: 'one A/B test between two models; written by riftmesh ab start and by the test\'s owner',
  whenUnset: 'no such test',
  readBy: 'the A/B test manager on every node (the leader dispatches, the owner records and decides)',
  settable: false
}

/** Every cluster setting, in the order `settings describe` lists them. */
export const CLUSTER_SETTINGS: ReadonlyArray<SettingSpec<unknown>> = [
  VOTERS, LEADERS, JOB_COMMANDS, STATIC_PRIORITY, CURRICULUM_WEIGHTS, BOARD_OVERRIDES, ENGINE_MIXES, SELFPLAY_PAUSED, AB_TEST
] as ReadonlyArray<SettingSpec<unknown>>

const BY_NAME = new Map(CLUSTER_SETTINGS.filter(s => !s.name.endsWith('<id>')).map(s => [s.name, s]))

/** The spec of a setting name, or undefined for a name no setting has. */
export function settingSpec (name: string): SettingSpec<unknown> | undefined {
  return BY_NAME.get(name) ?? (name.startsWith(AB_TEST_SETTING_PREFIX) && name.length > AB_TEST_SETTING_PREFIX.length ? AB_TEST : undefined)
}

const clip = (s: string, max = 80): string => (s.length > max ? `${s.slice(0, max)}…` : s)
const shown = (v: unknown): string => clip(JSON.stringify(v) ?? String(v))

/** Why `value` is not a valid `spec` value (one line), or null when it is; null always is (unset). */
export function settingIssue (spec: SettingSpec<unknown>, value: unknown): string | null {
  if (value === null) return null
  const r = spec.schema.safeParse(value)
  if (r.success) return null
  const issue = r.error.issues[0]
  const at = issue === undefined || issue.path.length === 0 ? '' : `${issue.path.map(String).join('.')}: `
  return `setting "${spec.name}": ${at}${issue?.message ?? 'invalid'}; got ${shown(value)}; expected ${spec.form}, e.g. ${spec.example}`
}

/** The spec of a name a user gave, or a SettingError naming the closest setting. */
export function requireSettingSpec (name: string): SettingSpec<unknown> {
  const spec = settingSpec(name)
  if (spec !== undefined) return spec
  const close = suggestKey(name, BY_NAME.keys())
  const hint = close !== null ? `did you mean "${close}"? ` : ''
  throw new SettingError(`unknown setting "${clip(name, 64)}"; ${hint}(riftmesh settings describe lists every setting)`)
}

/** Check a change a user asked for: a known, settable name and a value its schema accepts. */
export function checkSettingChange (name: string, value: unknown): SettingSpec<unknown> {
  const spec = requireSettingSpec(name)
  if (spec.settable === false) throw new SettingError(`setting "${clip(name, 64)}" is written by the cluster itself (${spec.readBy}); use riftmesh ab`)
  const issue = settingIssue(spec, value)
  if (issue !== null) throw new SettingError(issue)
  return spec
}

/** Every setting in a few lines each (`riftmesh settings describe`, `settings --help`, the REPL). */
export function describeSettings (only?: SettingSpec<unknown>): string {
  return (only === undefined ? CLUSTER_SETTINGS : [only]).map(s => [
    `${s.name}${s.settable === false ? ' (read-only)' : ''}`,
    `    ${s.meaning}`,
    `    value:  ${s.form}, e.g. ${s.example}`,
    `    unset:  ${s.whenUnset}`,
    `    read by ${s.readBy}`
  ].join('\n')).join('\n')
}
