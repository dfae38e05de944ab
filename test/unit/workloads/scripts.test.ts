import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readFile, readdir, writeFile, appendFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { defaultCommandTemplate, expandTemplate, templateValuesForJob } from '../../../src/jobs/command-template.js'
import type { JobTypeName } from '../../../src/core/vocabulary.js'
import { parseArgs } from '../../../src/cli/args.js'
import { runWorker, workerFlags } from '../../../src/cli/commands/worker.js'
import { WORKLOADS } from '../../../src/workloads/registry.js'
import { runWorkload, type Workload } from '../../../src/workloads/workload.js'
import { parseFlags } from '../../../src/workloads/flags.js'
import { countsGames } from '../../../src/transfer/file-info.js'
import { tempDir } from '../../helpers.js'

let dataDir: string
let cleanup: () => Promise<void>
beforeAll(async () => { ({ dir: dataDir, cleanup } = await tempDir('riftmesh-workloads-')) })
afterAll(async () => { await cleanup() })

interface Run { code: number, out: string[], err: string[], outputs: string[] }

async function run (w: Workload, argv: readonly string[]): Promise<Run> {
  const out: string[] = []
  const err: string[] = []
  const code = await runWorkload(w, argv, s => out.push(s), s => err.push(s))
  const i = argv.indexOf('--output-dir')
  let outputs: string[] = []
  if (code === 0 && i >= 0) outputs = (JSON.parse(await readFile(join(argv[i + 1] as string, 'outputs.json'), 'utf8')) as { outputs: string[] }).outputs
  return { code, out, err, outputs }
}

/** The argv the default template of `type` gives a job (without the node and script path). */
function templateArgv (type: JobTypeName, jobId: string, spec: Record<string, string | number>, config = 'hex8_2p', engineMode = 'heuristic'): string[] {
  const argv = expandTemplate(defaultCommandTemplate(type, 'gpu'), templateValuesForJob({
    jobId, type, config, engineMode, runner: 'gpu', dataDir, workDir: join(dataDir, 'jobs', jobId), outputDir: join(dataDir, 'jobs', jobId, 'out'), spec
  }))
  return argv.slice(2)
}

const output = (r: Run, prefix: string): string | undefined => r.outputs.find(o => o.startsWith(prefix))?.slice(prefix.length)

