/**
 * Typed readers of the run-time cluster settings the managers use (the document's `settings`
 * registers, changed with `riftmesh settings set` or the REPL). The schemas are in
 * state/settings-registry.ts; the state hands out only values that pass them (a malformed value
 * is ignored there, counted and logged once), so an unset setting and a refused one read alike:
 * the config default applies.
 */
import { ALL_CONFIG_KEYS, type BOARDS, type ConfigKey } from '../state/schema.js'
import {
  BOARD_OVERRIDES, CURRICULUM_WEIGHTS, ENGINE_MIXES, SELFPLAY_PAUSED, STATIC_PRIORITY, type SettingSpec
} from '../state/settings-registry.js'
import type { BoardLevel, CandidateRow } from './selfplay.js'

export {
  SETTING_BOARD_OVERRIDES, SETTING_CURRICULUM_WEIGHTS, SETTING_ENGINE_MIXES, SETTING_STATIC_PRIORITY,
  boardOverridesSetting, curriculumWeightsSetting, engineMixesSetting, staticPrioritySetting
} from '../state/settings-registry.js'

export interface SettingsSource {
  /** A setting in its typed form, or undefined while unset (or only malformed values were written). */
  settingOf<T>(spec: SettingSpec<T>): T | undefined
}

export class ManagerSettings {
  constructor (private readonly source: SettingsSource) {}

  staticPriority (defaults: Readonly<Record<ConfigKey, number>>): Record<ConfigKey, number> {
    return { ...defaults, ...this.source.settingOf(STATIC_PRIORITY) }
  }

  curriculumWeights (): Partial<Record<ConfigKey, number>> {
    return this.source.settingOf(CURRICULUM_WEIGHTS) ?? {}
  }

  boardOverrides (): Partial<Record<ConfigKey, BoardLevel>> {
    const raw = this.source.settingOf(BOARD_OVERRIDES) ?? {}
    const out: Partial<Record<ConfigKey, BoardLevel>> = {}
    for (const config of ALL_CONFIG_KEYS) {
      const board = config.slice(0, config.lastIndexOf('_')) as typeof BOARDS[number]
      const level = raw[config] ?? raw[board]
      if (level !== undefined) out[config] = level
    }
    return out
  }

  /** The operator's pause of self-play (`selfplayPaused`); false while unset. */
  selfplayPaused (): boolean {
    return this.source.settingOf(SELFPLAY_PAUSED) ?? false
  }

  /** Candidate rows: one per config at its static priority, plus the configured engine mixes. */
  candidateRows (staticDefaults: Readonly<Record<ConfigKey, number>>): CandidateRow[] {
    const stat = this.staticPriority(staticDefaults)
    const rows: CandidateRow[] = ALL_CONFIG_KEYS.map(config => ({ config, engineMode: null, staticPriority: stat[config] ?? 0 }))
    const mixes = this.source.settingOf(ENGINE_MIXES) ?? {}
    for (const key of Object.keys(mixes).sort()) {
      const [config, engineMode] = key.split(':') as [ConfigKey, string]
      rows.push({ config, engineMode, staticPriority: mixes[key] as number })
    }
    return rows
  }
}
