/**
 * The export workload: pack a config's self-play records into one training shard,
 * `<data-dir>/training/<config>/<job-id>.json` — the feature vectors and outcome labels that
 * `train` would compute, so a trainer elsewhere (a user's own script) can fit on them directly.
 * The shard is JSON, not JSONL, on purpose: the manifest counts the lines of `.jsonl` files as
 * games, and a shard must not count its games a second time. Outputs: `shard:<path relative to
 * the data dir>`, `games:N`, `positions:N`, `skipped:N`.
 */
import { SeededRng } from '../core/rng.js'
import { featureNames } from './features.js'
import { int, str } from './flags.js'
import { dataPath, relToData, writeAtomic } from './io.js'
import { safeName } from './selfplay-task.js'
import { collectSamples, DEFAULT_MAX_POSITIONS } from './train-task.js'
import { CONFIG_FLAG, DATA_DIR_FLAG, JOB_ID_FLAG, OUTPUT_DIR_FLAG, SEED_FLAG, configJob, type Workload } from './workload.js'

export const SHARD_FORMAT = 'riftmesh-training-shard/1'

export const exportWorkload: Workload = {
  name: 'export',
  summary: 'Pack a config\'s self-play records into a training shard (features and outcome labels) under <data-dir>/training/<config>/.',
  flags: [
    JOB_ID_FLAG, OUTPUT_DIR_FLAG, CONFIG_FLAG, DATA_DIR_FLAG,
    { name: 'model', kind: 'string', allowEmpty: true, help: 'the model the shard is exported for (recorded in the shard)' },
    { name: 'max-positions', kind: 'int', min: 1, max: 5_000_000, help: `positions in the shard (default ${DEFAULT_MAX_POSITIONS})` },
    SEED_FLAG
  ],
  async run (flags, io) {
    const { config, board, players, dataDir, jobId, seed } = configJob(flags)
    const data = await collectSamples(dataDir, [`selfplay/${config}`], board, players, int(flags, 'max-positions', DEFAULT_MAX_POSITIONS), new SeededRng(seed))
    const abs = dataPath(dataDir, `training/${config}/${safeName(jobId)}.json`)
    const head = { format: SHARD_FORMAT, config, k: board.spec.k, featureNames: featureNames(board.spec.k), forModel: str(flags, 'model'), games: data.games, positions: data.samples.length, seed }
    function * chunks (): Generator<string> {
      yield `${JSON.stringify(head).slice(0, -1)},"samples":[\n`
      for (let i = 0; i < data.samples.length; i++) {
        const s = data.samples[i] as { x: Float64Array, y: number }
        yield `${i > 0 ? ',\n' : ''}[${[...s.x].map(v => Number(v.toFixed(6))).join(',')},${Number(s.y.toFixed(6))}]`
      }
      yield '\n]}\n'
    }
    await writeAtomic(abs, chunks())
    io.log(`export ${config}: ${data.games} games, ${data.samples.length} positions`)
    return [`shard:${relToData(dataDir, abs)}`, `games:${data.games}`, `positions:${data.samples.length}`, `skipped:${data.skipped}`]
  }
}
