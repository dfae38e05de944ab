/**
 * The selfplay workload: play `--games` games of a config with one engine mode in every seat
 * and write them, one JSON record per line, to `<data-dir>/selfplay/<config>/<job-id>.jsonl`
 * (atomically: `.partial`, then rename — the manifest never sees half a file).
 * Outputs: `games:N`, `file:<path relative to the data dir>`, `engine:<engine name>`,
 * `wins:<per seat, '/'-separated>`, `draws:N`.
 */
import { hashString32 } from '../core/rng.js'
import { UsageError } from './errors.js'
import { engineForMode, PLAYABLE_MODES } from './engines.js'
import { int, str } from './flags.js'
import { dataPath, loadModel, writeAtomic } from './io.js'
import { gameSeed, jobSeed, playGame } from './play.js'
import { configKey, toRecord } from './records.js'
import { DATA_DIR_FLAG, GAMES_FLAG, JOB_ID_FLAG, OUTPUT_DIR_FLAG, SEED_FLAG, configBoard, type Workload } from './workload.js'
import { RUNNER_KINDS } from '../jobs/engine-modes.js'

export const selfplayWorkload: Workload = {
  name: 'selfplay',
  summary: 'Play self-play games of one config and engine mode; write them as JSONL game records under <data-dir>/selfplay/<config>/.',
  flags: [
    JOB_ID_FLAG,
    { name: 'board', kind: 'string', required: true, help: 'board: square8, square19, hex8 or hexagonal' },
    { name: 'players', kind: 'int', required: true, min: 2, max: 4, help: 'players per game (2–4)' },
    { name: 'engine-mode', kind: 'string', required: true, help: `engine mode: ${PLAYABLE_MODES.join(', ')}` },
    GAMES_FLAG,
    DATA_DIR_FLAG,
    OUTPUT_DIR_FLAG,
    { name: 'runner', kind: 'string', help: `the runner the job was routed to (${RUNNER_KINDS.join(' or ')}); recorded only` },
    { name: 'model', kind: 'string', allowEmpty: true, help: 'value model (path in the data dir) for the model modes (nnue-guided, policy-only, nn-minimax, nn-descent)' },
    SEED_FLAG
  ],
  async run (flags, io) {
    const runner = str(flags, 'runner')
    if (runner !== '' && !(RUNNER_KINDS as readonly string[]).includes(runner)) throw new UsageError('--runner', `expected ${RUNNER_KINDS.join(' or ')}, got ${JSON.stringify(runner)}`)
    const config = configKey(str(flags, 'board'), int(flags, 'players', 2))
    const board = configBoard(config, '--board/--players')
    const dataDir = str(flags, 'data-dir')
    const modelPath = str(flags, 'model')
    const model = modelPath === '' ? undefined : await loadModel(dataDir, modelPath)
    const mode = str(flags, 'engine-mode')
    const engine = engineForMode(mode, model === undefined ? {} : { model })
    const players = int(flags, 'players', 2)
    const games = int(flags, 'games', 1)
    const jobId = str(flags, 'job-id')
    const seed = jobSeed(jobId, flags.has('seed') ? int(flags, 'seed', 0) : undefined)
    const rel = `selfplay/${config}/${safeName(jobId)}.jsonl`
    const wins = new Array<number>(players).fill(0)
    let draws = 0
    const started = performance.now()
    function * lines (): Generator<string> {
      for (let i = 0; i < games; i++) {
        const s = gameSeed(seed, i)
        const g = playGame(board, new Array(players).fill(engine), s)
        if (g.winner >= 0) wins[g.winner] = (wins[g.winner] as number) + 1
        else draws++
        yield `${JSON.stringify(toRecord(g, { engine: mode, engines: new Array(players).fill(engine.name), seed: s }))}\n`
      }
    }
    await writeAtomic(dataPath(dataDir, rel), lines())
    io.log(`selfplay ${config} ${engine.name}: ${games} games in ${((performance.now() - started) / 1000).toFixed(2)} s`)
    return [`games:${games}`, `file:${rel}`, `engine:${engine.name}`, `wins:${wins.join('/')}`, `draws:${draws}`]
  }
}

/** A job id as a file name: its safe characters, else a hash of it. */
export function safeName (jobId: string): string {
  return /^[A-Za-z0-9._-]{1,128}$/.test(jobId) && !jobId.startsWith('.') ? jobId : `job-${hashString32(jobId).toString(16)}`
}
