/** `election`: who may lead, the leader lease and its timings. */
import * as D from '../defaults.js'
import * as V from '../../core/vocabulary.js'
import { field, list, ms, nullable, oneOf, text } from '../fields.js'

/** A libp2p peer id as text. */
const peerId = text(/^[A-Za-z0-9]{1,128}$/, 'a peer id (1–128 letters and digits)', 128)

export const electionFields = {
  voters: field(list(peerId.schema, 'peer ids', 64), D.DEFAULT_VOTERS,
    'Peer ids of the voters (the cluster setting `voters` overrides it); a leader needs a strict majority of them. Fewer than 3: epoch mode.'),
  mode: field(oneOf(V.ELECTION_MODES), D.DEFAULT_ELECTION_MODE,
    'majority: leases granted by a majority of voters; epoch: leadership by the highest cluster epoch.'),
  leaseMs: field(ms(1), D.DEFAULT_LEASE_MS, 'Length of a leader lease.'),
  renewIntervalMs: field(ms(1), D.DEFAULT_RENEW_INTERVAL_MS, 'How often the leader renews its lease.'),
  driftMarginMs: field(ms(0), D.DEFAULT_DRIFT_MARGIN_MS,
    'Clock drift allowance: a leader stops acting this long before its lease ends.'),
  backoffMinMs: field(ms(1), D.DEFAULT_ELECTION_BACKOFF_MIN_MS, 'Shortest random wait before a candidacy.'),
  backoffMaxMs: field(ms(1), D.DEFAULT_ELECTION_BACKOFF_MAX_MS, 'Longest random wait before a candidacy.'),
  leaderlessTrainingTimeoutMs: field(ms(1), D.DEFAULT_LEADERLESS_TRAINING_TIMEOUT_MS,
    'With no known leader for this long, a GPU node with enough local data may start local training.'),
  eligibility: field(oneOf(V.ELIGIBILITY_RULES), D.DEFAULT_ELIGIBILITY,
    'all: any leaderEligible node may lead; flagged: only voters; preferred: preferredLeader first, others when it is gone.'),
  preferredLeader: field(nullable(peerId, 'for none'), D.DEFAULT_PREFERRED_LEADER,
    'Peer id that leads when alive; required when eligibility is "preferred".')
}
