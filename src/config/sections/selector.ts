/** `selector`: node ranking for work placement, GPU power scores. */
import * as D from '../defaults.js'
import { field, int, ms, num, openMap } from '../fields.js'

export const selectorFields = {
  rankingCacheMs: field(ms(0), D.DEFAULT_RANKING_CACHE_MS, 'How long a computed node ranking is reused.'),
  trainingPrimaryCount: field(int(1, 1_000, 'nodes'), D.DEFAULT_TRAINING_PRIMARY_COUNT,
    'Number of nodes trainingPrimaryNodes() returns.'),
  cpuPrimaryCount: field(int(1, 1_000, 'nodes'), D.DEFAULT_CPU_PRIMARY_COUNT,
    'Number of nodes cpuPrimaryNodes() returns.'),
  gpuScores: field(
    openMap(/^[A-Z0-9][A-Z0-9 ._-]*$/, 'upper-case GPU name substrings', num(0, 1_000_000, 'score'), 256),
    D.DEFAULT_GPU_SCORES,
    'GPU power per device: the longest key contained in the upper-cased GPU name wins; × gpuCount. Entries given are merged over the built-in table.'),
  unknownGpuScore: field(num(0, 1_000_000, 'score'), D.DEFAULT_UNKNOWN_GPU_SCORE,
    'Power score of a GPU that matches no gpuScores key.')
}
