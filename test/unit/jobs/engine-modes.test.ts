import { describe, expect, it } from 'vitest'
import {
  CPU_FALLBACK_MODE, CPU_SAFE_MODES, ENGINE_MODES, GPU_ONLY_MODES, SEARCH_MODES, SIMPLE_MODES,
  isEngineMode, isGpuOnly, resolveEngineMode, runnerFor, type EngineMode, type RunnerKind
} from '../../../src/jobs/engine-modes.js'
import { UnknownEngineModeError } from '../../../src/jobs/errors.js'

describe('engine mode lists', () => {
  it('split every mode into exactly one of GPU-only and CPU-safe', () => {
    for (const m of ENGINE_MODES) expect(GPU_ONLY_MODES.includes(m) !== CPU_SAFE_MODES.includes(m), m).toBe(true)
    expect(GPU_ONLY_MODES.length + CPU_SAFE_MODES.length).toBe(ENGINE_MODES.length)
    expect(new Set(ENGINE_MODES).size).toBe(ENGINE_MODES.length)
    expect(ENGINE_MODES.length).toBe(SEARCH_MODES.length + SIMPLE_MODES.length)
  })

  it('fall back to a CPU-safe mode', () => {
    expect(CPU_SAFE_MODES).toContain(CPU_FALLBACK_MODE)
  })
})

describe('runnerFor / isGpuOnly', () => {
  const table: Array<[EngineMode, RunnerKind, boolean]> = [
    ['maxn', 'hybrid', false],
    ['brs', 'hybrid', false],
    ['mcts', 'hybrid', true],
    ['gumbel-mcts', 'hybrid', true],
    ['policy-only', 'hybrid', true],
    ['nn-descent', 'hybrid', true],
    ['nn-minimax', 'hybrid', true],
    ['random', 'gpu', false],
    ['heuristic', 'gpu', false],
    ['nnue-guided', 'gpu', true]
  ]
  it.each(table)('%s runs on the %s runner (GPU-only: %s)', (mode, runner, gpuOnly) => {
    expect(runnerFor(mode)).toBe(runner)
    expect(isGpuOnly(mode)).toBe(gpuOnly)
    expect(isEngineMode(mode)).toBe(true)
  })

  it('covers every mode in the table', () => {
    expect(table.map(r => r[0]).sort()).toEqual([...ENGINE_MODES].sort())
  })

  it('does not call unknown names GPU-only or modes', () => {
    expect(isGpuOnly('alphabeta')).toBe(false)
    expect(isEngineMode('alphabeta')).toBe(false)
    expect(isEngineMode('')).toBe(false)
  })
})

describe('resolveEngineMode', () => {
  const table: Array<{ requested: string, hasGpu: boolean, mode: EngineMode, runner: RunnerKind, fallback: boolean }> = [
    { requested: 'gumbel-mcts', hasGpu: true, mode: 'gumbel-mcts', runner: 'hybrid', fallback: false },
    { requested: 'gumbel-mcts', hasGpu: false, mode: 'heuristic', runner: 'gpu', fallback: true },
    { requested: 'mcts', hasGpu: false, mode: 'heuristic', runner: 'gpu', fallback: true },
    { requested: 'nnue-guided', hasGpu: true, mode: 'nnue-guided', runner: 'gpu', fallback: false },
    { requested: 'nnue-guided', hasGpu: false, mode: 'heuristic', runner: 'gpu', fallback: true },
    { requested: 'policy-only', hasGpu: false, mode: 'heuristic', runner: 'gpu', fallback: true },
    { requested: 'nn-minimax', hasGpu: false, mode: 'heuristic', runner: 'gpu', fallback: true },
    { requested: 'nn-descent', hasGpu: false, mode: 'heuristic', runner: 'gpu', fallback: true },
    { requested: 'maxn', hasGpu: false, mode: 'maxn', runner: 'hybrid', fallback: false },
    { requested: 'brs', hasGpu: true, mode: 'brs', runner: 'hybrid', fallback: false },
    { requested: 'random', hasGpu: false, mode: 'random', runner: 'gpu', fallback: false },
    { requested: 'heuristic', hasGpu: false, mode: 'heuristic', runner: 'gpu', fallback: false }
  ]
  it.each(table)('$requested on a node with GPU=$hasGpu runs $mode on $runner (fallback $fallback)', row => {
    const r = resolveEngineMode(row.requested, row.hasGpu)
    expect({ mode: r.mode, runner: r.runner, fallback: r.fallback }).toEqual({ mode: row.mode, runner: row.runner, fallback: row.fallback })
    if (row.fallback) {
      expect(r.reason).toContain(row.requested)
      expect(r.reason).toContain('heuristic')
    } else {
      expect(r.reason).toBeUndefined()
    }
  })

  it('never falls back on a GPU node', () => {
    for (const m of ENGINE_MODES) expect(resolveEngineMode(m, true)).toMatchObject({ mode: m, fallback: false })
  })

  it('never gives a CPU node a GPU-only mode', () => {
    for (const m of ENGINE_MODES) expect(isGpuOnly(resolveEngineMode(m, false).mode)).toBe(false)
  })

  it('rejects an unknown mode with a typed error naming it', () => {
    expect(() => resolveEngineMode('alphazero', true)).toThrow(UnknownEngineModeError)
    expect(() => resolveEngineMode('alphazero', false)).toThrow(expect.objectContaining({ name: 'UnknownEngineModeError', mode: 'alphazero' }))
  })
})
