/**
 * SyncPlanner runs the jobs of a pass one after another by default (one sync at a time per
 * node), or `maxSyncJobsPerNode` at once. The planner, the replicated state and the scanner are
 * real; the transfer client is a recorder that counts the pulls in flight (the client's own
 * transfers are tested in test/integration/transfer.test.ts).
 */
import { describe, expect, it } from 'vitest'
import { createHash } from 'node:crypto'
import { ManifestScanner } from '../../../src/transfer/scanner.js'
import { MemoryHashCache } from '../../../src/transfer/hash-cache.js'
import { toManifestEntry } from '../../../src/transfer/manifest.js'
import { SyncPlanner, type DataPuller } from '../../../src/managers/sync-planner.js'
import type { PullResult, WantedFile } from '../../../src/transfer/client.js'
import type { ScannedFile } from '../../../src/transfer/scanner.js'
import { silentLogger } from '../../../src/core/logger.js'
import { VirtualClock } from '../../../src/core/clock.js'
import { makeState, nodeId, syncInto, tempDir } from '../../helpers.js'

const FILES = 30
const PER_JOB = 10

/** A holder's manifest of FILES self-play files of hex8_2p. */
function holderFiles (): ScannedFile[] {
  return Array.from({ length: FILES }, (_, i) => ({
    path: `selfplay/hex8_2p/run-${String(i).padStart(2, '0')}.jsonl`,
    size: 100 + i,
    mtimeMs: 1_000_000 + i,
    sha256: createHash('sha256').update(`file ${i}`).digest('hex'),
    kind: 'selfplay' as const,
    config: 'hex8_2p' as const,
    gameCount: 1
  }))
}

/** Pulls that each take a turn of the event loop, counting how many are in flight at once. */
function recordingPuller (): DataPuller & { maxInFlight: number, pulled: string[] } {
  let inFlight = 0
  const p = {
    maxInFlight: 0,
    pulled: [] as string[],
    list: async () => [],
    pullFromAny: async (holders: readonly string[], file: WantedFile): Promise<PullResult> => {
      inFlight++
      p.maxInFlight = Math.max(p.maxInFlight, inFlight)
      await new Promise(resolve => setImmediate(resolve))
      inFlight--
      p.pulled.push(file.path)
      return {
        peer: holders[0] as string, path: file.path, size: file.size ?? 0, sha256: file.sha256 ?? '', gameCount: 1, bytesReceived: file.size ?? 0,
        resumedFrom: 0, alreadyPresent: false, viaFastPath: true, durationMs: 1, failedHolders: []
      }
    }
  }
  return p
}

async function pass (maxSyncJobsPerNode: number | undefined): Promise<{ maxInFlight: number, pulled: number, received: number }> {
  const { dir, cleanup } = await tempDir('riftmesh-sync-jobs-')
  try {
    const clock = new VirtualClock(1_000_000)
    const holder = makeState(2, 2, {}, clock)
    holder.setManifest(toManifestEntry({ files: holderFiles() }, { nodeId: nodeId(2), generatedAt: 1_000, maxEntries: 1_000 }))
    const self = makeState(1, 1, {}, clock)
    syncInto(holder, self)
    const client = recordingPuller()
    const planner = new SyncPlanner({
      state: self,
      scanner: new ManifestScanner({ clock, logger: silentLogger(), cache: new MemoryHashCache() }, { dataDir: dir }),
      client,
      wants: () => ({ dataConfigs: new Set(['hex8_2p'] as const), modelPaths: new Set() }),
      holder: () => ({ alive: true, load: 0 }),
      diskPercent: () => 10,
      clock,
      logger: silentLogger()
    }, { maxFilesPerSyncJob: PER_JOB, ...(maxSyncJobsPerNode !== undefined ? { maxSyncJobsPerNode } : {}) })
    const report = await planner.tick()
    await planner.stop()
    return { maxInFlight: client.maxInFlight, pulled: new Set(client.pulled).size, received: report?.received ?? -1 }
  } finally {
    await cleanup()
  }
}

describe('SyncPlanner jobs at once (sync.maxSyncJobsPerNode)', () => {
  it('runs one job after another by default: never more than one job of pulls in flight', async () => {
    expect(await pass(undefined)).toEqual({ maxInFlight: PER_JOB, pulled: FILES, received: FILES })
  })

  it('runs that many jobs at once when set, and still pulls every file once', async () => {
    expect(await pass(2)).toEqual({ maxInFlight: 2 * PER_JOB, pulled: FILES, received: FILES })
    expect(await pass(3)).toEqual({ maxInFlight: 3 * PER_JOB, pulled: FILES, received: FILES })
  })

  it('refuses a value below 1', () => {
    const clock = new VirtualClock(1_000_000)
    const state = makeState(1, 1, {}, clock)
    expect(() => new SyncPlanner({
      state, scanner: { scan: async () => { throw new Error('not reached') } }, client: recordingPuller(), wants: () => ({ dataConfigs: new Set(), modelPaths: new Set() }),
      holder: () => ({ alive: true, load: 0 }), diskPercent: () => 0, clock, logger: silentLogger()
    }, { maxSyncJobsPerNode: 0 })).toThrow(RangeError)
  })
})
