/**
 * An A/B test on three real `riftmesh node` processes: two models made by the built-in train
 * workload (one fully trained, one from a single epoch on 100 positions) are played against
 * each other in tournament jobs spread over the cluster until a verdict; every game is in the
 * owner's LevelDB — read directly after the node stops — and the test reads the same after a restart.
 */
import { execFile } from 'node:child_process'
import { cp, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger } from '../../src/core/logger.js'
import { writeSwarmKey } from '../../src/mesh/keys.js'
import { demoNodeArgs } from '../../src/cli/commands/demo.js'
import { openLevel } from '../../src/store/level.js'
import { LocalTables } from '../../src/store/tables.js'
import { tempDir } from '../helpers.js'
import { riftmeshCli, riftmeshPiped } from '../support/cli.js'
import { FAST_ELECTION, CLI, FAST_TIMINGS, startNodeProcess, stopNodesAndJobs, type NodeProcess } from '../support/node-process.js'

const run = promisify(execFile)
const CONFIG = 'hex8_2p'
const STRONG = `models/${CONFIG}/strong.json`
const WEAK = `models/${CONFIG}/weak.json`

interface AbRow { id: string, status: string, verdict: string | null, games: number, gameBudget: number, aWins: number, bWins: number, draws: number, jobs: Record<string, number> }

let root: string
let cleanup: () => Promise<void>
let keyFile: string
const running: NodeProcess[] = []
const nodes: Record<string, NodeProcess> = {}

function args (): string[] {
  return [
    ...demoNodeArgs(keyFile, 100), ...FAST_TIMINGS,
    ...FAST_ELECTION,
    '--set', 'sync.planIntervalMs=1000', '--set', 'sync.manifestCollectionIntervalMs=1000', '--set', 'sync.manifestCollectionTimeoutMs=1000'
  ]
}

async function start (name: string, extra: string[] = []): Promise<NodeProcess> {
  const n = await startNodeProcess(join(root, name), [...args(), ...extra])
  running.push(n)
  nodes[name] = n
  return n
}

async function cli (...argv: string[]): Promise<string> {
  return (await run(process.execPath, [CLI, ...argv], { timeout: 60_000 })).stdout
}

/** Nothing of an A/B test was written on this node: no stored test, no definition in the settings. */
async function noTestWritten (n: NodeProcess, dataDir: string): Promise<void> {
  expect(JSON.parse(await cli('ab', 'list', '--data-dir', dataDir, '--json'))).toEqual([])
  const doc = await n.request('doc') as { control?: { settings?: Record<string, unknown> } }
  expect(Object.keys(doc.control?.settings ?? {}).filter(k => k.startsWith('abTest/'))).toEqual([])
}

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir('riftmesh-ab-'))
  keyFile = join(root, 'swarm.key')
  await writeSwarmKey(keyFile)
  // the two models, made by the built-in workloads in node a's data dir before it starts
  const a = join(root, 'a')
  const out = join(root, 'out')
  await mkdir(a, { recursive: true, mode: 0o700 })
  await mkdir(out, { recursive: true })
  await cli('worker', 'selfplay', '--job-id', 'games', '--board', 'hex8', '--players', '2', '--engine-mode', 'heuristic', '--games', '120', '--data-dir', a, '--output-dir', out)
  await cli('worker', 'train', '--job-id', 'strong', '--config', CONFIG, '--data-dir', a, '--output-dir', out)
  await cli('worker', 'train', '--job-id', 'weak', '--config', CONFIG, '--data-dir', a, '--output-dir', out, '--epochs', '1', '--max-positions', '100')
  const first = await start('a')
  await start('b', ['--bootstrap', first.addr])
  await start('c', ['--bootstrap', first.addr])
  // no self-play: only the A/B test's tournament jobs run
  await first.request('setSetting', { name: 'staticPriority', value: Object.fromEntries(['square8', 'square19', 'hex8', 'hexagonal'].flatMap(b => [2, 3, 4].map(p => [`${b}_${p}p`, 0]))) })
  await first.request('setSetting', { name: 'voters', value: Object.values(nodes).map(n => n.peerId), force: true }) // the others may not be heard yet
}, 120_000)

afterAll(async () => {
  await stopNodesAndJobs(running)
  await cleanup()
})