describe('workload scripts, run with the argv of the default job templates', () => {
  it('selfplay writes one JSON game per line under selfplay/<config>/, atomically, and reports games and file', async () => {
    const r = await run(WORKLOADS.selfplay as Workload, templateArgv('selfplay', 'sp-1', { games: 40 }))
    expect(r.code).toBe(0)
    expect(r.outputs).toContain('games:40')
    expect(output(r, 'file:')).toBe('selfplay/hex8_2p/sp-1.jsonl')
    const text = await readFile(join(dataDir, 'selfplay/hex8_2p/sp-1.jsonl'), 'utf8')
    const lines = text.trim().split('\n')
    expect(lines.length).toBe(40)
    expect(JSON.parse(lines[0] as string)).toMatchObject({ v: 1, config: 'hex8_2p', players: 2, engine: 'heuristic' })
    expect(await readdir(join(dataDir, 'selfplay/hex8_2p'))).toEqual(['sp-1.jsonl'])
    // the same job id plays the same games
    const again = await run(WORKLOADS.selfplay as Workload, [...templateArgv('selfplay', 'sp-1', { games: 40 }).map(a => a.replace('sp-1/out', 'sp-1/out2'))])
    expect(again.code).toBe(0)
    expect(await readFile(join(dataDir, 'selfplay/hex8_2p/sp-1.jsonl'), 'utf8')).toBe(text)
  })

  it('train fits a model on every selfplay file of the config, skips bad records, and reports model:<path in the data dir>', async () => {
    expect((await run(WORKLOADS.selfplay as Workload, templateArgv('selfplay', 'sp-2', { games: 60 }, 'hex8_2p', 'random'))).code).toBe(0)
    await appendFile(join(dataDir, 'selfplay/hex8_2p/sp-2.jsonl'), '{"not":"a game"}\n')
    const r = await run(WORKLOADS.train as Workload, templateArgv('training', 'tr-1', { games: 100 }))
    expect(r.code).toBe(0)
    expect(output(r, 'model:')).toBe('models/hex8_2p/tr-1.json')
    expect(output(r, 'games:')).toBe('100')
    expect(output(r, 'skipped:')).toBe('1')
    const [before, after] = (output(r, 'loss:') as string).split('->').map(Number)
    expect(after as number).toBeLessThan(before as number)
    const model = JSON.parse(await readFile(join(dataDir, 'models/hex8_2p/tr-1.json'), 'utf8')) as { format: string, training: { games: number } }
    expect(model.format).toBe('riftmesh-linear-value/1')
  })

  it('gauntlet: without a best model (baselineModelPath \'\') the candidate plays the baseline engine in both seats; results:<WLD…> from its view', async () => {
    const r = await run(WORKLOADS.gauntlet as Workload, templateArgv('gauntlet', 'ga-1', { games: 12, modelPath: 'models/hex8_2p/tr-1.json', baselineModelPath: '' }))
    expect(r.code).toBe(0)
    const results = output(r, 'results:') as string
    expect(results).toMatch(/^[WLD]{12}$/)
    expect(results.split('').filter(c => c === 'W').length).toBeGreaterThanOrEqual(10) // a trained model against random
    expect(r.outputs).toContain('baseline:engine:random')
  })

  it('gauntlet against a best model, and tournament between two models (results from model A\'s view)', async () => {
    expect((await run(WORKLOADS.train as Workload, templateArgv('training', 'tr-2', {}))).code).toBe(0)
    const g = await run(WORKLOADS.gauntlet as Workload, templateArgv('gauntlet', 'ga-2', { games: 6, modelPath: 'models/hex8_2p/tr-2.json', baselineModelPath: 'models/hex8_2p/tr-1.json' }))
    expect(g.code).toBe(0)
    expect(output(g, 'results:')).toMatch(/^[WLD]{6}$/)
    expect(g.outputs).toContain('baseline:models/hex8_2p/tr-1.json')
    const t = await run(WORKLOADS.tournament as Workload, templateArgv('tournament', 'to-1', { games: 8, modelAPath: 'models/hex8_2p/tr-1.json', modelBPath: 'models/hex8_2p/tr-1.json' }))
    expect(t.code).toBe(0)
    // the same model on both sides, seats swapped every game: an even score
    expect(output(t, 'score:')).toBe('0.5000')
  })

  it('export packs the records into a training shard that the manifest does not count as games (JSON, not JSONL)', async () => {
    const r = await run(WORKLOADS.export as Workload, ['--job-id', 'ex-1', '--config', 'hex8_2p', '--data-dir', dataDir, '--output-dir', join(dataDir, 'jobs/ex-1/out'), '--model', ''])
    expect(r.code).toBe(0)
    expect(output(r, 'shard:')).toBe('training/hex8_2p/ex-1.json')
    const shard = JSON.parse(await readFile(join(dataDir, 'training/hex8_2p/ex-1.json'), 'utf8')) as { games: number, positions: number, samples: number[][] }
    expect(shard.games).toBe(100)
    expect(shard.samples.length).toBe(shard.positions)
    expect(shard.samples[0]?.length).toBe(9)
    expect(countsGames('training/hex8_2p/ex-1.json')).toBe(false)
    expect(countsGames('selfplay/hex8_2p/sp-1.jsonl')).toBe(true)
  })

  it('sync says that the SyncPlanner does the syncing and exits 0', async () => {
    const r = await run(WORKLOADS.sync as Workload, templateArgv('sync', 'sy-1', {}))
    expect(r.code).toBe(0)
    expect(r.outputs).toEqual(['sync:handled-by-sync-planner'])
  })

  it.each([
    ['an unknown flag', ['--gamez', '3']],
    ['a missing required flag', []],
    ['a flag given twice', ['--games', '3']],
    ['a malformed number', ['--players', 'two']],
    ['a number out of range', ['--games', '0']],
    ['a missing value', ['--seed']],
    ['a positional argument', ['extra']]
  ])('bad flags exit 2 with a clear message: %s', async (_what, extra) => {
    const base = ['--job-id', 'x', '--board', 'hex8', '--players', '2', '--engine-mode', 'random', '--games', '2', '--data-dir', dataDir, '--output-dir', join(dataDir, 'x')]
    const argv = extra.length === 0 ? base.slice(2) : extra[0] === '--players' ? [...base.slice(0, 4), ...extra, ...base.slice(6)] : [...base, ...extra]
    const r = await run(WORKLOADS.selfplay as Workload, argv)
    expect(r.code).toBe(2)
    expect(r.err.join('\n')).toMatch(/^selfplay: --?\S+|^selfplay: "extra"/)
  })

  it('an unknown board or engine mode exits 2; a model outside the data dir or of another config exits 1', async () => {
    const common = ['--data-dir', dataDir, '--output-dir', join(dataDir, 'y')]
    expect((await run(WORKLOADS.selfplay as Workload, ['--job-id', 'y', '--board', 'hex9', '--players', '2', '--engine-mode', 'random', '--games', '1', ...common])).code).toBe(2)
    expect((await run(WORKLOADS.selfplay as Workload, ['--job-id', 'y', '--board', 'hex8', '--players', '2', '--engine-mode', 'alphazero', '--games', '1', ...common])).code).toBe(2)
    const outside = await run(WORKLOADS.gauntlet as Workload, ['--job-id', 'y', '--config', 'hex8_2p', '--model', '../m.json', '--games', '2', ...common])
    expect(outside.code).toBe(1)
    expect(outside.err[0]).toMatch(/outside the data dir/)
    const other = await run(WORKLOADS.gauntlet as Workload, ['--job-id', 'y', '--config', 'hex8_3p', '--model', 'models/hex8_2p/tr-1.json', '--games', '2', ...common])
    expect(other.code).toBe(1)
    expect(other.err[0]).toMatch(/does not fit hex8_3p/)
    await writeFile(join(dataDir, 'models/hex8_2p/broken.json'), '{"format":"x"}')
    expect((await run(WORKLOADS.gauntlet as Workload, ['--job-id', 'y', '--config', 'hex8_2p', '--model', 'models/hex8_2p/broken.json', '--games', '2', ...common])).err[0]).toMatch(/not a riftmesh value model/)
  })

  it('train with no games of the config fails with exit 1 and says why', async () => {
    const r = await run(WORKLOADS.train as Workload, ['--job-id', 'z', '--config', 'square19_4p', '--data-dir', dataDir, '--output-dir', join(dataDir, 'z')])
    expect(r.code).toBe(1)
    expect(r.err[0]).toMatch(/0 readable games/)
  })

  it('riftmesh worker <name> runs the same workloads with the same flags', async () => {
    const outDir = join(dataDir, 'jobs/cli/out')
    const parsed = parseArgs(['worker', 'selfplay', '--job-id', 'cli', '--board', 'square8', '--players', '4', '--engine-mode', 'maxn', '--games', '3', '--data-dir', dataDir, '--output-dir', outDir], workerFlags)
    const lines: string[] = []
    expect(await runWorker(parsed, s => lines.push(s))).toBe(0)
    expect(lines).toContain('games:3')
    expect((await readFile(join(dataDir, 'selfplay/square8_4p/cli.jsonl'), 'utf8')).trim().split('\n').length).toBe(3)
    const bad = parseArgs(['worker', 'selfplay', '--config', 'hex8_2p'], workerFlags)
    expect(await runWorker(bad, () => {})).toBe(2)
    await expect(runWorker(parseArgs(['worker', 'nope'], workerFlags), () => {})).rejects.toThrow(/unknown workload "nope" \(selfplay, train, export/)
  })
})

describe('the default job templates and the built-in workloads agree', () => {
  it.each(['selfplay', 'training', 'export', 'gauntlet', 'tournament', 'sync'] as const)('the %s template expands to flags its workload accepts', type => {
    const values = templateValuesForJob({
      jobId: 'job-1', type, config: 'hex8_2p', engineMode: 'heuristic', runner: 'hybrid', dataDir: '/d', workDir: '/w', outputDir: '/o',
      spec: { games: 4, modelPath: 'models/hex8_2p/a.json', baselineModelPath: '', modelAPath: 'models/hex8_2p/a.json', modelBPath: 'models/hex8_2p/b.json' }
    })
    const argv = expandTemplate(defaultCommandTemplate(type), values)
    const name = basename(argv[1] as string, '.js')
    const w = WORKLOADS[name]
    expect(w, `no built-in workload ${name}`).toBeDefined()
    expect(() => parseFlags(argv.slice(2), (w as Workload).flags)).not.toThrow()
  })
})
