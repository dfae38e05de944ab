/**
 * SyncPlanner warns once per cause: a pass refused for a full disk, or failing at every retry,
 * says so once (and again only when the cause changes), then once when it clears. The planner,
 * the state, the scanner and the logger are real; the scanner is made to fail by a missing dir.
 */
import { describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { mkdir, rm } from 'node:fs/promises'
import { ManifestScanner } from '../../../src/transfer/scanner.js'
import { MemoryHashCache } from '../../../src/transfer/hash-cache.js'
import { SyncPlanner } from '../../../src/managers/sync-planner.js'
import { silentLogger } from '../../../src/core/logger.js'
import { VirtualClock } from '../../../src/core/clock.js'
import { makeState, tempDir } from '../../helpers.js'
import { capturingLogger } from '../../support/capture-log.js'

describe('SyncPlanner warnings, once per cause', () => {
  it('says a refused pass once while the disk stays full (its percentage moving), and once when it clears', async () => {
    const { dir, cleanup } = await tempDir('riftmesh-sync-warn-')
    try {
      const clock = new VirtualClock(1_000_000)
      const { log, lines } = capturingLogger()
      let disk = 94
      const data = join(dir, 'data')
      await mkdir(data)
      const planner = new SyncPlanner({
        state: makeState(1, 1, {}, clock),
        scanner: new ManifestScanner({ clock, logger: silentLogger(), cache: new MemoryHashCache() }, { dataDir: data }),
        client: { list: async () => [], pullFromAny: async () => { throw new Error('not reached') } },
        wants: () => ({ dataConfigs: new Set(['hex8_2p'] as const), modelPaths: new Set() }),
        holder: () => ({ alive: true, load: 0 }),
        diskPercent: () => disk,
        clock,
        logger: log
      })
      for (let i = 0; i < 30; i++) {
        const r = await planner.tick()
        expect(r).toMatchObject({ refused: expect.stringMatching(/^disk \d+ % used/) as unknown })
        disk = 94 + (i % 3)
        clock.advance(5_000)
      }
      const said = (): string[] => lines.filter(l => l.level >= 30 && l.msg !== 'sync pass').map(l => l.msg)
      expect(said()).toEqual(['sync refused: disk 94 % used (limit 90 %)'])
      disk = 10
      await planner.tick()
      expect(said()).toEqual(['sync refused: disk 94 % used (limit 90 %)', 'resolved: sync refused: disk 94 % used (limit 90 %)'])

      // a pass that throws at every retry: one warning, then one line when a pass succeeds again
      await rm(data, { recursive: true })
      for (let i = 0; i < 20; i++) {
        await planner.tick()
        clock.advance(600_000) // past any back-off
      }
      expect(said().slice(2)).toEqual(['sync pass failed'])
      await mkdir(data)
      await planner.tick()
      expect(said().slice(2)).toEqual(['sync pass failed', 'resolved: sync pass failed'])
      await planner.stop()
    } finally {
      await cleanup()
    }
  })
})
