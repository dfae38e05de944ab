import { describe, expect, it } from 'vitest'
import { exclusionText, exclusionsText, type Exclusion } from '../../../src/managers/eligibility.js'

describe('exclusionText: every cause in its own words, with its numbers and its limit', () => {
  it.each<[Exclusion, string]>([
    [{ kind: 'retired' }, 'retired (takes no new work)'],
    [{ kind: 'health', health: 'DEAD' }, 'health DEAD (only ALIVE nodes get new work)'],
    [{ kind: 'disk', percent: 74.4, limitPercent: 70 }, 'disk 74 % used (limit 70 %)'],
    [{ kind: 'memory', percent: 81, limitPercent: 75 }, 'memory 81 % used (limit 75 %)'],
    [{ kind: 'load', score: 91.6, limit: 80 }, 'load score 92 (limit 80)'],
    [{ kind: 'capability', capability: 'selfplay' }, 'no selfplay capability'],
    [{ kind: 'no-gpu', engineMode: 'gumbel-mcts' }, 'engine mode gumbel-mcts needs a GPU, this node has none'],
    [{ kind: 'small-memory', memoryGb: 4, minMemoryGb: 8 }, '4 GB of memory, less than the 8 GB a task needs']
  ])('%j → %s', (e, text) => {
    expect(exclusionText(e)).toBe(text)
  })

  it('joins several, and says null for none', () => {
    expect(exclusionsText([{ kind: 'retired' }, { kind: 'disk', percent: 90, limitPercent: 70 }])).toBe('retired (takes no new work); disk 90 % used (limit 70 %)')
    expect(exclusionsText([])).toBeNull()
  })
})
