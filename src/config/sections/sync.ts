/** `sync`: manifests and file transfer between nodes. */
import * as D from '../defaults.js'
import { bool, bytes, field, int, ms, percent } from '../fields.js'

export const syncFields = {
  manifestCacheAgeMs: field(ms(1), D.DEFAULT_MANIFEST_CACHE_AGE_MS,
    'A collected cluster manifest is reused this long (SYNCED → IDLE after it).'),
  manifestCollectionIntervalMs: field(ms(1), D.DEFAULT_MANIFEST_COLLECTION_INTERVAL_MS, 'How often manifests are collected.'),
  manifestCollectionTimeoutMs: field(ms(1), D.DEFAULT_MANIFEST_COLLECTION_TIMEOUT_MS,
    'A peer whose manifest does not arrive in this time is marked unhealthy.'),
  planIntervalMs: field(ms(100), D.DEFAULT_SYNC_PLAN_INTERVAL_MS,
    'How often a node plans and runs its pulls; also soon after a manifest or the models change.'),
  fastPath: field(bool(), D.DEFAULT_FAST_PATH,
    'Offer a TCP side channel (authorised by a one-time token sent over libp2p) for file transfers; false: every byte goes through libp2p.'),
  fastPathEncryption: field(bool(), D.DEFAULT_FAST_PATH_ENCRYPTION,
    'Seal side-channel frames with AES-256-GCM. Off, they travel in the clear; every file is still sha256-verified. Turn on for untrusted networks (about half the throughput).'),
  maxFilesPerSyncJob: field(int(1, 10_000, 'files'), D.DEFAULT_MAX_FILES_PER_SYNC_JOB,
    'Most files in one sync job (per source and target).'),
  mtimeToleranceMs: field(ms(0), D.DEFAULT_MTIME_TOLERANCE_MS,
    'A file is re-synced only when the source is newer than the target by more than this.'),
  retryBackoffMinMs: field(ms(1), D.DEFAULT_SYNC_RETRY_BACKOFF_MIN_MS, 'First retry delay after a sync error (doubles each time).'),
  retryBackoffMaxMs: field(ms(1), D.DEFAULT_SYNC_RETRY_BACKOFF_MAX_MS, 'Cap on the sync retry delay.'),
  maxDiskPercent: field(percent(), D.DEFAULT_SYNC_MAX_DISK_PERCENT, 'A node refuses incoming syncs while its disk use is over this.'),
  maxSyncJobsPerNode: field(int(1, 64, 'jobs'), D.DEFAULT_MAX_SYNC_JOBS_PER_NODE, 'Sync jobs a node runs at once.'),
  maxConcurrentTransfers: field(int(1, 256, 'transfers'), D.DEFAULT_MAX_CONCURRENT_TRANSFERS,
    'File pulls running at once within a sync job.'),
  chunkBytes: field(bytes(1_024), D.DEFAULT_CHUNK_BYTES, 'Size of one file chunk on a transfer stream.'),
  fsync: field(bool(), D.DEFAULT_SYNC_FSYNC,
    'fsync every received file and its directory before it counts as here (a crash then never leaves a listed file half written). Off: faster on slow disks, as durable as rsync without --fsync.'),
  syncfs: field(bool(), D.DEFAULT_SYNC_SYNCFS,
    'With fsync on: make each group of small files pulled in a batch durable with one syncfs per file system (Linux, native addon built at install) instead of one fsync per file. It also writes out whatever else is dirty there; off: an fsync per file.'),
  batchFiles: field(int(0, 256, 'files'), D.DEFAULT_SYNC_BATCH_FILES,
    'Small files pulled from one holder in one BATCH request (0 or 1: one GET per file).'),
  batchMaxFileBytes: field(bytes(0), D.DEFAULT_SYNC_BATCH_MAX_FILE_BYTES, 'Largest file pulled in a batch; larger files get a GET of their own.'),
  diskThreads: field(int(0, 64, 'threads'), D.DEFAULT_SYNC_DISK_THREADS,
    'Worker threads that read, verify and write batched files with synchronous calls (0: on the main thread).'),
  manifestMaxEntries: field(int(1, 1_000_000, 'files'), D.DEFAULT_MANIFEST_MAX_ENTRIES,
    'Most files a node lists in the manifest it publishes; the full list is served by stream.')
}
