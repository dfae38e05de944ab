/** `store`: LevelDB persistence, compaction, table limits, stale state at load. */
import * as D from '../defaults.js'
import { bool, bytes, field, int, ms, num } from '../fields.js'

export const storeFields = {
  compactAfterBytes: field(bytes(1_024), D.DEFAULT_COMPACT_AFTER_BYTES,
    'Size of a document\'s update log that triggers compaction into a snapshot.'),
  syncWrites: field(bool(), D.DEFAULT_SYNC_WRITES, 'fsync each write batch before acknowledging it.'),
  persistRetryMaxMs: field(ms(100), D.DEFAULT_PERSIST_RETRY_MAX_MS,
    'While document writes fail (a full disk), they are tried again after 100 ms, doubling up to this; the updates wait in memory meanwhile.'),
  maxUnpersistedBytes: field(bytes(1_024), D.DEFAULT_MAX_UNPERSISTED_BYTES,
    'Document updates kept in memory while writes fail; past this they are replaced by a snapshot of each document, written on recovery.'),
  jobHistoryMax: field(int(1, 10_000_000, 'rows'), D.DEFAULT_JOB_HISTORY_MAX,
    'Most finished job records kept in the jobs table; the oldest are dropped.'),
  metricsHistoryMax: field(int(1, 10_000_000, 'rows'), D.DEFAULT_METRICS_HISTORY_MAX,
    'Most rows kept in metrics_history; the oldest are dropped.'),
  peerCacheMax: field(int(1, 100_000, 'entries'), D.DEFAULT_PEER_CACHE_MAX,
    'Most entries in the peer cache; the lowest-reputation entries are dropped.'),
  peerCacheTtlMs: field(ms(1), D.DEFAULT_PEER_CACHE_TTL_MS,
    'A peer cache entry not seen for this long is dropped.'),
  reputationAlpha: field(num(0, 1, 'EWMA α', true), D.DEFAULT_REPUTATION_ALPHA,
    'Smoothing factor of the peer reputation moving average.'),
  staleJobAgeMs: field(ms(1), D.DEFAULT_STALE_JOB_AGE_MS,
    'Jobs older than this are dropped (and reported) when the store loads.'),
  stalePeerAgeMs: field(ms(1), D.DEFAULT_STALE_PEER_AGE_MS,
    'Peers silent longer than this are dropped (and reported) when the store loads.')
}
