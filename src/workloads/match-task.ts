/**
 * The gauntlet and tournament workloads: a value model (played one ply deep, `modelEngine`)
 * against another model or a baseline engine, both sides taking every seat in turn
 * (`candidateSeats`) from paired random openings (`playMatch`), and the results from the first
 * side's view as a string of W, L and D.
 * - gauntlet: the candidate (`--model`) against the current best (`--baseline`); an empty
 *   `--baseline` (no current best) plays `--baseline-engine` (default random, so that a first
 *   model that learnt anything passes). Outputs `results:<WLD…>` for the TrainingCoordinator.
 * - tournament (A/B tests): `--model-a` against `--model-b`; `results:` from A's view.
 * Both also output `games:N`, `score:<mean score of the first side, draws 0.5>`.
 */
import { UsageError, WorkloadDataError } from './errors.js'
import { engineForMode, modelEngine, PLAYABLE_MODES } from './engines.js'
import type { Engine } from './engine.js'
import { int, str, type FlagValues } from './flags.js'
import { loadModel } from './io.js'
import { playMatch, type Outcome } from './play.js'
import { modelFits, type ValueModel } from './value-model.js'
import { CONFIG_FLAG, DATA_DIR_FLAG, GAMES_FLAG, JOB_ID_FLAG, OUTPUT_DIR_FLAG, SEED_FLAG, configJob, type ConfigJob, type Workload, type WorkloadIo } from './workload.js'

/** The baseline engine of a gauntlet without a current best. @default 'random' */
export const DEFAULT_BASELINE_ENGINE = 'random'

async function modelFor (job: ConfigJob, path: string, flag: string): Promise<ValueModel> {
  if (path === '') throw new UsageError(flag, 'needs a model path')
  const m = await loadModel(job.dataDir, path)
  if (!modelFits(m, job.board.spec.name, job.players, job.board.spec.k)) throw new WorkloadDataError(path, `model of ${m.config} (k ${m.k}) does not fit ${job.config}`)
  return m
}

function score (results: readonly Outcome[]): number {
  return results.length === 0 ? 0 : results.reduce((s, r) => s + (r === 'W' ? 1 : r === 'D' ? 0.5 : 0), 0) / results.length
}

async function match (job: ConfigJob, flags: FlagValues, io: WorkloadIo, first: Engine, second: Engine, label: string): Promise<string[]> {
  const { config, board, players, seed } = job
  const games = int(flags, 'games', 1)
  const started = performance.now()
  const results = playMatch(board, players, first, second, games, seed)
  io.log(`${label} ${config}: ${first.name} vs ${second.name}, ${games} games in ${((performance.now() - started) / 1000).toFixed(2)} s, score ${score(results).toFixed(3)}`)
  return [`results:${results.join('')}`, `games:${results.length}`, `score:${score(results).toFixed(4)}`]
}

export const gauntletWorkload: Workload = {
  name: 'gauntlet',
  summary: 'Play a candidate model against the current best model (or a baseline engine), both seats; report results:<W/L/D per game> from the candidate\'s view.',
  flags: [
    JOB_ID_FLAG, CONFIG_FLAG,
    { name: 'model', kind: 'string', required: true, help: 'the candidate model (path in the data dir)' },
    { name: 'baseline', kind: 'string', allowEmpty: true, help: 'the current best model (path in the data dir); \'\' or absent: play --baseline-engine' },
    { name: 'baseline-engine', kind: 'string', help: `engine mode played when there is no baseline model (default ${DEFAULT_BASELINE_ENGINE})` },
    GAMES_FLAG, DATA_DIR_FLAG, OUTPUT_DIR_FLAG, SEED_FLAG
  ],
  async run (flags, io) {
    const job = configJob(flags)
    const candidate = modelEngine(await modelFor(job, str(flags, 'model'), '--model'), 'candidate')
    const baselinePath = str(flags, 'baseline')
    const mode = flags.has('baseline-engine') ? str(flags, 'baseline-engine') : DEFAULT_BASELINE_ENGINE
    if (!PLAYABLE_MODES.includes(mode)) throw new UsageError('--baseline-engine', `unknown engine mode ${JSON.stringify(mode)}`)
    const baseline = baselinePath === '' ? engineForMode(mode) : modelEngine(await modelFor(job, baselinePath, '--baseline'), 'best')
    return [...await match(job, flags, io, candidate, baseline, 'gauntlet'), `baseline:${baselinePath === '' ? `engine:${mode}` : baselinePath}`]
  }
}

export const tournamentWorkload: Workload = {
  name: 'tournament',
  summary: 'Play model A against model B (A/B tests), both seats; report results:<W/L/D per game> from model A\'s view.',
  flags: [
    JOB_ID_FLAG, CONFIG_FLAG,
    { name: 'model-a', kind: 'string', required: true, help: 'model A (path in the data dir)' },
    { name: 'model-b', kind: 'string', required: true, help: 'model B (path in the data dir)' },
    GAMES_FLAG, DATA_DIR_FLAG, OUTPUT_DIR_FLAG, SEED_FLAG
  ],
  async run (flags, io) {
    const job = configJob(flags)
    const a = modelEngine(await modelFor(job, str(flags, 'model-a'), '--model-a'), 'A')
    const b = modelEngine(await modelFor(job, str(flags, 'model-b'), '--model-b'), 'B')
    return await match(job, flags, io, a, b, 'tournament')
  }
}
