import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { VirtualClock } from '../../../src/core/clock.js'
import { silentLogger } from '../../../src/core/logger.js'
import { SeededRng } from '../../../src/core/rng.js'
import { ClusterState } from '../../../src/state/cluster-state.js'
import { DocStore, persistRetryDelayMs, type DocStoreInit } from '../../../src/store/doc-store.js'
import { openLevel, type RootDb } from '../../../src/store/level.js'
import { PersistenceError, WriteGuard } from '../../../src/store/write-guard.js'
import { FullDiskLevel, openFullDiskLevel } from '../../support/full-disk-level.js'
import { nodeId, signerOfId, tempDir } from '../../helpers.js'

const logger = silentLogger()
let dir: string
let cleanup: () => Promise<void>
let raw: FullDiskLevel
let clock: VirtualClock

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir())
  raw = await openFullDiskLevel(dir)
  clock = new VirtualClock(1_000_000)
})
afterEach(async () => {
  if (raw.status === 'open') await raw.close()
  await cleanup()
})

function storeOn (db: RootDb, init: DocStoreInit = {}): { state: ClusterState, store: DocStore } {
  const state = new ClusterState({ clock, logger, rng: new SeededRng(7), signer: signerOfId(nodeId(1)) }, { selfId: nodeId(1) })
  const store = new DocStore({ db, state, clock, logger }, { retryMinMs: 100, retryMaxMs: 1_600, ...init })
  return { state, store }
}

/** The settings a fresh store restores from `dir` (after `raw` is closed). */
async function restoredSettings (): Promise<Map<string, unknown>> {
  await raw.close()
  const db = await openLevel(dir)
  const { state, store } = storeOn(db)
  await store.start()
  const settings = state.settings()
  await store.stop()
  await db.close()
  return settings
}

describe('DocStore when writes fail', () => {
  it('keeps the updates of a failed write, refuses to call them durable, and writes them all once a retry succeeds', async () => {
    const { state, store } = storeOn(raw.root)
    await store.start()
    const persisted: string[] = []
    store.onPersisted(u => persisted.push(`${u.doc}:${u.update.byteLength}`))
    for (let i = 0; i < 5; i++) state.setSetting(`k${i}`, i)
    await store.flush()
    expect(persisted).toHaveLength(5)

    raw.full = true
    for (let i = 5; i < 10; i++) state.setSetting(`k${i}`, i)
    await expect(store.flush()).rejects.toThrow(PersistenceError)
    await expect(store.flush()).rejects.toThrow(/cannot persist \(ENOSPC\): 5 document update\(s\) are kept in memory/)
    expect(store.persistence()).toMatchObject({ persisting: false, code: 'ENOSPC', pendingUpdates: 5, failingSinceMs: 1_000_000 })
    expect(persisted).toHaveLength(5) // nothing published that is not durable

    raw.full = false
    clock.advance(store.persistence().retryInMs ?? 0)
    await expect.poll(() => store.persistence().persisting, { timeout: 5_000 }).toBe(true)
    await store.flush()
    expect(store.persistence()).toMatchObject({ persisting: true, code: null, pendingUpdates: 0, retryInMs: null })
    expect(persisted).toHaveLength(10)
    await store.stop()
    const settings = await restoredSettings()
    for (let i = 0; i < 10; i++) expect(settings.get(`k${i}`), `k${i}`).toBe(i)
  })

  it('tries again after a back-off that doubles from retryMinMs up to retryMaxMs, and no sooner', async () => {
    const { state, store } = storeOn(raw.root)
    await store.start()
    raw.full = true
    state.setSetting('x', 1)
    await expect.poll(() => store.persistence().attempts, { timeout: 5_000 }).toBe(1)
    const waits = [100, 200, 400, 800, 1_600, 1_600]
    for (const [i, waitMs] of waits.entries()) {
      const calls = raw.writeCalls
      expect(store.persistence().retryInMs).toBe(waitMs)
      clock.advance(waitMs - 1)
      expect(raw.writeCalls).toBe(calls)
      clock.advance(1)
      await expect.poll(() => store.persistence().attempts, { timeout: 5_000 }).toBe(i + 2)
      expect(raw.writeCalls).toBe(calls + 1)
    }
    expect(waits.map((_, i) => persistRetryDelayMs(i + 1, 100, 1_600))).toEqual(waits)
    raw.full = false
    await store.stop()
  })

  it('past maxQueuedBytes, collapses the waiting updates into a snapshot of their document, and loses none', async () => {
    const { state, store } = storeOn(raw.root, { maxQueuedBytes: 2_048 })
    await store.start()
    raw.full = true
    for (let i = 0; i < 60; i++) state.setSetting(`big${i}`, 'v'.repeat(100) + String(i))
    await expect.poll(() => store.persistence().attempts, { timeout: 5_000 }).toBeGreaterThan(0)
    const p = store.persistence()
    expect(p.collapsedDocs).toBe(1)
    expect(p.queuedBytes).toBeLessThanOrEqual(2_048)
    expect(p.pendingUpdates).toBe(60)
    raw.full = false
    clock.advance(p.retryInMs ?? 0)
    await expect.poll(() => store.persistence().persisting, { timeout: 5_000 }).toBe(true)
    await store.flush()
    expect(store.persistence()).toMatchObject({ pendingUpdates: 0, collapsedDocs: 0 })
    await store.stop()
    const settings = await restoredSettings()
    for (let i = 0; i < 60; i++) expect(settings.get(`big${i}`)).toBe('v'.repeat(100) + String(i))
  })

  it('behind the WriteGuard as a node wires it: the retry reopens the database once the disk has room, then persists', async () => {
    let free = 0
    const guard = new WriteGuard({ db: raw.root, clock, logger, freeBytes: async () => free }, { reopenMinFreeBytes: 1_024 })
    const { state, store } = storeOn(guard.db)
    await store.start()
    raw.full = true
    state.setSetting('during', 1)
    await expect.poll(() => store.persistence().attempts, { timeout: 5_000 }).toBe(1)
    expect(guard.state()).toMatchObject({ writable: false, code: 'ENOSPC' })
    const calls = raw.writeCalls
    clock.advance(100) // still full: refused by the guard, LevelDB not touched
    await expect.poll(() => store.persistence().attempts, { timeout: 5_000 }).toBe(2)
    expect(raw.writeCalls).toBe(calls)
    raw.full = false
    free = 1 << 20
    clock.advance(200)
    await expect.poll(() => store.persistence().persisting, { timeout: 5_000 }).toBe(true)
    expect(guard.state()).toMatchObject({ writable: true, reopens: 1 })
    state.setSetting('after', 2)
    await store.flush()
    await store.stop()
    const settings = await restoredSettings()
    expect([settings.get('during'), settings.get('after')]).toEqual([1, 2])
  })
})
