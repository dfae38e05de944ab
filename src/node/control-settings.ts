/**
 * Control ops of the cluster settings (`riftmesh settings`, the REPL's `settings.*`): read them,
 * set one, unset one. A change is checked against the registry (state/settings-registry.ts):
 * an unknown name or a malformed value is refused with one line. A change of `voters` or `leaders` is also
 * judged from this node's view (its nodes table and failure detector): one that gives up a
 * protection is refused unless `force` is true, and a forced one answers with what was lost.
 *
 * Once the cluster has operator keys a change counts only when an operator signs it: the node
 * drafts the register (`settingDraft`, after the same checks), the CLI or REPL signs it with the
 * operator key, which never leaves it, and sends it back (`writeSignedSetting`); the node checks
 * signature and authority as every reader does and stores it. The unsigned ops are refused then.
 */
import type { ControlHandler } from '../repl/control.js'
import { ControlError } from '../repl/control.js'
import { settingValueSchema, type SettingValue } from '../state/schema.js'
import {
  SETTING_LEADERS, SETTING_VOTERS, SettingError, UnsafeSettingError, checkSettingChange, votersSetting
} from '../state/settings-registry.js'
import { leadersRisks, votersRisks, type VoterView } from '../election/voter-safety.js'
import { OwnershipError } from '../core/errors.js'
import { isSigningId } from '../state/entry-sig.js'
import { OPERATOR_ONLY_SETTINGS } from '../state/authority.js'
import type { Parts } from './node.js'

/** The one line an unsigned change gets once the cluster has operator keys. */
export const OPERATOR_KEY_REQUIRED = 'cluster settings need an operator key: pass --operator-key FILE (riftmesh keygen --operator)'

/** The one line a change of an operator-only setting gets while the cluster has no operator key. */
export function operatorOnlyMessage (name: string): string {
  return `${name} runs programs on every node, so only an operator key may set it, and this cluster has none: ` +
    'make one (riftmesh keygen --operator FILE), list its id in trust.operators on every node, restart them, then pass --operator-key FILE'
}

/** A change that needs an operator's signature (the cluster has operator keys, or the setting is operator-only). */
export class OperatorKeyRequiredError extends ControlError {
  constructor (message = OPERATOR_KEY_REQUIRED) {
    super(message)
    this.name = 'OperatorKeyRequiredError'
  }
}

export interface SettingsControlInit {
  /** The config's `election.voters`: what applies once `voters` is unset. */
  configVoters: readonly string[]
  /** The config's `election.mode`. */
  electionMode: 'majority' | 'epoch'
}

type SettingsParts = Pick<Parts, 'state' | 'store' | 'heartbeat'>

const MAX_NAME_CHARS = 128

function nameArg (args: Record<string, unknown>, op: string): string {
  const name = args.name
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_CHARS) throw new ControlError(`${op} needs a name (1–${MAX_NAME_CHARS} characters)`)
  return name
}

function forceArg (args: Record<string, unknown>): boolean {
  if (args.force === undefined || typeof args.force === 'boolean') return args.force === true
  throw new ControlError('force must be true or false')
}

