/**
 * The job templates run a user's own script instead of a built-in workload: a real riftmesh
 * node whose `jobCommands` setting points selfplay at a small shell script (standing in for a
 * team's own self-play program). The script gets its values from the placeholders, writes a
 * games file where the manifest counts it and reports through outputs.json; the job reaches
 * COMPLETE with the script's outputs in the cluster document, and the node's manifest counts
 * the games.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chmod, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { writeSwarmKey } from '../../src/mesh/keys.js'
import { tempDir } from '../helpers.js'
import { FAST_ELECTION, FAST_TIMINGS, startNodeProcess, stopNodesAndJobs, type NodeProcess } from '../support/node-process.js'
import { signedSetting, testOperator, type TestOperator } from '../support/operator.js'

interface Job { jobId: string, type: string, config: string | null, node: string, state: string, outputs: string[], error: string | null }

/** The user's script: argv from the template, one JSON game per line, then outputs.json. */
const USER_SCRIPT = `#!/bin/sh
set -eu
job_id="$1"; config="$2"; data_dir="$3"; output_dir="$4"; engine="$5"; games="$6"
mkdir -p "$data_dir/selfplay/$config" "$output_dir"
tmp="$data_dir/selfplay/$config/$job_id.jsonl.partial"
: > "$tmp"
i=0
while [ "$i" -lt "$games" ]; do
  printf '{"game":%d,"engine":"%s","winner":%d}\\n' "$i" "$engine" $((i % 2)) >> "$tmp"
  i=$((i + 1))
done
mv "$tmp" "$data_dir/selfplay/$config/$job_id.jsonl"
printf '{"outputs":["games:%s","file:selfplay/%s/%s.jsonl","by:user-script"]}\\n' "$games" "$config" "$job_id" > "$output_dir/outputs.json"
`

const SETTLE = [
  ...FAST_TIMINGS,
  ...FAST_ELECTION,
  '--set', 'jobs.selfplayDispatchIntervalMs=500', '--set', 'jobs.selfplayGamesPerJob=7', '--set', 'jobs.spawnRatePerMinute=600',
  '--set', 'jobs.jobHeartbeatIntervalMs=1000', '--set', 'training.readinessIntervalMs=600000'
]

let root: string
let cleanup: () => Promise<void>
let node: NodeProcess | undefined
let op: TestOperator

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir('riftmesh-user-script-'))
  const keyFile = join(root, 'swarm.key')
  await writeSwarmKey(keyFile)
  op = await testOperator(root)
  const script = join(root, 'my-selfplay.sh')
  await writeFile(script, USER_SCRIPT)
  await chmod(script, 0o755)
  node = await startNodeProcess(join(root, 'a'), ['--swarm-key', keyFile, ...SETTLE, ...op.args])
  await signedSetting(node, op, 'jobCommands', { selfplay: [script, '{jobId}', '{config}', '{dataDir}', '{outputDir}', '{engineMode}', '{games}'] })
  // one config, so the test knows where the games go
  const configs = ['square8', 'square19', 'hex8', 'hexagonal'].flatMap(b => [2, 3, 4].map(p => `${b}_${p}p`))
  await signedSetting(node, op, 'staticPriority', Object.fromEntries(configs.map(c => [c, c === 'square8_3p' ? 8 : 0])))
  await signedSetting(node, op, 'voters', [node.peerId], true) // one node: epoch mode on purpose
}, 60_000)

afterAll(async () => {
  if (node !== undefined) await stopNodesAndJobs([node])
  await cleanup()
})

describe('job templates pointing at a user script', () => {
  it('a selfplay job runs the shell script with the placeholders; COMPLETE with its outputs in the document; its games in the manifest', async () => {
    const n = node as NodeProcess
    const done = async (): Promise<Job | undefined> => ((await n.request('jobs')) as Job[]).find(j => j.type === 'selfplay' && j.state === 'COMPLETE')
    await expect.poll(done, { timeout: 30_000, interval: 300 }).toBeDefined()
    const job = await done() as Job
    expect(job.config).toBe('square8_3p')
    expect(job.outputs).toEqual(['games:7', `file:selfplay/square8_3p/${job.jobId}.jsonl`, 'by:user-script'])
    const lines = (await readFile(join(n.dataDir, 'selfplay/square8_3p', `${job.jobId}.jsonl`), 'utf8')).trim().split('\n')
    expect(lines.length).toBe(7)
    expect(JSON.parse(lines[0] as string)).toMatchObject({ game: 0 })
    // the data dir scan counts the script's games like any others (one line, one game)
    await expect.poll(async () => {
      const doc = await n.request('doc') as { manifests?: { manifests?: Record<string, { summary?: Record<string, { games: number }> }> } }
      return doc.manifests?.manifests?.[n.peerId]?.summary?.square8_3p?.games ?? 0
    }, { timeout: 20_000, interval: 300 }).toBeGreaterThanOrEqual(7)
  })

  it('without the setting the same jobs run the built-in selfplay workload again (real game records)', async () => {
    const n = node as NodeProcess
    await signedSetting(n, op, 'jobCommands', {})
    const builtIn = async (): Promise<Job | undefined> => ((await n.request('jobs')) as Job[]).find(j => j.type === 'selfplay' && j.state === 'COMPLETE' && j.outputs.some(o => o.startsWith('engine:')))
    await expect.poll(builtIn, { timeout: 30_000, interval: 300 }).toBeDefined()
    const job = await builtIn() as Job
    expect(job.outputs).toContain('games:7')
    const first = (await readFile(join(n.dataDir, 'selfplay/square8_3p', `${job.jobId}.jsonl`), 'utf8')).split('\n')[0] as string
    expect(JSON.parse(first)).toMatchObject({ v: 1, config: 'square8_3p', players: 3 })
  })
})
