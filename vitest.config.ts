import { defineConfig } from 'vitest/config'
import { BaseSequencer, type TestSpecification } from 'vitest/node'

/**
 * The emulated-host tests (test/hosts) run for minutes but mostly wait on their nodes: start them
 * first, so the rest of the suite runs beside them on the other worker.
 */
class HostsFirst extends BaseSequencer {
  override async sort (files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files)
    const hosts = (f: TestSpecification): boolean => f.moduleId.includes('/test/hosts/')
    return [...sorted.filter(hosts), ...sorted.filter(f => !hosts(f))]
  }
}

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['dist/**', 'node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // three test files at a time, also on 2 cores: most files wait on real processes and
    // networks (2 workers left the CPU idle more than half the time)
    maxWorkers: 3,
    sequence: { sequencer: HostsFirst },
    reporters: ['default', './test/support/summary-reporter.ts']
  }
})