export function settingsControlHandlers (p: SettingsParts, init: SettingsControlInit): Record<string, ControlHandler> {
  const view = (): VoterView => ({
    selfId: p.state.selfId,
    known: new Set(p.state.nodes().map(n => n.nodeId)),
    health: id => (id === p.state.selfId ? 'ALIVE' : p.heartbeat.health(id)),
    mode: init.electionMode
  })
  /** What the voters in effect after a change give up (nothing for other settings). */
  const risks = (name: string, list: readonly string[] | undefined): string[] =>
    list === undefined ? [] : name === SETTING_VOTERS ? votersRisks(list, view()) : name === SETTING_LEADERS ? leadersRisks(list, view()) : []
  const refuse = (what: string, losses: readonly string[]): never => {
    throw new UnsafeSettingError(`refused: ${what} would give up ${losses.join('; and ')}`, losses)
  }
  /**
   * The checks of a change (registry, then voter safety unless forced): what it gives up, or
   * null for an unset of a setting that is not set (nothing to do).
   */
  const check = (name: string, value: SettingValue, force: boolean): { lost: string[] } | null => {
    checkSettingChange(name, value)
    if (value === null) {
      if (p.state.setting(name) === undefined) return null
      const fallback = [...new Set(init.configVoters)].sort()
      const lost = name === SETTING_VOTERS ? risks(name, fallback) : []
      if (lost.length > 0 && !force) refuse(`unsetting ${name} (the config's election.voters ${JSON.stringify(fallback)} would apply)`, lost)
      return { lost }
    }
    const lost = risks(name, name === SETTING_VOTERS || name === SETTING_LEADERS ? votersSetting.parse(value) : undefined)
    if (lost.length > 0 && !force) refuse(`${name} = ${JSON.stringify(value)}`, lost)
    return { lost }
  }
  const valueArg = (name: string, raw: unknown): SettingValue => {
    const value = settingValueSchema.safeParse(raw)
    if (!value.success) throw new SettingError(`setting "${name}": a value is a JSON scalar, a list of scalars or a flat record (up to 256 entries)`)
    return value.data
  }
  const unsigned = (): void => {
    if (p.state.hasOperators()) throw new OperatorKeyRequiredError()
  }
  /** After the change's own checks (a malformed value is named first): an operator-only setting. */
  const operatorOnly = (name: string): void => {
    if (OPERATOR_ONLY_SETTINGS.has(name)) throw new OperatorKeyRequiredError(operatorOnlyMessage(name))
  }
  return {
    settings: async () => Object.fromEntries(p.state.settings()),
    setSetting: async args => {
      const name = nameArg(args, 'setSetting')
      const value = valueArg(name, args.value)
      unsigned()
      const { lost } = check(name, value, forceArg(args)) as { lost: string[] }
      operatorOnly(name)
      p.state.setSetting(name, value)
      await p.store.flush()
      return { name, value, lost }
    },
    unsetSetting: async args => {
      const name = nameArg(args, 'unsetSetting')
      unsigned()
      const checked = check(name, null, forceArg(args))
      operatorOnly(name)
      if (checked === null) return { name, wasSet: false, lost: [] }
      p.state.unsetSetting(name)
      await p.store.flush()
      return { name, wasSet: true, lost: checked.lost }
    },
    /**
     * The register a change needs, for `writer` (an operator id) to sign: `{name, value}` (null
     * unsets), after every check of setSetting / unsetSetting. `draft` is null for an unset of a
     * setting that is not set.
     */
    settingDraft: async args => {
      const name = nameArg(args, 'settingDraft')
      const writer = args.writer
      if (typeof writer !== 'string' || !isSigningId(writer)) throw new ControlError('settingDraft needs the operator id of the signing key (writer)')
      if (!p.state.hasOperators() && OPERATOR_ONLY_SETTINGS.has(name)) throw new ControlError(operatorOnlyMessage(name))
      if (p.state.hasOperators() && !p.state.isOperator(writer)) {
        throw new ControlError(`operator key ${writer} is not an operator of this cluster (never added, or removed): sign with a key riftmesh operators list shows`)
      }
      const value = args.value === null ? null : valueArg(name, args.value)
      const checked = check(name, value, forceArg(args))
      if (checked === null) return { name, draft: null, lost: [] }
      return { name, draft: p.state.settingDraft(name, value, writer), lost: checked.lost, legacy: !p.state.hasOperators() }
    },
    /** Store a register an operator signed (settingDraft): checked as every reader checks it. */
    writeSignedSetting: async args => {
      const key = args.key
      if (typeof key !== 'string' || key.length === 0 || key.length > 512) throw new ControlError('writeSignedSetting needs the key of the signed entry')
      const raw = args.raw
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ControlError('writeSignedSetting needs the signed entry (raw)')
      const { name, value } = raw as { name?: unknown, value?: unknown }
      if (typeof name !== 'string') throw new ControlError('writeSignedSetting: the entry names no setting')
      checkSettingChange(name, valueArg(name, value))
      try {
        p.state.writeSigned('settings', key, raw)
      } catch (err) {
        if (err instanceof OwnershipError) throw new ControlError(`signed setting refused: ${err.message}`)
        throw err
      }
      await p.store.flush()
      return { name, value, by: (raw as { sig?: { by?: unknown } }).sig?.by ?? null }
    }
  }
}
