import { describe, expect, it } from 'vitest'
import { DiversityTracker, difficultyOf } from '../../../src/managers/diversity.js'

describe('diversity metrics', () => {
  it.each([['random', 'easy'], ['heuristic', 'medium'], ['brs', 'medium'], ['maxn', 'medium'], ['gumbel-mcts', 'hard'], ['nnue-guided', 'hard']])('%s is %s', (m, d) => {
    expect(difficultyOf(m)).toBe(d)
  })

  it('counts only the last `window` selections', () => {
    const t = new DiversityTracker(1000)
    for (let i = 0; i < 1000; i++) t.record({ config: 'hex8_2p', engineMode: 'heuristic', symmetric: true })
    for (let i = 0; i < 400; i++) t.record({ config: 'square8_2p', engineMode: 'gumbel-mcts', symmetric: false })
    const m = t.metrics()
    expect(m.selections).toBe(1000)
    expect(m.byConfig).toEqual({ hex8_2p: 600, square8_2p: 400 })
    expect(m.byEngineMode).toEqual({ 'gumbel-mcts': 400, heuristic: 600 })
    expect(m.byDifficulty).toEqual({ hard: 400, medium: 600 })
    expect([m.symmetric, m.asymmetric]).toEqual([600, 400])
    expect(m.distinctConfigs).toBe(2)
  })

  it('refuses a window below 1', () => {
    expect(() => new DiversityTracker(0)).toThrow(RangeError)
  })
})
