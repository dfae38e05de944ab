/**
 * The settings in effect, from the `settings` registers of the control document. Per name the
 * newest register wins — among those whose value passes that setting's schema: a newer value that
 * fails (from an old or hostile peer) is skipped, so the last valid value stays in effect, or the
 * setting's default when there is none. Each such value is counted and logged once. A null value
 * is an unset: it wins like any write and hides every older value.
 */
import type { Logger } from '../core/logger.js'
import type { Register, SettingValue } from './schema.js'
import { registerKey, resolveRegisters } from './registers.js'
import { settingIssue, settingSpec, type SettingSpec } from './settings-registry.js'
import type { ValidationStats } from './validated-map.js'

interface Checked {
  reg: Register<SettingValue>
  issue: string | null
}

export class SettingsView {
  /** Per register key, the last register checked (by identity: a valid entry is checked once). */
  private readonly checked = new Map<string, Checked>()

  constructor (private readonly stats: ValidationStats, private readonly log: Logger) {}

  /** The settings in effect given every well-formed register entry. */
  current (registers: ReadonlyArray<Register<SettingValue>>): Map<string, SettingValue> {
    const fresh: Array<Checked & { spec: SettingSpec<unknown> }> = []
    const valid = registers.filter(reg => {
      const key = registerKey(reg.name, reg.writer)
      let c = this.checked.get(key)
      if (c === undefined || c.reg !== reg) {
        const spec = settingSpec(reg.name)
        c = { reg, issue: spec === undefined ? null : settingIssue(spec, reg.value) }
        this.checked.set(key, c)
        if (spec !== undefined && c.issue !== null) fresh.push({ ...c, spec })
      }
      return c.issue === null
    })
    const out = new Map<string, SettingValue>()
    for (const [name, reg] of resolveRegisters(valid)) if (reg.value !== null) out.set(name, reg.value)
    for (const f of fresh) {
      this.stats.record('settings', 'value')
      const held = out.get(f.reg.name)
      const inEffect = held === undefined ? `unset: ${f.spec.whenUnset}` : `the last valid value ${clip(JSON.stringify(held))}`
      this.log.warn({ setting: f.reg.name, writer: f.reg.writer, version: f.reg.version, issue: f.issue, inEffect },
        'ignoring a malformed cluster setting: it does not take effect')
    }
    if (this.checked.size > registers.length) this.prune(registers)
    return out
  }

  private prune (registers: ReadonlyArray<Register<SettingValue>>): void {
    const live = new Set(registers.map(r => registerKey(r.name, r.writer)))
    for (const key of this.checked.keys()) if (!live.has(key)) this.checked.delete(key)
  }
}

function clip (s: string): string {
  return s.length > 200 ? `${s.slice(0, 200)}…` : s
}
