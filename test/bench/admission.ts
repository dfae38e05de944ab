/**
 * Admission benchmark (issue 24 §6): three real `riftmesh node` processes on 127.0.0.1 with the
 * default job settings (5 starts a minute per node, the built-in selfplay workload, a dispatch
 * pass every 10 s) run for `RIFTMESH_BENCH_ADMISSION_S` seconds (default 240); then the selfplay
 * jobs by state and the reasons of the REFUSED ones. Before the leader dispatched within what each
 * node admits, about one job in five ended REFUSED for the spawn rate.
 */
import { join } from 'node:path'
import { SystemClock, sleep } from '../../src/core/clock.js'
import { writeSwarmKey } from '../../src/mesh/keys.js'
import { tempDir } from '../helpers.js'
import { startNodeProcess, stopNodesAndJobs, type NodeProcess } from '../support/node-process.js'
import type { SizeResult } from './state-size.js'

interface Job { state: string, type: string, error: string | null }

export async function admissionBench (seconds = Number(process.env.RIFTMESH_BENCH_ADMISSION_S ?? 240)): Promise<SizeResult[]> {
  const { dir, cleanup } = await tempDir('riftmesh-bench-admission-')
  const nodes: NodeProcess[] = []
  const clock = new SystemClock()
  try {
    const key = join(dir, 'swarm.key')
    await writeSwarmKey(key)
    nodes.push(await startNodeProcess(join(dir, 'a'), ['--swarm-key', key], 30_000))
    for (const name of ['b', 'c']) nodes.push(await startNodeProcess(join(dir, name), ['--swarm-key', key, '--bootstrap', nodes[0]!.addr], 30_000))
    const t0 = clock.monoMs()
    while (clock.monoMs() - t0 < seconds * 1_000) await sleep(clock, 5_000)
    const jobs = await nodes[0]!.request('jobs') as Job[]
    const values: Record<string, number | string> = { 'run (s)': seconds, 'jobs dispatched': jobs.length }
    for (const j of jobs) values[`${j.type} ${j.state}`] = (Number(values[`${j.type} ${j.state}`] ?? 0)) + 1
    for (const j of jobs.filter(x => x.state === 'REFUSED')) {
      const why = `REFUSED: ${(j.error ?? '').replace(/^job \S+: /, '').replace(/\d+/g, 'N').slice(0, 60)}`
      values[why] = Number(values[why] ?? 0) + 1
    }
    return [{ name: 'Admission: 3 default nodes, selfplay jobs by state', values }]
  } finally {
    await stopNodesAndJobs(nodes)
    await cleanup()
  }
}
