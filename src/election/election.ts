/**
 * ElectionService: one leader at a time through entries in the shared document (DESIGN.md §6).
 * Candidacy, grants and the lease are single-writer entries of the `election` map; voters persist
 * their promise (fsync) before they grant; a candidate leads epoch e while a strict majority of
 * voters grant (it, e) for its current round, for leaseMs from that round's send time on its own
 * clock minus a drift margin; it renews by rounds; a higher epoch anywhere makes it step down; a
 * restarted node is always a follower. With fewer than 3 voters, "epoch" mode: each side may
 * elect, and on heal the higher epoch, then the lower node id, wins.
 */
import type { Clock, TimerHandle } from '../core/clock.js'
import { timestampMs } from '../core/clock.js'
import type { Logger } from '../core/logger.js'
import type { ClusterState } from '../state/cluster-state.js'
import { LEADERS, VOTERS } from '../state/settings-registry.js'
import { CLUSTER_EPOCH_KEY, type LocalTables } from '../store/tables.js'
import {
  decideVote, electionBackoffMs, grantCount, majority, maxEpochOf, modeFor, visibleLease, votersAlive,
  type ElectionTimings, type ElectionView, type VoterState
} from './rules.js'

export type Role = 'follower' | 'candidate' | 'leader'

export interface ElectionServiceInit extends ElectionTimings {
  /** @default 'majority' (epoch mode anyway below 3 voters) */
  mode?: 'majority' | 'epoch'
  /** Voters when the cluster setting `voters` is not set. */
  voters: readonly string[]
  /** @default 'all' */
  eligibility?: 'all' | 'flagged' | 'preferred'
  /** @default null */
  preferredLeader?: string | null
  /** Whether this node may stand. @default true */
  selfEligible?: boolean
  /** Re-evaluation period. @default renewIntervalMs / 4 */
  tickMs?: number
}

export interface ElectionServiceComponents {
  state: ClusterState
  tables: LocalTables
  clock: Clock
  logger: Logger
  /** Whether a node is alive as the failure detector sees it (for the preferred leader). */
  isAlive?: (nodeId: string) => boolean
  /** Whether this node may stand at all now (a node that reached no peer must not lead alone). @default always */
  mayStand?: () => { ok: true } | { ok: false, reason: string }
}

export interface LeaderInfo { nodeId: string, epoch: number }

export type ElectionEvent = { type: 'leader', epoch: number } | { type: 'follower', epoch: number, reason: string }

const HIGHEST_EPOCH_KEY = CLUSTER_EPOCH_KEY

export class ElectionService {
  private readonly s: ClusterState
  private readonly tables: LocalTables
  private readonly clock: Clock
  private readonly log: Logger
  private readonly isAlive: (nodeId: string) => boolean
  private readonly mayStand: () => { ok: true } | { ok: false, reason: string }
  private notStandingReason: string | undefined
  private readonly t: ElectionTimings
  private readonly init: ElectionServiceInit
  private readonly tickMs: number
  /** The lease was found ended at the last tick (step down if it still is at the next). */
  private expirySeen = false
  private timer: TimerHandle | undefined
  private running = false
  private ticking = false
  private readonly listeners = new Set<(e: ElectionEvent) => void>()
  private readonly tickListeners = new Set<() => void>()

  roleValue: Role = 'follower'
  private epoch = 0
  private round = 0
  private readonly roundSentAt = new Map<number, number>()
  /** Wall-clock ms at which the current round was sent (the entries' `sentAt` and `renewedAt`). */
  private roundSentWallMs = 0
  private candidateSinceMs = 0
  private leaseExpiresAtMs = 0
  private lastRoundMs = 0
  /** Highest epoch this node acted on or saw, persisted (never decreases, even across restarts). */
  highestEpoch = 0
  private voter: VoterState = { promise: undefined, lastGrantMs: undefined, lastGrantRound: -1, startedAtMs: 0 }
  private observed: { key: string, lease: LeaderInfo, seenAtMs: number } | undefined
  /** Other nodes' live candidacies and when this node saw each round (to not split their vote). */
  private readonly candidacySeen = new Map<string, { key: string, seenAtMs: number }>()
  private noLeaderSinceMs = 0

