/**
 * Control ops of the cluster settings (`riftmesh settings`, the REPL's `settings.*`): read them,
 * set one, unset one. A change is checked against the registry (state/settings-registry.ts):
 * an unknown name or a malformed value is refused with one line. A change of `voters` is also
 * judged from this node's view (its nodes table and failure detector): one that gives up a
 * protection is refused unless `force` is true, and a forced one answers with what was lost.
 */
import type { ControlHandler } from '../repl/control.js'
import { ControlError } from '../repl/control.js'
import { settingValueSchema, type SettingValue } from '../state/schema.js'
import {
  SETTING_VOTERS, SettingError, UnsafeSettingError, checkSettingChange, votersSetting
} from '../state/settings-registry.js'
import { votersRisks, type VoterView } from '../election/voter-safety.js'
import type { Parts } from './node.js'

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
  const risks = (name: string, voters: readonly string[] | undefined): string[] =>
    name === SETTING_VOTERS && voters !== undefined ? votersRisks(voters, view()) : []
  const refuse = (what: string, losses: readonly string[]): never => {
    throw new UnsafeSettingError(`refused: ${what} would give up ${losses.join('; and ')}`, losses)
  }
  return {
    settings: async () => Object.fromEntries(p.state.settings()),
    setSetting: async args => {
      const name = nameArg(args, 'setSetting')
      const value = settingValueSchema.safeParse(args.value)
      if (!value.success) throw new SettingError(`setting "${name}": a value is a JSON scalar, a list of scalars or a flat record (up to 256 entries)`)
      checkSettingChange(name, value.data)
      const lost = risks(name, name === SETTING_VOTERS ? votersSetting.parse(value.data) : undefined)
      if (lost.length > 0 && !forceArg(args)) refuse(`${name} = ${JSON.stringify(value.data)}`, lost)
      p.state.setSetting(name, value.data)
      await p.store.flush()
      return { name, value: value.data, lost }
    },
    unsetSetting: async args => {
      const name = nameArg(args, 'unsetSetting')
      checkSettingChange(name, null)
      const before: SettingValue | undefined = p.state.setting(name)
      if (before === undefined) return { name, wasSet: false, lost: [] }
      const fallback = [...new Set(init.configVoters)].sort()
      const lost = risks(name, fallback)
      if (lost.length > 0 && !forceArg(args)) refuse(`unsetting ${name} (the config's election.voters ${JSON.stringify(fallback)} would apply)`, lost)
      p.state.unsetSetting(name)
      await p.store.flush()
      return { name, wasSet: true, lost }
    }
  }
}
