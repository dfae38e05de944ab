import { describe, expect, it } from 'vitest'
import { clockLines, storeLines } from '../../../src/repl/health-view.js'
import { storeHealth } from '../../../src/node/metrics-snapshot.js'
import type { PersistenceStatus } from '../../../src/store/doc-store.js'
import type { PersistenceState } from '../../../src/store/write-guard.js'

const docsOk: PersistenceStatus = { persisting: true, code: null, error: null, failingSinceMs: null, attempts: 0, pendingUpdates: 0, queuedBytes: 0, collapsedDocs: 0, retryInMs: null }
const dbOk: PersistenceState = { writable: true, code: null, error: null, sinceMs: null, failedWrites: 0, reopens: 0 }
const enospc = 'IO error: /var/lib/riftmesh/db/000003.log: No space left on device'

describe('status: store health', () => {
  it('says the store persists when both the document store and the database say so', () => {
    const h = storeHealth(docsOk, dbOk, 10_000)
    expect(h).toEqual({ persisting: true, code: null, error: null, failingForMs: null, pendingUpdates: 0, retryInMs: null })
    expect(storeLines(h)).toEqual(['store: persisting'])
  })

  it('says "cannot persist (ENOSPC)", for how long, and what waits in memory while writes fail', () => {
    const docs: PersistenceStatus = { ...docsOk, persisting: false, code: 'ENOSPC', error: enospc, failingSinceMs: 4_000, attempts: 5, pendingUpdates: 42, queuedBytes: 9_000, retryInMs: 3_200 }
    const db: PersistenceState = { ...dbOk, writable: false, code: 'ENOSPC', error: enospc, sinceMs: 3_000, failedWrites: 1 }
    const h = storeHealth(docs, db, 15_000)
    expect(h).toMatchObject({ persisting: false, code: 'ENOSPC', failingForMs: 12_000, pendingUpdates: 42, retryInMs: 3_200 })
    expect(storeLines(h)).toEqual([
      `WARNING store: cannot persist (ENOSPC) for 12.0s; 42 document update(s) kept in memory, not durable yet, next try in 3.2s; free space in the data dir: persistence resumes by itself (${enospc})`
    ])
  })

  it('is red when only the database refuses writes (a local table write failed) and no update waits', () => {
    const h = storeHealth(docsOk, { ...dbOk, writable: false, code: 'EROFS', error: 'Read-only file system', sinceMs: 0 }, 2_000)
    expect(storeLines(h)[0]).toMatch(/^WARNING store: cannot persist \(EROFS\) for 2\.0s; free space/)
  })
})

describe('status: clock skew', () => {
  it('warns once per peer whose clock is past the bound, saying ahead or behind', () => {
    expect(clockLines({ maxSkewMs: 10_000, skewed: [] })).toEqual([])
    expect(clockLines({ maxSkewMs: 10_000, skewed: [{ peer: '12D3KooWAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA1234567890', skewMs: 3_600_000 }, { peer: 'p2', skewMs: -12_000 }] })).toEqual([
      'WARNING clock: …1234567890 is 1h00m ahead of this node (more than health.maxClockSkewMs, 10.0s); check NTP on both machines',
      'WARNING clock: p2 is 12.0s behind this node (more than health.maxClockSkewMs, 10.0s); check NTP on both machines'
    ])
  })
})