  constructor (components: ElectionServiceComponents, init: ElectionServiceInit) {
    this.s = components.state
    this.tables = components.tables
    this.clock = components.clock
    this.log = components.logger.child({ component: 'election' })
    this.isAlive = components.isAlive ?? (() => true)
    this.mayStand = components.mayStand ?? (() => ({ ok: true }))
    this.init = init
    this.t = init
    this.s.useElectionMode(init.mode ?? 'majority') // the state counts leases the way this election runs
    this.tickMs = init.tickMs ?? Math.max(10, Math.floor(init.renewIntervalMs / 4))
    if (!(init.renewIntervalMs + init.driftMarginMs < init.leaseMs)) throw new RangeError('election needs renewIntervalMs + driftMarginMs < leaseMs')
    if (!(init.backoffMinMs <= init.backoffMaxMs)) throw new RangeError('election needs backoffMinMs ≤ backoffMaxMs')
  }

  get role (): Role { return this.roleValue }

  /** Why this node does not stand for leader right now (from `mayStand`), or null. */
  notStanding (): string | null { return this.notStandingReason ?? null }

  /** Load the persisted epoch and promise; always start as a follower. */
  async start (): Promise<void> {
    if (this.running) return
    const stored = await this.tables.config.get(HIGHEST_EPOCH_KEY)
    this.highestEpoch = typeof stored === 'number' ? stored : 0
    const promise = await this.tables.promise()
    const now = this.clock.monoMs()
    this.voter = { promise: promise === undefined ? undefined : { epoch: promise.epoch, candidate: promise.candidate }, lastGrantMs: undefined, lastGrantRound: -1, startedAtMs: now }
    this.highestEpoch = Math.max(this.highestEpoch, promise?.epoch ?? 0)
    this.noLeaderSinceMs = now
    this.roleValue = 'follower'
    this.running = true
    this.schedule()
  }

  stop (): void {
    this.running = false
    this.clock.clearTimer(this.timer)
    this.timer = undefined
  }

