/** `training`: readiness, dedup, dispatch, gauntlet and Elo. */
import { z } from 'zod'
import * as D from '../defaults.js'
import { bool, field, int, json, ms, num } from '../fields.js'

const games = (min: number): ReturnType<typeof int> => int(min, 100_000_000, 'games')

export const trainingFields = {
  readinessIntervalMs: field(ms(1), D.DEFAULT_READINESS_INTERVAL_MS,
    'How often the leader checks each config for training readiness (also on new data).'),
  minGames: field(games(1), D.DEFAULT_MIN_GAMES, 'Games of a config in the cluster needed for its first training.'),
  incrementalGames: field(games(1), D.DEFAULT_INCREMENTAL_GAMES, 'New games needed since the last training of a config.'),
  cooldownMs: field(ms(0), D.DEFAULT_TRAINING_COOLDOWN_MS, 'Least time from the end of a config\'s last training to the start of its next.'),
  dedupWindow: field(int(1, 100_000, 'dispatches'), D.DEFAULT_DEDUP_WINDOW,
    'Number of recent (config, data fingerprint) hashes kept to skip repeated trainings.'),
  maxDispatchAttempts: field(int(1, 100, 'attempts'), D.DEFAULT_MAX_DISPATCH_ATTEMPTS,
    'Attempts of a training (or gauntlet) before it is FAILED: on untried nodes while there are any, else on a node again after retryBackoffMs.'),
  retryBackoffMs: field(ms(0), D.DEFAULT_TRAINING_RETRY_BACKOFF_MS,
    'Wait before a failed attempt is retried on a node that already tried it (no untried node left), or given up when no node is left at all.'),
  gauntletGamesPerSeat: field(int(1, 10_000, 'games'), D.DEFAULT_GAUNTLET_GAMES_PER_SEAT,
    'Gauntlet games played as first player, and again as second player.'),
  promoteWinRate: field(num(0, 1, 'win rate'), D.DEFAULT_PROMOTE_WIN_RATE,
    'Gauntlet win rate against the current best needed to promote a model.'),
  firstModelWinRate: field(num(0, 1, 'win rate'), D.DEFAULT_FIRST_MODEL_WIN_RATE,
    'Win rate needed when the config has no current best.'),
  gauntletDrawScore: field(num(0, 1, 'score'), D.DEFAULT_GAUNTLET_DRAW_SCORE, 'Score of a drawn gauntlet game.'),
  eloK: field(num(0, 1_000, 'Elo'), D.DEFAULT_ELO_K, 'K factor of the game-by-game Elo update.'),
  eloScale: field(num(0, 100_000, 'Elo', true), D.DEFAULT_ELO_SCALE, 'E = 1 / (1 + 10^((rB − rA) / scale)).'),
  thresholdScale: field(
    json(z.array(z.strictObject({ maxGpuNodes: z.number().int().min(1).max(100_000), factor: z.number().gt(0).max(1) })).min(1).max(16),
      'a list of 1 to 16 steps { maxGpuNodes: an integer ≥ 1, factor: a number > 0 and ≤ 1 }, maxGpuNodes rising'),
    D.DEFAULT_THRESHOLD_SCALE,
    'minGames and incrementalGames are multiplied by the factor of the first step whose maxGpuNodes ≥ the GPU node count.'),
  thresholdScaleAbove: field(num(0, 1, 'factor', true), D.DEFAULT_THRESHOLD_SCALE_ABOVE,
    'Threshold factor with more GPU nodes than the last thresholdScale step.'),
  minGamesFloor: field(games(1), D.DEFAULT_MIN_GAMES_FLOOR, 'Scaled minGames never goes below this.'),
  incrementalGamesFloor: field(games(1), D.DEFAULT_INCREMENTAL_GAMES_FLOOR, 'Scaled incrementalGames never goes below this.'),
  allowCpuTraining: field(bool(), D.DEFAULT_ALLOW_CPU_TRAINING,
    'With no GPU training node available, train on the strongest CPU node that has the training capability.'),
  maxLeaderlessJobsPerNode: field(int(0, 100, 'jobs'), D.DEFAULT_MAX_LEADERLESS_JOBS_PER_NODE,
    'Local training jobs a node may start on its own while leaderless; 0 disables it.')
}
