/**
 * A document too large for one sync frame is warned once per peer while it lasts, not at every
 * anti-entropy round: two real Replicators over the fake mesh, a real logger.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { VirtualClock } from '../../../src/core/clock.js'
import { silentLogger } from '../../../src/core/logger.js'
import { SeededRng } from '../../../src/core/rng.js'
import { DropCounters } from '../../../src/mesh/drops.js'
import { Replicator, type UpdateSource } from '../../../src/mesh/replicator.js'
import type { ClusterState } from '../../../src/state/cluster-state.js'
import { makeState, nodeId } from '../../helpers.js'
import { capturingLogger } from '../../support/capture-log.js'
import { FakeNetwork } from './fakes.js'

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c() })

describe('Replicator: documents too large for a sync frame', () => {
  it('warns once per peer over many syncs while it lasts', async () => {
    const net = new FakeNetwork()
    const clock = new VirtualClock(1_000_000)
    const { log, lines } = capturingLogger()
    const make = (n: number, logger = silentLogger()): { id: string, state: ClusterState, r: Replicator } => {
      const id = nodeId(n)
      const mesh = net.add(id)
      const state = makeState(n, n, {}, clock)
      cleanups.push(() => state.destroy())
      const updates: UpdateSource = { onPersisted: l => state.onUpdate(l) }
      const r = new Replicator({ mesh, state, updates, clock, rng: new SeededRng(n), logger, drops: new DropCounters(silentLogger()) },
        { topic: 'riftmesh/test/doc/1', maxStreamMessageBytes: 8_192, minSyncGapMs: 0, antiEntropyIntervalMs: 3_600_000 })
      return { id, state, r }
    }
    const a = make(1, log)
    const b = make(2)
    // written before the two meet: only a sync could bring it to b, and it does not fit a frame
    a.state.docs.get('control')!.transact(() => { for (let i = 0; i < 20; i++) a.state.setSetting(`big${i}`, 'x'.repeat(1_000)) })
    net.connect(a.id, b.id)
    for (const x of [a, b]) { await x.r.start(); cleanups.push(async () => await x.r.stop()) }
    for (let i = 0; i < 25; i++) {
      expect((await b.r.syncWith(a.id)).receivedUpdates).toBe(0) // a answers and cannot send its control document
      clock.advance(1_000)
    }
    await expect.poll(() => lines.filter(l => l.level === 40).map(l => [l.peer, l.msg]), { timeout: 2_000 })
      .toEqual([[b.id, 'documents too large for one sync frame were not sent']])
  })
})
