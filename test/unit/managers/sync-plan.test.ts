import { describe, expect, it } from 'vitest'
import { needs, planSync, syncRetryDelayMs, type FileEntry, type HolderFiles, type Wants } from '../../../src/managers/sync-plan.js'
import type { ConfigKey } from '../../../src/state/schema.js'

const sha = (n: number): string => n.toString(16).padStart(64, '0')
const f = (path: string, n: number, over: Partial<FileEntry> = {}): FileEntry => {
  const config = (/(square8|square19|hex8|hexagonal)_[234]p/.exec(path)?.[0] ?? null) as ConfigKey | null
  return { path, size: 100, mtimeMs: 1_000_000, sha256: sha(n), kind: path.startsWith('models/') ? 'models' : 'selfplay', config, gameCount: 10, ...over }
}
const holder = (nodeId: string, files: FileEntry[], over: Partial<HolderFiles> = {}): HolderFiles => ({ nodeId, files, alive: true, load: 10, ...over })
const wants = (configs: ConfigKey[], models: string[] = []): Wants => ({ dataConfigs: new Set(configs), modelPaths: new Set(models) })

describe('what a node needs', () => {
  it.each<[string, FileEntry | undefined, FileEntry, boolean]>([
    ['missing', undefined, f('selfplay/hex8_2p/a.jsonl', 1), true],
    ['same content', f('x', 1), f('x', 1, { mtimeMs: 9_999_999 }), false],
    ['other content, newer by more than 60 s', f('x', 1), f('x', 2, { mtimeMs: 1_060_001 }), true],
    ['other content, newer within the tolerance', f('x', 1), f('x', 2, { mtimeMs: 1_060_000 }), false],
    ['other content, older', f('x', 1), f('x', 2, { mtimeMs: 1 }), false]
  ])('%s → %s', (_n, local, remote, expected) => {
    expect(needs(local, remote)).toBe(expected)
  })
})

describe('planSync', () => {
  it('pulls exactly the wanted files it lacks (hex8 and hexagonal apart), models by path', () => {
    const a = holder('a', [f('selfplay/hex8_2p/1.jsonl', 1), f('selfplay/hexagonal_2p/1.jsonl', 2), f('models/hex8_2p/m.json', 3), f('models/hex8_2p/old.json', 4)])
    const plan = planSync([f('selfplay/hex8_2p/0.jsonl', 9)], [a], wants(['hex8_2p'], ['models/hex8_2p/m.json']), 10)
    expect(plan.groups.map(g => [g.source, g.files.map(x => x.path)])).toEqual([['a', ['models/hex8_2p/m.json', 'selfplay/hex8_2p/1.jsonl']]])
  })

  it('a second plan after the pull moves nothing', () => {
    const files = [f('selfplay/hex8_2p/1.jsonl', 1), f('selfplay/hex8_2p/2.jsonl', 2)]
    expect(planSync(files, [holder('a', files)], wants(['hex8_2p']), 10).groups).toEqual([])
  })

  it('spreads files over equally good holders, least loaded first, and skips dead ones', () => {
    const files = Array.from({ length: 6 }, (_, i) => f(`selfplay/hex8_2p/${i}.jsonl`, i))
    const plan = planSync([], [holder('busy', files, { load: 50 }), holder('idle', files, { load: 5 }), holder('dead', files, { alive: false })], wants(['hex8_2p']), 10)
    expect(plan.groups.map(g => [g.source, g.files.length])).toEqual([['busy', 3], ['idle', 3]])
    expect(plan.groups.find(g => g.source === 'idle')?.files[0]?.path).toBe('selfplay/hex8_2p/0.jsonl')
  })

  it('takes every file from a connected holder while one has it; an unconnected one serves only what no connected one holds', () => {
    const files = Array.from({ length: 4 }, (_, i) => f(`selfplay/hex8_2p/${i}.jsonl`, i))
    const only = f('selfplay/hex8_2p/only-far.jsonl', 9)
    const plan = planSync([], [holder('far', [...files, only], { load: 0, connected: false }), holder('near', files, { load: 50, connected: true })], wants(['hex8_2p']), 10)
    expect(plan.groups.map(g => [g.source, g.files.map(x => x.path).sort()])).toEqual([['far', [only.path]], ['near', files.map(x => x.path)]])
  })

  it('groups at most 50 files per sync job', () => {
    const files = Array.from({ length: 120 }, (_, i) => f(`selfplay/square8_2p/${String(i).padStart(3, '0')}.jsonl`, i))
    expect(planSync([], [holder('a', files)], wants(['square8_2p']), 10).groups.map(g => g.files.length)).toEqual([50, 50, 20])
  })

  it('takes the newest version and counts what only dead holders have', () => {
    const plan = planSync([], [
      holder('old', [f('selfplay/hex8_2p/x.jsonl', 1, { mtimeMs: 1000 })]),
      holder('new', [f('selfplay/hex8_2p/x.jsonl', 2, { mtimeMs: 90_000 })]),
      holder('gone', [f('selfplay/hex8_2p/y.jsonl', 3)], { alive: false })
    ], wants(['hex8_2p']), 10)
    expect(plan.groups.map(g => g.source)).toEqual(['new'])
    expect(plan.unavailable).toBe(1)
  })

  it('refuses when the disk is over 90 %', () => {
    const plan = planSync([], [holder('a', [f('selfplay/hex8_2p/1.jsonl', 1)])], wants(['hex8_2p']), 90)
    expect(plan.groups).toEqual([])
    expect(plan.refused).toMatch(/disk 90 %/)
  })

  it.each([[1, 1000], [2, 2000], [5, 16_000], [6, 30_000], [50, 30_000]])('retry back-off after %i failures: %i ms', (n, ms) => {
    expect(syncRetryDelayMs(n, 1000, 30_000)).toBe(ms)
  })
})
