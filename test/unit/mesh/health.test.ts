import { describe, expect, it } from 'vitest'
import { effectiveDeadAfterMs, healthOf, type Health, type HealthRule } from '../../../src/mesh/health.js'

/** The shipped defaults (config/defaults.ts): 3 s suspect, 5 s dead, ×1.2 at ≥ 80 % CPU, ×1.4 at ≥ 95 %. */
const rule: HealthRule = {
  suspectAfterMs: 3_000,
  deadAfterMs: 5_000,
  cpuHighPercent: 80,
  cpuCriticalPercent: 95,
  stretchHigh: 1.2,
  stretchCritical: 1.4
}

describe('effectiveDeadAfterMs', () => {
  const cases: Array<{ cpu: number | undefined, want: number }> = [
    { cpu: undefined, want: 5_000 },
    { cpu: 0, want: 5_000 },
    { cpu: 50, want: 5_000 },
    { cpu: 79.9, want: 5_000 },
    { cpu: 80, want: 6_000 },
    { cpu: 94.9, want: 6_000 },
    { cpu: 95, want: 7_000 },
    { cpu: 100, want: 7_000 }
  ]
  for (const { cpu, want } of cases) {
    it(`is ${want} ms at CPU ${String(cpu)}`, () => {
      expect(effectiveDeadAfterMs(rule, cpu)).toBeCloseTo(want, 6)
    })
  }

  it('uses the critical stretch when both thresholds are met (the higher one wins)', () => {
    const odd: HealthRule = { ...rule, cpuHighPercent: 50, cpuCriticalPercent: 60, stretchHigh: 3, stretchCritical: 2 }
    expect(effectiveDeadAfterMs(odd, 70)).toBe(10_000)
  })
})

describe('healthOf', () => {
  const last = 1_000_000
  const cases: Array<{ name: string, elapsedMs: number, cpu?: number, want: Health }> = [
    { name: 'a heartbeat just received', elapsedMs: 0, want: 'ALIVE' },
    { name: 'a heartbeat from the future (clock step)', elapsedMs: -500, want: 'ALIVE' },
    { name: 'one ms before suspectAfter', elapsedMs: 2_999, want: 'ALIVE' },
    { name: 'exactly at suspectAfter', elapsedMs: 3_000, want: 'SUSPECT' },
    { name: 'one ms before deadAfter', elapsedMs: 4_999, want: 'SUSPECT' },
    { name: 'exactly at deadAfter', elapsedMs: 5_000, want: 'DEAD' },
    { name: 'long silent', elapsedMs: 60_000, want: 'DEAD' },
    { name: 'exactly at deadAfter, CPU undefined', elapsedMs: 5_000, cpu: undefined, want: 'DEAD' },
    { name: 'exactly at deadAfter, CPU 79.9', elapsedMs: 5_000, cpu: 79.9, want: 'DEAD' },
    { name: 'exactly at deadAfter, CPU 80 (stretched to 6 s)', elapsedMs: 5_000, cpu: 80, want: 'SUSPECT' },
    { name: 'just before 6 s, CPU 94.9', elapsedMs: 5_999, cpu: 94.9, want: 'SUSPECT' },
    { name: 'exactly at 6 s, CPU 94.9', elapsedMs: 6_000, cpu: 94.9, want: 'DEAD' },
    { name: 'exactly at 6 s, CPU 95 (stretched to 7 s)', elapsedMs: 6_000, cpu: 95, want: 'SUSPECT' },
    { name: 'just before 7 s, CPU 100', elapsedMs: 6_999, cpu: 100, want: 'SUSPECT' },
    { name: 'exactly at 7 s, CPU 100', elapsedMs: 7_000, cpu: 100, want: 'DEAD' },
    { name: 'exactly at suspectAfter, CPU 100 (the stretch does not delay SUSPECT)', elapsedMs: 3_000, cpu: 100, want: 'SUSPECT' },
    { name: 'before suspectAfter, CPU 100', elapsedMs: 2_999, cpu: 100, want: 'ALIVE' }
  ]
  for (const c of cases) {
    it(`is ${c.want} for ${c.name}`, () => {
      expect(healthOf(rule, last, last + c.elapsedMs, c.cpu)).toBe(c.want)
    })
  }

  it('stays SUSPECT at a stretched deadAfter that is not a whole number of ms', () => {
    const r: HealthRule = { ...rule, deadAfterMs: 5_001 } // ×1.2 = 6001.2
    expect(healthOf(r, 0, 6_001, 80)).toBe('SUSPECT')
    expect(healthOf(r, 0, 6_002, 80)).toBe('DEAD')
  })
})