  onChange (listener: (e: ElectionEvent) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Called after every evaluation (the ElectionObserver looks at the election then). */
  onTick (listener: () => void): () => void {
    this.tickListeners.add(listener)
    return () => this.tickListeners.delete(listener)
  }

  /** True while this node holds a valid lease (fence every leader-only action with `leaderEpoch`). */
  isLeader (): boolean {
    return this.roleValue === 'leader' && this.clock.monoMs() < this.leaseExpiresAtMs
  }

  leaderEpoch (): number | undefined {
    return this.isLeader() ? this.epoch : undefined
  }

  /** The leader as this node knows it: itself, or a lease whose renewals it saw within a lease. */
  currentLeader (): LeaderInfo | undefined {
    if (this.isLeader()) return { nodeId: this.s.selfId, epoch: this.epoch }
    const o = this.observed
    if (o !== undefined && o.lease.nodeId !== this.s.selfId && this.clock.monoMs() - o.seenAtMs < this.t.leaseMs) return o.lease
    return undefined
  }

  /** The cluster setting `voters` (only a valid one: a malformed write never takes effect), else the config's. */
  voters (): string[] {
    return this.s.settingOf(VOTERS) ?? [...new Set(this.init.voters)].sort()
  }

  mode (): 'majority' | 'epoch' {
    return modeFor(this.voters(), this.init.mode ?? 'majority')
  }

  /** Run one evaluation now (the timer does this every tickMs). */
  async tick (): Promise<void> {
    if (!this.running || this.ticking) return
    this.ticking = true
    try {
      await this.evaluate()
    } catch (err) {
      this.log.error({ err }, 'election step failed')
    } finally {
      this.ticking = false
    }
    for (const l of this.tickListeners) l()
  }

  private schedule (): void {
    this.timer = this.clock.setTimer(() => {
      if (!this.running) return
      this.tick().finally(() => { if (this.running) this.schedule() }).catch(() => undefined)
    }, this.tickMs)
  }

  /** The election entries as they count (ClusterState.leases() leaves out leases nobody granted). */
  private view (): ElectionView {
    return { candidacies: this.s.candidacies(), grants: this.s.grants(), leases: this.s.leases() }
  }

  private eligible (nodeId: string): boolean {
    const listed = this.s.settingOf(LEADERS)
    if (listed !== undefined && !listed.includes(nodeId)) return false
    if (nodeId === this.s.selfId) return this.init.selfEligible ?? true
    if ((this.init.eligibility ?? 'all') !== 'flagged') return true
    return this.s.node(nodeId)?.flags.leaderEligible === true
  }

  /** Why this node may not lead at all (the operators' `leaders` setting, or its own config), or null. */
  notEligible (): string | null {
    const listed = this.s.settingOf(LEADERS)
    if (listed !== undefined && !listed.includes(this.s.selfId)) return 'it is not in the cluster setting leaders'
    return (this.init.selfEligible ?? true) ? null : 'node.leaderEligible is false'
  }

  private async evaluate (): Promise<void> {
    const now = this.clock.monoMs()
    const view = this.view()
    const seenMax = maxEpochOf(view)
    if (seenMax > this.highestEpoch) await this.persistEpoch(seenMax)
    this.observe(view, now)
    this.observeCandidates(view, now)
    // A leader in majority mode yields to voters, not to a candidacy: any member may stand under
    // any epoch, and while its voters renew their grants no one else can win — stepping down at
    // the sight of a higher candidacy would let any member depose the leader at will.
    const deposing = this.roleValue === 'leader' && this.mode() === 'majority'
      ? maxEpochOf({ candidacies: [], grants: view.grants, leases: view.leases })
      : seenMax
    if (this.roleValue !== 'follower' && deposing > this.epoch) {
      this.stepDown(`saw epoch ${deposing}`)
    }
    const voters = this.voters()
    if (this.mode() === 'majority' && voters.includes(this.s.selfId)) await this.vote(view, now)
    if (this.roleValue === 'leader') await this.lead(view, now, voters)
    else if (this.roleValue === 'candidate') this.campaign(view, now, voters)
    else await this.maybeStand(view, now)
  }

  /** Track the visible lease's renewals on our own clock. */
  private observe (view: ElectionView, now: number): void {
    const l = visibleLease(view, this.mode())
    if (l === undefined) return
    const key = `${l.nodeId}/${l.epoch}/${l.round}`
    if (this.observed?.key !== key) this.observed = { key, lease: { nodeId: l.nodeId, epoch: l.epoch }, seenAtMs: now }
    if (this.currentLeader() !== undefined) this.noLeaderSinceMs = now
  }

  /** Record when each other candidate's current round was first seen. */
  private observeCandidates (view: ElectionView, now: number): void {
    for (const c of view.candidacies) {
      if (c.nodeId === this.s.selfId) continue
      const key = `${c.epoch}/${c.round}/${c.renounced ? 'r' : ''}`
      if (this.candidacySeen.get(c.nodeId)?.key !== key) this.candidacySeen.set(c.nodeId, { key, seenAtMs: now })
    }
  }

  /** Another node is campaigning right now (a live candidacy above any lease, renewed within a lease). */
  private othersCampaigning (view: ElectionView, now: number): boolean {
    const leaseEpoch = visibleLease(view, this.mode())?.epoch ?? 0
    return view.candidacies.some(c => c.nodeId !== this.s.selfId && !c.renounced && c.epoch > leaseEpoch &&
      now - (this.candidacySeen.get(c.nodeId)?.seenAtMs ?? -Infinity) < this.t.leaseMs)
  }

  private async vote (view: ElectionView, now: number): Promise<void> {
    await this.promiseFromDocument(view)
    const preferred = (this.init.eligibility ?? 'all') === 'preferred' ? (this.init.preferredLeader ?? null) : null
    const d = decideVote(view, this.voter, now, this.t, id => this.eligible(id), preferred)
    if (d.kind === 'none') return
    const c = d.candidate
    if (d.kind === 'grant') {
      // the promise is durable before anyone can see the grant
      await this.tables.setPromise({ epoch: c.epoch, candidate: c.nodeId, grantedAtMs: timestampMs(this.clock) })
      this.voter.promise = { epoch: c.epoch, candidate: c.nodeId }
      if (c.epoch > this.highestEpoch) await this.persistEpoch(c.epoch)
    }
    this.voter.lastGrantMs = this.clock.monoMs()
    this.voter.lastGrantRound = c.round
    this.s.setGrant({ v: 1, voter: this.s.selfId, candidate: c.nodeId, epoch: c.epoch, round: c.round, leaseMs: this.t.leaseMs })
  }

  /**
   * This voter's own grant in the document is a promise it made: after its local promise was lost
   * (`riftmesh node --reset-state` moves the database aside), the re-synced document still holds
   * it, and the voter must not grant another candidate at or below that epoch.
   */
  private async promiseFromDocument (view: ElectionView): Promise<void> {
    const own = view.grants.filter(g => g.voter === this.s.selfId).sort((a, b) => b.epoch - a.epoch)[0]
    const p = this.voter.promise
    if (own === undefined || (p !== undefined && p.epoch >= own.epoch)) return
    await this.tables.setPromise({ epoch: own.epoch, candidate: own.candidate, grantedAtMs: timestampMs(this.clock) })
    this.voter.promise = { epoch: own.epoch, candidate: own.candidate }
    if (own.epoch > this.highestEpoch) await this.persistEpoch(own.epoch)
    this.log.info({ epoch: own.epoch, candidate: own.candidate }, 'took this voter\'s promise back from its own grant in the document (its local promise was lost)')
  }

  private async maybeStand (view: ElectionView, now: number): Promise<void> {
    if (!this.eligible(this.s.selfId) || this.currentLeader() !== undefined) return
    const may = this.mayStand()
    if (!may.ok) {
      if (this.notStandingReason !== may.reason) this.log.warn({ reason: may.reason }, `not standing for leader: ${may.reason}`)
      this.notStandingReason = may.reason
      return
    }
    this.notStandingReason = undefined
    if (this.othersCampaigning(view, now)) {
      this.log.debug('not standing: another candidate is campaigning')
      return // let their vote finish instead of splitting it
    }
    if (this.mode() === 'majority') {
      // pre-vote: a node that cannot see a majority of voters alive cannot win, and each try
      // would raise the epoch and unseat a healthy leader when the partition heals
      const voters = this.voters()
      const reachable = votersAlive(voters, this.s.selfId, this.isAlive)
      if (reachable < majority(voters.length)) {
        this.log.debug({ reachable, voters: voters.length }, 'not standing: no majority of voters alive')
        return
      }
    }
    const preferred = (this.init.eligibility ?? 'all') === 'preferred' ? (this.init.preferredLeader ?? null) : null
    const nextEpoch = Math.max(this.highestEpoch, maxEpochOf(view)) + 1
    // Right after a start, voters grant nothing for a lease: no point standing before that.
    let wait = electionBackoffMs(this.t, this.s.selfId, nextEpoch)
    if (now - this.voter.startedAtMs < this.t.leaseMs) wait += this.t.leaseMs
    if (preferred !== null && preferred !== this.s.selfId && this.isAlive(preferred)) wait += this.t.leaseMs // the preferred leader first
    if (preferred === this.s.selfId) wait = now - this.voter.startedAtMs < this.t.leaseMs ? this.t.leaseMs : 0
    if (now - this.noLeaderSinceMs < wait) return
    await this.persistEpoch(nextEpoch)
    this.epoch = nextEpoch
    this.round = 0
    this.roundSentAt.clear()
    this.roundSentAt.set(0, now)
    this.roundSentWallMs = timestampMs(this.clock)
    this.candidateSinceMs = now
    this.lastRoundMs = now
    this.s.setCandidacy({ v: 1, nodeId: this.s.selfId, epoch: nextEpoch, round: 0, sentAt: this.roundSentWallMs, renounced: false })
    this.noLeaderSinceMs = now
    if (this.mode() === 'epoch') {
      this.becomeLeader(now, now + this.t.leaseMs - this.t.driftMarginMs)
    } else {
      this.roleValue = 'candidate'
      this.log.info({ epoch: nextEpoch }, 'standing for election')
    }
  }

  private campaign (view: ElectionView, now: number, voters: readonly string[]): void {
    const expiresAt = this.majorityLeaseEnd(view, voters)
    if (expiresAt !== undefined && expiresAt > now) {
      this.becomeLeader(now, expiresAt)
      return
    }
    if (now - this.candidateSinceMs > this.t.leaseMs + electionBackoffMs(this.t, this.s.selfId, this.epoch)) {
      // no majority: renounce so voters can release their promise to us, and try again later
      this.s.setCandidacy({ v: 1, nodeId: this.s.selfId, epoch: this.epoch, round: this.round, sentAt: timestampMs(this.clock), renounced: true })
      this.roleValue = 'follower'
      this.noLeaderSinceMs = now
      this.log.info({ epoch: this.epoch }, 'no majority; renounced')
      return
    }
    // keep asking with fresh rounds, so the lease a late majority grants starts recently
    this.nextRound(now, false)
  }

  /** Lease end from the newest round a majority of voters answered, or undefined. */
  private majorityLeaseEnd (view: ElectionView, voters: readonly string[]): number | undefined {
    for (let r = this.round; r >= 0 && r >= this.round - 8; r--) {
      const sent = this.roundSentAt.get(r)
      if (sent === undefined) continue
      if (grantCount(view, voters, this.s.selfId, this.epoch, r) >= majority(voters.length)) return sent + this.t.leaseMs - this.t.driftMarginMs
    }
    return undefined
  }

  /**
   * Start round+1 when renewIntervalMs has passed since the last one: the candidacy (and the lease
   * while leading) carry the round and its wall-clock send time. Returns whether it did.
   */
  private nextRound (now: number, withLease: boolean): boolean {
    if (now - this.lastRoundMs < this.t.renewIntervalMs) return false
    this.round++
    this.lastRoundMs = now
    this.roundSentAt.set(this.round, now)
    this.roundSentAt.delete(this.round - 10)
    this.roundSentWallMs = timestampMs(this.clock)
    this.s.setCandidacy({ v: 1, nodeId: this.s.selfId, epoch: this.epoch, round: this.round, sentAt: this.roundSentWallMs, renounced: false })
    if (withLease) this.writeLease()
    return true
  }

  private becomeLeader (now: number, expiresAt: number): void {
    this.roleValue = 'leader'
    this.leaseExpiresAtMs = expiresAt
    this.writeLease()
    this.log.info({ epoch: this.epoch }, 'became leader')
    this.emit({ type: 'leader', epoch: this.epoch })
    void now
  }

  private async lead (view: ElectionView, now: number, voters: readonly string[]): Promise<void> {
    const other = visibleLease(view, this.mode())
    if (this.mode() === 'epoch') {
      if (other !== undefined && other.nodeId !== this.s.selfId && (other.epoch > this.epoch || (other.epoch === this.epoch && other.nodeId < this.s.selfId))) {
        this.stepDown(`lease of ${other.nodeId} wins (epoch ${other.epoch})`)
        return
      }
      if (this.nextRound(now, true)) this.leaseExpiresAtMs = now + this.t.leaseMs - this.t.driftMarginMs
      return
    }
    // extend the lease by the newest round a majority answered
    const end = this.majorityLeaseEnd(view, voters)
    if (end !== undefined) this.leaseExpiresAtMs = Math.max(this.leaseExpiresAtMs, end)
    if (now >= this.leaseExpiresAtMs) {
      // A stalled event loop runs its timers before the I/O that queued meanwhile: the voters'
      // grants may be waiting in the sockets. Look once more a tick later, after that I/O, before
      // giving up. Nothing acts as leader in between: isLeader() is false once the lease ended.
      if (!this.expirySeen) {
        this.expirySeen = true
        return
      }
      this.stepDown('lease expired')
      return
    }
    this.expirySeen = false
    this.nextRound(now, true)
  }

  private writeLease (): void {
    // the voters' grants, kept as a certificate: proof for the entries this node writes as leader
    if (this.mode() === 'majority' && this.s.writeEpochCertificate(this.epoch)) this.log.debug({ epoch: this.epoch }, 'epoch certificate written')
    this.s.setLease({
      v: 1, nodeId: this.s.selfId, epoch: this.epoch, round: this.round, leaseMs: this.t.leaseMs, voters: this.voters().slice(0, 64), renewedAt: this.roundSentWallMs
    })
  }

  private stepDown (reason: string): void {
    const was = this.roleValue
    this.expirySeen = false
    this.roleValue = 'follower'
    this.leaseExpiresAtMs = 0
    this.noLeaderSinceMs = this.clock.monoMs()
    if (this.s.leases().some(l => l.nodeId === this.s.selfId)) this.s.clearLease()
    if (was === 'leader') {
      this.log.info({ epoch: this.epoch, reason }, 'stepped down')
      this.emit({ type: 'follower', epoch: this.epoch, reason })
    }
  }

  private async persistEpoch (epoch: number): Promise<void> {
    if (epoch <= this.highestEpoch) return
    await this.tables.config.put(HIGHEST_EPOCH_KEY, epoch, { sync: true })
    this.highestEpoch = epoch
  }

  private emit (e: ElectionEvent): void {
    for (const l of this.listeners) l(e)
  }
}
