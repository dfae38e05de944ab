/**
 * Typed readers of the run-time cluster settings the managers use (the document's `settings`
 * registers, changed with `riftmesh settings set` or the REPL). A value of the wrong shape is
 * ignored with a warning, once per distinct value, and the config default applies.
 */
import { z } from 'zod'
import type { Logger } from '../core/logger.js'
import { BOARD_PRIORITY_LEVELS } from '../core/vocabulary.js'
import { ALL_CONFIG_KEYS, BOARDS, configKeySchema, type ConfigKey, type SettingValue } from '../state/schema.js'
import { ENGINE_MODES } from '../jobs/engine-modes.js'
import type { BoardLevel, CandidateRow } from './selfplay.js'

/** Setting names the managers read. */
export const SETTING_STATIC_PRIORITY = 'staticPriority'
export const SETTING_CURRICULUM_WEIGHTS = 'curriculumWeights'
export const SETTING_BOARD_OVERRIDES = 'boardOverrides'
export const SETTING_ENGINE_MIXES = 'engineMixes'

const priority = z.number().int().min(0).max(100)
const levelSchema = z.union([z.enum(BOARD_PRIORITY_LEVELS), z.number().int().min(0).max(3)])
  .transform(v => (typeof v === 'number' ? BOARD_PRIORITY_LEVELS[v] as BoardLevel : v))

export const staticPrioritySetting = z.record(configKeySchema, priority)
export const curriculumWeightsSetting = z.record(configKeySchema, z.number().min(0).max(100))
/** Keyed by config key, or by board (applies to each player count; a config key wins). */
export const boardOverridesSetting = z.record(z.union([configKeySchema, z.enum(BOARDS)]), levelSchema)
/** `<config>:<engineMode>` → static priority of an extra candidate row in that mode. */
export const engineMixesSetting = z.record(
  z.string().regex(new RegExp(`^(${ALL_CONFIG_KEYS.join('|')}):(${ENGINE_MODES.join('|')})$`), 'a key like square8_2p:mcts'),
  priority)

export interface SettingsSource {
  setting(name: string): SettingValue | undefined
}

export class ManagerSettings {
  private readonly warned = new Set<string>()

  constructor (private readonly source: SettingsSource, private readonly log: Logger) {}

  private read<T> (name: string, schema: z.ZodType<T>): T | undefined {
    const raw = this.source.setting(name)
    if (raw === undefined || raw === null) return undefined
    const r = schema.safeParse(raw)
    if (r.success) return r.data
    const key = `${name}=${JSON.stringify(raw).slice(0, 200)}`
    if (!this.warned.has(key)) {
      this.warned.add(key)
      this.log.warn({ setting: name, issue: r.error.issues[0]?.message }, 'ignoring a cluster setting of the wrong shape')
    }
    return undefined
  }

  staticPriority (defaults: Readonly<Record<ConfigKey, number>>): Record<ConfigKey, number> {
    return { ...defaults, ...this.read(SETTING_STATIC_PRIORITY, staticPrioritySetting) }
  }

  curriculumWeights (): Partial<Record<ConfigKey, number>> {
    return this.read(SETTING_CURRICULUM_WEIGHTS, curriculumWeightsSetting) ?? {}
  }

  boardOverrides (): Partial<Record<ConfigKey, BoardLevel>> {
    const raw = this.read(SETTING_BOARD_OVERRIDES, boardOverridesSetting) ?? {}
    const out: Partial<Record<ConfigKey, BoardLevel>> = {}
    for (const config of ALL_CONFIG_KEYS) {
      const board = config.slice(0, config.lastIndexOf('_')) as typeof BOARDS[number]
      const level = raw[config] ?? raw[board]
      if (level !== undefined) out[config] = level
    }
    return out
  }

  /** Candidate rows: one per config at its static priority, plus the configured engine mixes. */
  candidateRows (staticDefaults: Readonly<Record<ConfigKey, number>>): CandidateRow[] {
    const stat = this.staticPriority(staticDefaults)
    const rows: CandidateRow[] = ALL_CONFIG_KEYS.map(config => ({ config, engineMode: null, staticPriority: stat[config] ?? 0 }))
    const mixes = this.read(SETTING_ENGINE_MIXES, engineMixesSetting) ?? {}
    for (const key of Object.keys(mixes).sort()) {
      const [config, engineMode] = key.split(':') as [ConfigKey, string]
      rows.push({ config, engineMode, staticPriority: mixes[key] as number })
    }
    return rows
  }
}
