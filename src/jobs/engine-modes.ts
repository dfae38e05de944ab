/**
 * Engine modes of self-play jobs and where they run (REFERENCE "Engine modes and job routing").
 * Pure: the lists, the routing to a runner, and the CPU fallback of a GPU-only mode.
 */
import { UnknownEngineModeError } from './errors.js'

/** Search modes: run by the "hybrid" runner. */
export const SEARCH_MODES = ['maxn', 'brs', 'mcts', 'gumbel-mcts', 'policy-only', 'nn-descent', 'nn-minimax'] as const
/** Simple modes: run by the "gpu" runner. */
export const SIMPLE_MODES = ['random', 'heuristic', 'nnue-guided'] as const
/** Every engine mode. */
export const ENGINE_MODES = [...SEARCH_MODES, ...SIMPLE_MODES] as const
export type EngineMode = typeof ENGINE_MODES[number]

/** The two self-play runners. */
export const RUNNER_KINDS = ['hybrid', 'gpu'] as const
export type RunnerKind = typeof RUNNER_KINDS[number]

/** Modes that need a GPU. */
export const GPU_ONLY_MODES: readonly EngineMode[] = ['gumbel-mcts', 'mcts', 'nnue-guided', 'policy-only', 'nn-minimax', 'nn-descent']
/** Modes a CPU-only node can run. */
export const CPU_SAFE_MODES: readonly EngineMode[] = ['random', 'heuristic', 'maxn', 'brs']
/** What a GPU-only mode becomes on a node without a GPU. */
export const CPU_FALLBACK_MODE: EngineMode = 'heuristic'
/** Modes that play a value model: self-play in them needs the config's current best model. */
export const MODEL_MODES: readonly EngineMode[] = ['nnue-guided', 'policy-only', 'nn-minimax', 'nn-descent']
/** What a model mode becomes while its config has no promoted model yet. */
export const NO_MODEL_FALLBACK_MODE: EngineMode = 'heuristic'

const MODE_SET: ReadonlySet<string> = new Set(ENGINE_MODES)
const GPU_ONLY_SET: ReadonlySet<string> = new Set(GPU_ONLY_MODES)
const SEARCH_SET: ReadonlySet<string> = new Set(SEARCH_MODES)

const MODEL_SET: ReadonlySet<string> = new Set(MODEL_MODES)

/** True for a mode that plays a value model. */
export function isModelMode (mode: string): boolean {
  return MODEL_SET.has(mode)
}

/**
 * What a self-play dispatch in `mode` carries: a model mode gets the config's best model
 * (`modelPath`, which the worker syncs before it starts); with no promoted model yet it becomes
 * `NO_MODEL_FALLBACK_MODE`, and the record says why. Other modes carry an empty `modelPath`.
 */
export function selfplayModel (mode: string, config: string, bestModelPath: string | undefined): { engineMode: string, modelPath: string, fallback?: string } {
  if (!isModelMode(mode)) return { engineMode: mode, modelPath: '' }
  if (bestModelPath !== undefined && bestModelPath !== '') return { engineMode: mode, modelPath: bestModelPath }
  return { engineMode: NO_MODEL_FALLBACK_MODE, modelPath: '', fallback: `engine mode ${mode} plays the best model of ${config}, and ${config} has none promoted yet: ran ${NO_MODEL_FALLBACK_MODE} instead` }
}

export function isEngineMode (mode: string): mode is EngineMode {
  return MODE_SET.has(mode)
}

/** True for a mode that needs a GPU; false for CPU-safe modes and for names that are not modes. */
export function isGpuOnly (mode: string): boolean {
  return GPU_ONLY_SET.has(mode)
}

/** The runner of a mode: search modes → "hybrid", simple modes → "gpu". */
export function runnerFor (mode: EngineMode): RunnerKind {
  return SEARCH_SET.has(mode) ? 'hybrid' : 'gpu'
}

export interface EngineResolution {
  /** The mode to run (the requested one, or the CPU fallback). */
  mode: EngineMode
  runner: RunnerKind
  /** True when `mode` differs from the requested one; the job record must say so. */
  fallback: boolean
  /** Why it fell back, for the job record; set exactly when `fallback` is. */
  reason?: string
}

/**
 * The mode and runner a node runs for a requested mode. A GPU-only mode on a node without a
 * GPU falls back to `CPU_FALLBACK_MODE`. An unknown mode throws `UnknownEngineModeError`.
 */
export function resolveEngineMode (requested: string, hasGpu: boolean): EngineResolution {
  if (!isEngineMode(requested)) throw new UnknownEngineModeError(requested)
  if (!hasGpu && isGpuOnly(requested)) {
    return {
      mode: CPU_FALLBACK_MODE,
      runner: runnerFor(CPU_FALLBACK_MODE),
      fallback: true,
      reason: `engine mode ${requested} needs a GPU; this node has none, ran ${CPU_FALLBACK_MODE} instead`
    }
  }
  return { mode: requested, runner: runnerFor(requested), fallback: false }
}
