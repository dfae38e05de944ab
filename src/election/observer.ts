/**
 * ElectionObserver: makes the election's transitions of every node visible on this one, not
 * only its own role (`ElectionService.onChange`). After each of the election's ticks it observes
 * the leader the node knows, the lease entries and how many voters are alive, derives the
 * transitions from the last observation (`electionTransitions`), and for each one logs at info
 * once, counts it by type, keeps it in a bounded ring of recent events (oldest dropped) and
 * tells its listeners. Looking right after each evaluation, it cannot miss a leaderless tick
 * between an expired lease and the next leader.
 */
import type { Clock } from '../core/clock.js'
import { timestampMs } from '../core/clock.js'
import { ConfigError } from '../core/errors.js'
import type { Logger } from '../core/logger.js'
import type { ClusterState } from '../state/cluster-state.js'
import type { LeaderInfo } from './election.js'
import { votersAlive } from './rules.js'
import {
  ELECTION_TRANSITION_TYPES, NO_OBSERVATION, electionTransitions,
  type ElectionObservation, type ElectionTransition, type ElectionTransitionType
} from './transitions.js'

/** Recent events kept for the REPL and `electionEvents`. */
export const DEFAULT_MAX_ELECTION_EVENTS = 256
/** Most events one may ask to keep. */
export const MAX_ELECTION_EVENTS_LIMIT = 10_000
/** After a start the failure detector has heard nobody yet: the quorum is judged only after this. */
export const DEFAULT_QUORUM_GRACE_MS = 4_000

export interface ElectionObserverInit {
  /** Recent events kept; at the limit the oldest is dropped. @default DEFAULT_MAX_ELECTION_EVENTS (256) */
  maxEvents?: number
  /** No quorum verdict for this long after start. @default DEFAULT_QUORUM_GRACE_MS (4_000; the node passes election.leaseMs) */
  quorumGraceMs?: number
}

/** What the observer reads of the election (ElectionService implements it). */
export interface ElectionReader {
  currentLeader: () => LeaderInfo | undefined
  voters: () => string[]
  mode: () => 'majority' | 'epoch'
  readonly highestEpoch: number
  /** Calls `listener` after each evaluation; returns the unsubscribe function. */
  onTick: (listener: () => void) => () => void
}

export interface ElectionObserverComponents {
  election: ElectionReader
  state: ClusterState
  clock: Clock
  logger: Logger
  /** Whether a voter is alive as the failure detector sees it. */
  isAlive: (nodeId: string) => boolean
}

/** A transition as this node recorded it. */
export interface ElectionEventRecord extends ElectionTransition {
  /** 1, 2, … since this node started. */
  seq: number
  /** Wall-clock ms at which this node saw it. */
  atMs: number
}

const LABELS: Record<ElectionTransitionType, string> = {
  'leader-elected': 'leader elected',
  'lease-expired': 'lease expired',
  'stepped-down': 'leader stepped down',
  'quorum-lost': 'quorum lost',
  'quorum-regained': 'quorum regained'
}

function intIn (key: string, value: number, min: number, max: number): number {
  if (!(Number.isInteger(value) && value >= min && value <= max)) throw new ConfigError(`electionObserver.${key}`, `an integer in ${min}..${max}`, `got ${value}`)
  return value
}

export class ElectionObserver {
  readonly maxEvents: number
  private readonly graceMs: number
  private readonly log: Logger
  private readonly ring: ElectionEventRecord[] = []
  private readonly counted = Object.fromEntries(ELECTION_TRANSITION_TYPES.map(t => [t, 0])) as Record<ElectionTransitionType, number>
  private readonly listeners = new Set<(e: ElectionEventRecord) => void>()
  private last: ElectionObservation = NO_OBSERVATION
  private seq = 0
  private startedAtMs = 0
  private off: (() => void) | undefined

  constructor (private readonly c: ElectionObserverComponents, init: ElectionObserverInit = {}) {
    this.log = c.logger.child({ component: 'election-events' })
    this.maxEvents = intIn('maxEvents', init.maxEvents ?? DEFAULT_MAX_ELECTION_EVENTS, 1, MAX_ELECTION_EVENTS_LIMIT)
    this.graceMs = intIn('quorumGraceMs', init.quorumGraceMs ?? DEFAULT_QUORUM_GRACE_MS, 0, 3_600_000)
  }

  start (): void {
    if (this.off !== undefined) return
    this.startedAtMs = this.c.clock.monoMs()
    this.off = this.c.election.onTick(() => this.observe())
  }

  stop (): void {
    this.off?.()
    this.off = undefined
  }

  onEvent (listener: (e: ElectionEventRecord) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** The election as this node sees it now. */
  current (): ElectionObservation {
    const e = this.c.election
    const leader = e.currentLeader()
    const voters = e.voters()
    const judged = e.mode() === 'majority' && this.c.clock.monoMs() - this.startedAtMs >= this.graceMs
    return {
      leader: leader === undefined ? null : { nodeId: leader.nodeId, epoch: leader.epoch },
      leases: this.c.state.leaseEntries().map(l => ({ nodeId: l.nodeId, epoch: l.epoch })),
      quorum: judged ? { voters: voters.length, alive: votersAlive(voters, this.c.state.selfId, this.c.isAlive) } : null,
      highestEpoch: e.highestEpoch
    }
  }

  /** Observe once now (done after each election tick); returns the events it recorded. */
  observe (): ElectionEventRecord[] {
    const next = this.current()
    const found = electionTransitions(this.last, next, this.c.state.selfId)
    this.last = next
    return found.map(t => this.record(t))
  }

  /** The most recent events, oldest first: all that are kept, or the last `limit`. */
  events (limit = this.maxEvents): ElectionEventRecord[] {
    return this.ring.slice(-Math.max(1, limit))
  }

  /** Events seen since start, by type (every type, 0 when none). */
  counts (): Record<ElectionTransitionType, number> {
    return { ...this.counted }
  }

  private record (t: ElectionTransition): ElectionEventRecord {
    const e: ElectionEventRecord = { ...t, seq: ++this.seq, atMs: timestampMs(this.c.clock) }
    this.ring.push(e)
    if (this.ring.length > this.maxEvents) this.ring.splice(0, this.ring.length - this.maxEvents)
    this.counted[t.type]++
    this.log.info({ event: t.type, epoch: t.epoch, node: t.node }, `${LABELS[t.type]}: ${t.detail}`)
    for (const l of this.listeners) {
      try {
        l(e)
      } catch (err) {
        this.log.error({ err, event: t.type }, 'election event listener failed')
      }
    }
    return e
  }
}