describe('ab start refuses a test that cannot run, with the reason, and writes nothing', () => {
  it('a model no node holds: the CLI and the REPL say which, exit non-zero', async () => {
    const dataDir = join(root, 'a')
    const missing = `models/${CONFIG}/no-such-model.json`
    const r = await riftmeshCli('ab', 'start', '--data-dir', dataDir, '--config', CONFIG, '--a', STRONG, '--b', missing)
    expect(r.code).not.toBe(0)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toContain(`model B ${missing} is on no node (not in this node's data dir nor in any node's manifest)`)
    expect(r.stderr).not.toMatch(/\n\s+at /)
    const repl = await riftmeshPiped(['repl', '--data-dir', dataDir], [`abStart({config: '${CONFIG}', modelA: '${missing}', modelB: '${WEAK}'})`])
    expect(repl.stdout).toContain(`error: abStart: model A ${missing} is on no node`)
    expect(repl.code).toBe(1)
    expect(repl.stderr).toMatch(/^riftmesh repl: 1 of 1 input\(s\) failed; the first, input 1: abStart: model A .* is on no node [^\n]*\n$/)
    await noTestWritten(nodes.a as NodeProcess, dataDir)
  }, 60_000)

  it('no node with the tournament capability: refused with how to add it', async () => {
    // a node of its own cluster on the default capabilities of a CPU node (no tournament), holding both models
    const soloKey = join(root, 'solo.key')
    await writeSwarmKey(soloKey)
    const dataDir = join(root, 'solo')
    await mkdir(join(dataDir, 'models'), { recursive: true, mode: 0o700 })
    await cp(join(root, 'a', 'models', CONFIG), join(dataDir, 'models', CONFIG), { recursive: true })
    const solo = await startNodeProcess(dataDir, ['--swarm-key', soloKey, ...FAST_TIMINGS])
    running.push(solo)
    const r = await riftmeshCli('ab', 'start', '--data-dir', dataDir, '--config', CONFIG, '--a', STRONG, '--b', WEAK)
    expect(r.code).not.toBe(0)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toContain('no node can run tournaments: none of the 1 alive node(s) has the tournament capability (add it on a node: --set node.capabilities=')
    const repl = await riftmeshPiped(['repl', '--data-dir', dataDir], [`abStart({config: '${CONFIG}', modelA: '${STRONG}', modelB: '${WEAK}'})`])
    expect(repl.stdout).toContain('error: abStart: no node can run tournaments')
    expect(repl.code).toBe(1)
    await noTestWritten(solo, dataDir)
    await solo.stop('SIGTERM')
  }, 60_000)
})

describe('an A/B test on three real nodes', () => {
  it('reaches a verdict; its games are in the owner\'s LevelDB and survive a restart', async () => {
    const dataDir = join(root, 'a')
    await expect.poll(async () => ((await nodes.a?.request('status')) as { election: { leader: unknown } }).election.leader, { timeout: 20_000 }).not.toBeNull()
    // bad input gets a clear error
    await expect(cli('ab', 'start', '--data-dir', dataDir, '--config', CONFIG, '--a', STRONG, '--b', STRONG)).rejects.toThrow(/same file/)
    const started = JSON.parse(await cli('ab', 'start', '--data-dir', dataDir, '--json', '--config', CONFIG, '--a', STRONG, '--b', WEAK, '--games', '80', '--games-per-job', '20')) as { id: string }
    const show = async (): Promise<AbRow> => JSON.parse(await cli('ab', 'show', started.id, '--data-dir', dataDir, '--json')) as AbRow
    await expect.poll(async () => (await show()).status, { timeout: 150_000, interval: 1_000 }).not.toBe('running')
    const done = await show()
    process.stdout.write(`A/B verdict: ${done.status}: ${done.verdict}\n`)
    expect(['decided', 'exhausted']).toContain(done.status)
    expect(done.verdict).toMatch(/A scores [\d.]+ % \[[\d.]+ %, [\d.]+ %\] over \d+ games/)
    expect(done.games).toBeGreaterThanOrEqual(20)
    expect(done.aWins + done.bWins + done.draws).toBe(done.games)
    // the tournaments ran as jobs on more than one node
    const jobs = await nodes.a?.request('jobs', { type: 'tournament' }) as Array<{ node: string, state: string }>
    expect(new Set(jobs.filter(j => j.state === 'COMPLETE').map(j => j.node)).size).toBeGreaterThan(1)
    expect(jobs.filter(j => j.state === 'REFUSED')).toEqual([]) // dispatched within what each node admits
    const text = await cli('ab', 'list', '--data-dir', dataDir)
    expect(text).toContain(`${started.id}  ${CONFIG}  ${done.status}`)

    // stop the owner and read its LevelDB directly: every game is there
    await nodes.a?.stop('SIGTERM')
    const db = await openLevel(join(dataDir, 'db'))
    try {
      const tables = new LocalTables(db, silentLogger())
      const games = await tables.abTestGamesOf(started.id)
      expect(games).toHaveLength(done.games)
      expect(games.filter(g => g.winner === 'A')).toHaveLength(done.aWins)
      expect((await tables.abTests.get(started.id))?.status).toBe(done.status)
    } finally {
      await db.close()
    }
    // and after a restart the node reports the same
    await start('a', ['--bootstrap', (nodes.b as NodeProcess).addr])
    expect(await show()).toMatchObject({ status: done.status, verdict: done.verdict, games: done.games })
  }, 240_000)
})
