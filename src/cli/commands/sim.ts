import { loadScenario } from '../../../sim/scenario.js'
import { runSimulation, type SimReport } from '../../../sim/simulation.js'
import { addHostile, formatHostileTotals, type HostileTotals } from '../../../sim/report.js'
import { formatReport } from '../../../sim/report.js'
import { fuzzScenario } from '../../../sim/fuzz.js'
import { runRealScenario } from '../../../sim/real/real-run.js'
import { formatRealReport } from '../../../sim/real/real-report.js'
import { ConfigError } from '../../core/errors.js'
import type { FlagSpec, ParsedArgs } from '../args.js'
import { UsageError, subcommandError } from '../usage.js'

export const simFlags: readonly FlagSpec[] = [
  { name: 'seed', key: null, help: 'root seed (run: overrides the scenario\'s; fuzz: first seed)' },
  { name: 'json', key: null, boolean: true, help: 'print the report as JSON' },
  { name: 'check-determinism', key: null, boolean: true, help: 'run each seed twice and compare trace hashes' },
  { name: 'real', key: null, boolean: true, help: 'run: play the scenario on real libp2p nodes (memory transport, wall clock; sim/real/README.md)' },
  { name: 'time-scale', key: null, help: 'run --real: wall ms per scenario ms, e.g. 0.25 runs 4x faster (default 1)' },
  { name: 'no-anti-entropy', key: null, boolean: true, help: 'test switch: nodes run without anti-entropy' },
  { name: 'runs', key: null, help: 'fuzz: how many seeds (default 20)' },
  { name: 'nodes', key: null, help: 'fuzz: nodes per run (default 9)' },
  { name: 'voters', key: null, help: 'fuzz: run the election with this many voters (default 0: none)' },
  { name: 'scenario', key: null, help: 'fuzz: base the runs on this scenario file, with random seeds' },
  { name: 'jobs', key: null, boolean: true, help: 'fuzz: run the JobManager over simulated job processes and check the job ledger (needs --voters)' }
]

export const simHelp = `riftmesh sim run <scenario.yaml> [--seed N] [--json] [--check-determinism] [--real [--time-scale 0.25]]
riftmesh sim fuzz [--scenario S] [--runs N] [--nodes N] [--voters N [--jobs]] [--seed S] [--check-determinism]

Run the real node logic on a simulated network and virtual time. 'run' plays one scenario
(exit 1 when an invariant is violated); 'fuzz' plays random fault schedules, one per seed, and
prints every failing seed with the command that replays it. Scenario format: sim/README.md.
'run --real' plays the same scenario on real libp2p nodes in this process, on the wall clock.`

function intFlag (args: ParsedArgs, name: string, fallback: number, min: number): number {
  const v = args.values.get(name)
  if (v === undefined) return fallback
  const n = Number(v)
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`--${name}`, `an integer ≥ ${min}`, `got ${String(v)}`)
  return n
}

const failed = (r: SimReport): boolean => r.checks.some(c => !c.ok)

export async function runSim (args: ParsedArgs, out: (s: string) => void): Promise<number> {
  const [verb, file] = args.positionals
  const json = args.values.get('json') === true
  const determinism = args.values.get('check-determinism') === true
  const antiEntropy = args.values.get('no-anti-entropy') !== true
  if (verb === 'run') {
    if (file === undefined) throw new UsageError('no scenario file given', 'riftmesh sim run FILE.yaml [--seed N]')
    const scenario = await loadScenario(file)
    const seed = intFlag(args, 'seed', scenario.seed, 0)
    if (args.values.get('real') === true) {
      if (determinism) throw new ConfigError('--check-determinism', 'no --real', 'a wall-clock run has no trace hash')
      const timeScale = Number(args.values.get('time-scale') ?? 1)
      const r = await runRealScenario(scenario, { seed, antiEntropy, timeScale })
      out(json ? JSON.stringify(r, null, 2) : formatRealReport(r))
      return failed(r) ? 1 : 0
    }
    const r = await runSimulation(scenario, { seed, antiEntropy })
    out(json ? JSON.stringify(r, null, 2) : formatReport(r))
    if (determinism) {
      const again = await runSimulation(scenario, { seed, antiEntropy })
      const same = again.traceHash === r.traceHash
      out(`determinism: ${same ? 'same' : 'DIFFERENT'} trace hash on a second run (${again.traceHash.slice(0, 16)})`)
      if (!same) return 1
    }
    return failed(r) ? 1 : 0
  }
  if (verb === 'fuzz') {
    const runs = intFlag(args, 'runs', 20, 1)
    const nodes = intFlag(args, 'nodes', 9, 1)
    const first = intFlag(args, 'seed', 1, 0)
    const voters = intFlag(args, 'voters', 0, 0)
    const jobs = args.values.get('jobs') === true
    if (jobs && voters === 0) throw new UsageError('--jobs needs --voters N (jobs are dispatched by a leader)', 'riftmesh sim fuzz --voters 3 --jobs')
    const base = typeof args.values.get('scenario') === 'string' ? await loadScenario(args.values.get('scenario') as string) : undefined
    let failures = 0
    let hostile: HostileTotals = { runs: 0, forged: 0, refusals: {} }
    const t0 = performance.now()
    for (let seed = first; seed < first + runs; seed++) {
      const scenario = base ?? fuzzScenario(seed, { nodes, voters, jobs })
      const r = await runSimulation(scenario, { seed, antiEntropy })
      hostile = addHostile(hostile, r.hostile)
      let bad = failed(r)
      let why = r.violation?.detail ?? ''
      if (determinism) {
        const again = await runSimulation(scenario, { seed, antiEntropy })
        if (again.traceHash !== r.traceHash) { bad = true; why = `non-deterministic: trace ${r.traceHash.slice(0, 12)} then ${again.traceHash.slice(0, 12)}` }
      }
      if (bad) {
        failures++
        const replay = base !== undefined ? `riftmesh sim run ${args.values.get('scenario') as string} --seed ${seed}` : `riftmesh sim fuzz --nodes ${nodes}${voters > 0 ? ` --voters ${voters}` : ''}${jobs ? ' --jobs' : ''} --seed ${seed} --runs 1`
        out(`FAIL seed=${seed}: ${why}\n  replay: ${replay}`)
        if (json) out(JSON.stringify(r))
      }
    }
    out(`fuzz: ${runs} runs, ${nodes} nodes${voters > 0 ? `, ${voters} voters` : ''}${jobs ? ', jobs' : ''}, ${failures} failed, ${((performance.now() - t0) / 1000).toFixed(1)} s`)
    if (hostile.runs > 0) out(formatHostileTotals(hostile))
    return failures > 0 ? 1 : 0
  }
  throw subcommandError(verb, ['run', 'fuzz'], 'riftmesh sim run FILE.yaml | sim fuzz [--runs N]')
}
