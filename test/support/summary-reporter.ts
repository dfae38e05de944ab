import type { Reporter, TestModule } from 'vitest/node'

/**
 * Adds one plain closing line, `tests: N passed, N failed, N skipped`, after vitest's own summary,
 * so CI and scripts can read the outcome without parsing vitest's formatting. A module that
 * failed to load counts as a failed test.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd (testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0
    let failed = unhandledErrors.length
    let skipped = 0
    for (const m of testModules) {
      let any = false
      for (const t of m.children.allTests()) {
        any = true
        const state = t.result().state
        if (state === 'passed') passed++
        else if (state === 'failed') failed++
        else skipped++
      }
      if (!any && m.state() === 'failed') failed++
    }
    process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`)
  }
}
