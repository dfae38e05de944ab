/**
 * The train workload: fit the linear value function of a config on every game record in
 * `<data-dir>/selfplay/<config>/*.jsonl` and write it to `<data-dir>/models/<config>/<job-id>.json`.
 * Positions are sampled (reservoir, seeded) up to `--max-positions`; unreadable or illegal
 * records are skipped and counted, never fatal. Outputs: `model:<path relative to the data
 * dir>` (what the TrainingCoordinator and the sync need), `games:N`, `positions:N`,
 * `skipped:N`, `loss:<initial>-><final>`.
 */
import { SeededRng, type Rng } from '../core/rng.js'
import { WorkloadDataError } from './errors.js'
import { featureNames, features } from './features.js'
import { int } from './flags.js'
import { dataPath, listRecordFiles, readLines, relToData, writeAtomic } from './io.js'
import { parseRecord, replay } from './records.js'
import { safeName } from './selfplay-task.js'
import { DEFAULT_TRAIN_PARAMS, MODEL_FORMAT, fitLinearValue, type Sample, type ValueModel } from './value-model.js'
import { CONFIG_FLAG, DATA_DIR_FLAG, JOB_ID_FLAG, OUTPUT_DIR_FLAG, SEED_FLAG, configJob, type Workload } from './workload.js'
import type { Board } from './board.js'

/** Most positions kept for training. @default 200_000 */
export const DEFAULT_MAX_POSITIONS = 200_000

export interface CollectedSamples {
  samples: Sample[]
  games: number
  positions: number
  skipped: number
  files: number
}

/** Reservoir-sample (position, player) samples of a config's game records in `dirs` of the data dir. */
export async function collectSamples (dataDir: string, dirs: readonly string[], board: Board, players: number, maxPositions: number, rng: Rng): Promise<CollectedSamples> {
  const config = `${board.spec.name}_${players}p`
  const out: CollectedSamples = { samples: [], games: 0, positions: 0, skipped: 0, files: 0 }
  const dim = featureNames(board.spec.k).length
  for (const dir of dirs) {
    for (const rel of await listRecordFiles(dataDir, dir)) {
      out.files++
      for await (const { line, n } of readLines(dataPath(dataDir, rel))) {
        const where = `${rel}:${n}`
        try {
          const rec = parseRecord(line, where)
          if (rec.config !== config) throw new WorkloadDataError(where, `record of ${rec.config}, not ${config}`)
          const label = (p: number): number => (rec.winner === null ? 1 / players : rec.winner === p ? 1 : 0)
          const positions: Sample[] = []
          replay(rec, where, g => {
            for (let p = 0; p < players; p++) positions.push({ x: features(g, p, new Float64Array(dim)), y: label(p) })
          })
          out.games++
          for (const s of positions) {
            out.positions++
            if (out.samples.length < maxPositions) out.samples.push(s)
            else {
              const j = rng.int(out.positions)
              if (j < maxPositions) out.samples[j] = s
            }
          }
        } catch (err) {
          if (!(err instanceof WorkloadDataError)) throw err
          out.skipped++
        }
      }
    }
  }
  return out
}

export const trainWorkload: Workload = {
  name: 'train',
  summary: 'Fit the linear value function of a config on its self-play records; write it under <data-dir>/models/<config>/.',
  flags: [
    JOB_ID_FLAG, CONFIG_FLAG, DATA_DIR_FLAG, OUTPUT_DIR_FLAG, SEED_FLAG,
    { name: 'epochs', kind: 'int', min: 1, max: 1000, help: `SGD epochs (default ${DEFAULT_TRAIN_PARAMS.epochs})` },
    { name: 'max-positions', kind: 'int', min: 100, max: 5_000_000, help: `positions kept for training (default ${DEFAULT_MAX_POSITIONS})` },
    { name: 'min-games', kind: 'int', min: 1, max: 10_000_000, help: 'fail when fewer games are readable (default 1)' }
  ],
  async run (flags, io) {
    const { config, board, players, dataDir, jobId, seed } = configJob(flags)
    const rng = new SeededRng(seed)
    const started = performance.now()
    const data = await collectSamples(dataDir, [`selfplay/${config}`], board, players, int(flags, 'max-positions', DEFAULT_MAX_POSITIONS), rng.fork('sample'))
    const minGames = int(flags, 'min-games', 1)
    if (data.games < minGames || data.samples.length === 0) throw new WorkloadDataError(`selfplay/${config}`, `${data.games} readable games (${data.skipped} skipped), need ${minGames} with at least one position`)
    const params = { ...DEFAULT_TRAIN_PARAMS, epochs: int(flags, 'epochs', DEFAULT_TRAIN_PARAMS.epochs) }
    const fit = fitLinearValue(data.samples, params, rng.fork('fit'))
    const model: ValueModel = {
      format: MODEL_FORMAT, config, board: board.spec.name, players, k: board.spec.k, featureNames: featureNames(board.spec.k),
      mean: fit.mean, scale: fit.scale, weights: fit.weights, bias: fit.bias,
      training: { jobId, seed, games: data.games, positions: data.samples.length, epochs: params.epochs, initialLoss: fit.initialLoss, finalLoss: fit.finalLoss, validationLoss: fit.validationLoss }
    }
    const abs = dataPath(dataDir, `models/${config}/${safeName(jobId)}.json`)
    await writeAtomic(abs, `${JSON.stringify(model, null, 1)}\n`)
    io.log(`train ${config}: ${data.games} games, ${data.samples.length} positions, loss ${fit.initialLoss.toFixed(4)} → ${fit.finalLoss.toFixed(4)} in ${((performance.now() - started) / 1000).toFixed(2)} s`)
    return [
      `model:${relToData(dataDir, abs)}`, `games:${data.games}`, `positions:${data.samples.length}`, `skipped:${data.skipped}`,
      `loss:${fit.initialLoss.toFixed(4)}->${fit.finalLoss.toFixed(4)}`
    ]
  }
}
