/** `mesh`: gossip coalescing, message size limits, anti-entropy. */
import * as D from '../defaults.js'
import { bytes, field, int, ms } from '../fields.js'

export const meshFields = {
  coalesceWindowMs: field(ms(0), D.DEFAULT_COALESCE_WINDOW_MS,
    'Document updates made within this window are sent as one gossip message; 0 sends each at once.'),
  maxCoalesceDelayMs: field(ms(1), D.DEFAULT_MAX_COALESCE_DELAY_MS,
    'Longest an update waits for coalescing under a steady stream of updates.'),
  maxGossipMessageBytes: field(bytes(1_024), D.DEFAULT_MAX_GOSSIP_MESSAGE_BYTES,
    'Largest gossip message sent or accepted; larger updates go over a stream.'),
  maxStreamMessageBytes: field(bytes(1_024), D.DEFAULT_MAX_STREAM_MESSAGE_BYTES,
    'Largest single message on a direct stream (state sync, file chunks).'),
  antiEntropyIntervalMs: field(ms(1), D.DEFAULT_ANTI_ENTROPY_INTERVAL_MS,
    'How often a node compares document state vectors with a random peer and repairs differences.'),
  syncTimeoutMs: field(ms(1), D.DEFAULT_MESH_SYNC_TIMEOUT_MS,
    'Deadline of one document sync exchange with a peer.'),
  maxPeers: field(int(1, 10_000, 'peers'), D.DEFAULT_MAX_PEERS,
    'Most peer connections kept; beyond it the least useful connections are closed.')
}
