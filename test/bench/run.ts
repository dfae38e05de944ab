/**
 * `npm run bench`: every benchmark, one after another, in one process. Figures are printed as
 * tables; each compares riftmesh with a baseline measured in the same run. Pass names to run a
 * subset: `npm run bench -- state`.
 */
import { jobsChurn, nodeInfoDay, type SizeResult } from './state-size.js'
import { propagation } from './propagation.js'
import { signedPropagation } from './signed-propagation.js'
import { simScale } from './sim-scale.js'
import { failover } from './failover.js'
import { managersBench } from './managers.js'
import { jobsBench } from './jobs.js'
import { transfer } from './transfer.js'
import { admissionBench } from './admission.js'

const suites: Record<string, () => Promise<SizeResult[]>> = {
  state: async () => [await nodeInfoDay(), await jobsChurn()],
  propagation: async () => [...await propagation(), ...await signedPropagation()],
  signatures: signedPropagation,
  sim: simScale,
  failover: async () => await failover(),
  managers: async () => await managersBench(),
  jobs: jobsBench,
  transfer,
  admission: admissionBench
}

function print (r: SizeResult): void {
  process.stdout.write(`\n${r.name}\n`)
  const width = Math.max(...Object.keys(r.values).map(k => k.length))
  for (const [k, v] of Object.entries(r.values)) process.stdout.write(`  ${k.padEnd(width)}  ${typeof v === 'number' ? v.toLocaleString('en-US') : v}\n`)
}

const wanted = process.argv.slice(2)
const unknown = wanted.filter(w => !(w in suites))
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; known: ${Object.keys(suites).join(', ')}\n`)
  process.exit(2)
}
process.stdout.write(`riftmesh benchmarks — node ${process.version}, ${new Date().toISOString()}\n`)
for (const name of wanted.length > 0 ? wanted : Object.keys(suites)) {
  const t0 = performance.now()
  for (const r of await suites[name]!()) print(r)
  process.stdout.write(`  [${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s, peak RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB]\n`)
}
