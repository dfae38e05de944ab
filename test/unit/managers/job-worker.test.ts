import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { SystemClock } from '../../../src/core/clock.js'
import { silentLogger } from '../../../src/core/logger.js'
import { SeededRng } from '../../../src/core/rng.js'
import { ProcessRunner } from '../../../src/jobs/runner.js'
import { JobWorker, SETTING_JOB_COMMANDS, commandOverrides } from '../../../src/managers/job-worker.js'
import { ClusterState } from '../../../src/state/cluster-state.js'
import type { DispatchInput } from '../../../src/state/cluster-state.js'
import { openLevel, type RootDb } from '../../../src/store/level.js'
import { LocalTables } from '../../../src/store/tables.js'
import { TEST_OPERATOR, nodeId, setSignedSetting, signerOfId, sampleNodeInfo, tempDir } from '../../helpers.js'
import { resolveCommandTemplate } from '../../../src/jobs/command-template.js'

const SELF = nodeId(1)
const node = process.execPath
/** Writes outputs.json into the output dir (argv[1]) and exits 0. */
const OK_SCRIPT = "require('fs').writeFileSync(require('path').join(process.argv[1], 'outputs.json'), JSON.stringify({ outputs: ['games:7', 'file:selfplay/x.jsonl'] }))"

/** A literal template element: braces doubled. */
const lit = (code: string): string => code.replace(/\{/g, '{{').replace(/\}/g, '}}')

interface Rig { state: ClusterState, worker: JobWorker, runner: ProcessRunner, db: RootDb, tables: LocalTables }

describe('JobWorker with real processes', () => {
  let dir: string
  let cleanup: () => Promise<void>
  const rigs: Rig[] = []
  const clock = new SystemClock()

  beforeEach(async () => { ({ dir, cleanup } = await tempDir('riftmesh-worker-')) })
  afterEach(async () => {
    for (const r of rigs.splice(0)) {
      await r.worker.stop()
      await r.runner.stop({ killJobs: true })
      await r.db.close()
    }
    await cleanup()
  })

  async function rig (state?: ClusterState, hasGpu = false): Promise<Rig> {
    const s = state ?? new ClusterState({ clock, logger: silentLogger(), rng: new SeededRng(1), signer: signerOfId(SELF) }, { selfId: SELF, operators: [TEST_OPERATOR.id] })
    if (state === undefined) {
      s.setNodeInfo(sampleNodeInfo(SELF, { capabilities: ['selfplay', 'export', 'gauntlet'] }))
      setSignedSetting(s, SETTING_JOB_COMMANDS, {
        export: [node, '-e', lit(OK_SCRIPT), '{outputDir}'],
        tournament: [node, '-e', "process.stderr.write('boom: the model file is missing\\n'); process.exit(3)"],
        gauntlet: [node, '-e', lit('setTimeout(() => {}, 60000)')],
        selfplay: [node, '-e', lit(OK_SCRIPT), '{outputDir}', '{engineMode}']
      })
    }
    const db = await openLevel(join(dir, `db-${rigs.length}`))
    const tables = new LocalTables(db, silentLogger())
    const runner = new ProcessRunner({ clock, logger: silentLogger() }, { dataDir: dir, killGraceMs: 300, adoptPollIntervalMs: 100, supervisorCloseGraceMs: 500 })
    const worker = new JobWorker({ state: s, flush: async () => {}, tables, runner, voters: () => [], clock, logger: silentLogger() }, {
      dataDir: dir, hasGpu: () => hasGpu, capabilities: () => ['selfplay', 'export', 'gauntlet', 'tournament'], maxProcesses: 4
    })
    await worker.start()
    const r = { state: s, worker, runner, db, tables }
    rigs.push(r)
    return r
  }

  const dispatch = (s: ClusterState, over: Partial<DispatchInput> = {}): string =>
    s.dispatchJob({ type: 'export', config: null, engineMode: null, spec: {}, assignedNode: SELF, dispatchEpoch: 1, attempt: 1, previousJobId: null, ...over }).jobId

  async function until (r: Rig, jobId: string, states: string[]): Promise<void> {
    await expect.poll(async () => { await r.worker.scan(); return r.state.job(jobId)?.state }, { timeout: 15_000, interval: 50 }).toSatisfy((s: unknown) => states.includes(String(s)))
  }

  it('runs a dispatch as a real process: RUNNING, then COMPLETE with the outputs it reported', async () => {
    const r = await rig()
    const id = dispatch(r.state)
    await r.worker.scan()
    expect(r.state.job(id)?.status?.error ?? null).toBeNull()
    expect(r.state.job(id)?.status).toMatchObject({ state: 'RUNNING', node: SELF })
    expect(r.state.job(id)?.status?.pid).toBeGreaterThan(0)
    await until(r, id, ['COMPLETE'])
    expect(r.state.job(id)?.status).toMatchObject({ exitCode: 0, outputs: ['games:7', 'file:selfplay/x.jsonl'], error: null })
    await r.worker.scan()
    expect(r.worker.counters).toMatchObject({ started: 1, completed: 1 })
  })

  it('a failing command reaches FAILED with its exit code and the log tail', async () => {
    const r = await rig()
    const id = dispatch(r.state, { type: 'tournament' })
    await until(r, id, ['FAILED'])
    const st = r.state.job(id)?.status
    expect(st?.exitCode).toBe(3)
    expect(st?.error).toContain('boom: the model file is missing')
  })

  it('cancel (a CANCELLED verdict from any node) stops the process', async () => {
    const r = await rig()
    const id = dispatch(r.state, { type: 'gauntlet' })
    await until(r, id, ['RUNNING'])
    const pid = r.state.job(id)?.status?.pid as number
    r.state.addVerdict({ jobId: id, verdict: 'CANCELLED', epoch: 1, reason: 'operator asked' })
    await until(r, id, ['CANCELLED'])
    await expect.poll(() => r.runner.get(id), { timeout: 10_000 }).toBeUndefined()
    expect(() => process.kill(pid, 0)).toThrow()
    expect(r.state.job(id)?.status?.state).toBe('FAILED') // the node's own word; the verdict makes it CANCELLED
  })

  it('refuses a dispatch below the epoch it already accepted, and one it has no capability for', async () => {
    const r = await rig()
    await until(r, dispatch(r.state, { dispatchEpoch: 5 }), ['COMPLETE'])
    const old = dispatch(r.state, { dispatchEpoch: 4 })
    await until(r, old, ['REFUSED'])
    expect(r.state.job(old)?.status?.error).toMatch(/below epoch 5/)
    const train = dispatch(r.state, { type: 'training', dispatchEpoch: 5 })
    await until(r, train, ['REFUSED'])
    expect(r.state.job(train)?.status?.error).toMatch(/no training capability/)
  })

  it('a job waits for its input model to arrive (by sync) before it starts, and is refused if it never does', async () => {
    const r = await rig()
    const id = dispatch(r.state, { type: 'export', spec: { modelPath: 'models/hex8_2p/m1.json' } })
    await r.worker.scan()
    expect(r.state.job(id)?.status).toBeUndefined()
    expect(r.worker.waitingInputs.get(id)).toEqual(['models/hex8_2p/m1.json'])
    const { mkdir, writeFile } = await import('node:fs/promises')
    await mkdir(join(dir, 'models/hex8_2p'), { recursive: true })
    await writeFile(join(dir, 'models/hex8_2p/m1.json'), '{}')
    await until(r, id, ['COMPLETE'])
    expect(r.worker.waitingInputs.size).toBe(0)
    const escape = dispatch(r.state, { type: 'export', spec: { modelPath: '../../etc/passwd' } })
    await r.worker.scan()
    expect(r.worker.waitingInputs.get(escape)).toEqual(['../../etc/passwd'])
  })

  it('a GPU engine mode on a CPU node falls back to heuristic and says so', async () => {
    const r = await rig()
    const id = dispatch(r.state, { type: 'selfplay', config: 'hex8_2p', engineMode: 'gumbel-mcts' })
    await until(r, id, ['COMPLETE'])
    const st = r.state.job(id)?.status
    expect(st?.engineMode).toBe('heuristic')
    expect(st?.outputs[0]).toMatch(/^fallback:/)
  })

  it('after a restart of the node (not its job) the job is re-adopted, never started twice', async () => {
    const a = await rig()
    const id = dispatch(a.state, { type: 'gauntlet' })
    await until(a, id, ['RUNNING'])
    const pid = a.state.job(id)?.status?.pid
    await a.worker.stop()
    await a.runner.stop() // the node goes away; its job keeps running
    rigs.splice(rigs.indexOf(a), 1)
    await a.db.close()
    const b = await rig(a.state)
    expect(b.worker.counters.adopted).toBe(1)
    expect(b.runner.get(id)?.pid).toBe(pid)
    await b.worker.scan()
    expect(b.worker.counters.started).toBe(0)
    b.state.addVerdict({ jobId: id, verdict: 'CANCELLED', epoch: 1, reason: 'test done' })
    await until(b, id, ['CANCELLED'])
  })
})

describe('the jobCommands setting', () => {
  it('gives per-type templates, a selfplay template per runner by "selfplay:<runner>" keys, and ignores malformed entries', () => {
    const o = commandOverrides({ training: ['/bin/train', '{config}'], 'selfplay:gpu': ['/bin/gpu-play'], selfplay: ['/bin/play'], export: 'not a list', gauntlet: [] })
    expect(resolveCommandTemplate('training', 'hybrid', o)).toEqual(['/bin/train', '{config}'])
    expect(resolveCommandTemplate('selfplay', 'gpu', o)).toEqual(['/bin/gpu-play'])
    expect(resolveCommandTemplate('selfplay', 'hybrid', o)).toEqual(['/bin/play'])
    expect(resolveCommandTemplate('export', 'hybrid', o)).toEqual(resolveCommandTemplate('export'))
    expect(resolveCommandTemplate('gauntlet', 'hybrid', o)).toEqual(resolveCommandTemplate('gauntlet'))
    // only one runner given: the other keeps the built-in selfplay
    const gpuOnly = commandOverrides({ 'selfplay:gpu': ['/bin/gpu-play'] })
    expect(resolveCommandTemplate('selfplay', 'hybrid', gpuOnly)).toEqual(resolveCommandTemplate('selfplay', 'hybrid'))
    expect(commandOverrides(null)).toEqual({})
  })
})
