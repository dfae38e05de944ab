/**
 * The hostile member: one simulated node that holds the swarm key (it replicates like any member)
 * but no operator key, and at random times drawn from the seeded Rng writes forged entries
 * straight into its Y.Docs — `Y.Map.set` / `delete`, not through ClusterState's checks — which
 * then replicate like any update: NodeInfo and manifests in another node's name, grants in every
 * voter's name with a lease and a certificate for itself, a lease of a huge epoch, cluster
 * settings, dispatches under an epoch it does not hold or in the leader's name, COMPLETE statuses
 * and verdicts on other nodes' jobs, deletions of operator-signed settings, replays of valid
 * entries under another key, and leader-only registers. Every forged write goes into a ledger that
 * the HostileMonitor (hostile-monitor.ts) checks the honest nodes against.
 */
import type * as Y from 'yjs'
import type { Rng } from '../src/core/rng.js'
import { bucketDocName, sortKeys, type DocName } from '../src/state/docs.js'
import { formatBucketId, formatJobId } from '../src/state/jobs.js'
import { registerKey } from '../src/state/registers.js'
import { certKey } from '../src/state/certificates.js'
import type { ClusterState } from '../src/state/cluster-state.js'
import { signEntry, type EntrySigner } from '../src/state/entry-sig.js'
import type { Scheduler } from './core/scheduler.js'
import type { SimNode } from './node/sim-node.js'

/** Every string the hostile writes into a value carries this, so a forged value is recognisable wherever it ends up. */
export const HOSTILE_MARK = 'hostile'
/** The epoch of the huge-epoch lease. */
export const HUGE_EPOCH = 1_000_000_000
/** Most forged writes in one run (a bound on the ledger). */
export const MAX_FORGERIES = 10_000

export const FORGERY_KINDS = [
  'node-info', 'node-info-tampered', 'manifest', 'grants-and-lease', 'huge-epoch-lease', 'settings', 'settings-in-operator-name',
  'overwrite-signed-setting', 'delete-signed-setting', 'dispatch-forged-epoch', 'dispatch-in-leader-name', 'status-complete',
  'verdict', 'verdict-in-leader-name', 'replay', 'leader-register'
] as const
export type ForgeryKind = typeof FORGERY_KINDS[number]

/**
 * One forged write. `mustNot` says what the checker requires of every honest node:
 * `take-effect` — the value is never in effect in its view (a delete: the deleted value stays);
 * `be-acted-on` — the entry is the hostile's own and validly signed (its lease, its own bucket's
 * meta, its certificate), so it may be read, but nothing may follow from it (no leader, no
 * started job, no epoch held).
 */
export interface Forgery {
  atMs: number
  kind: ForgeryKind
  doc: DocName
  map: string
  key: string
  /** The raw value written (with its `sig`), or null for a delete. */
  raw: Record<string, unknown> | null
  /** For a delete: the raw value it deleted. */
  deleted?: Record<string, unknown>
  mustNot: 'take-effect' | 'be-acted-on'
}

export interface HostileInit {
  /** Mean forged writes per second (exponential gaps). */
  writesPerSecond: number
  /** Forge until this virtual time (the safety phase). */
  untilMs: number
  /** The cluster's operator id (the hostile cannot sign as it). */
  operator: string | undefined
  voters: readonly string[]
  /**
   * Test switch: the hostile also holds the operator key and signs its settings in the operator's
   * name with it — forgeries that then really take effect, so the checker must report them.
   */
  operatorKey?: EntrySigner
}

type Raw = Record<string, unknown>

/** A value's canonical JSON (keys sorted): forged and stored values are compared by it. */
export function canonical (value: unknown): string {
  return JSON.stringify(sortKeys(value))
}

export class HostileMember {
  readonly ledger: Forgery[] = []
  private n = 0

  constructor (
    private readonly self: SimNode,
    private readonly nodes: readonly SimNode[],
    private readonly sched: Scheduler,
    private readonly rng: Rng,
    private readonly init: HostileInit
  ) {}

  get id (): string {
    return this.self.id
  }

  start (): void {
    const next = (): void => {
      const gap = -Math.log(1 - this.rng.next()) * (1000 / this.init.writesPerSecond)
      if (this.sched.nowMs + gap >= this.init.untilMs) return
      this.sched.after(gap, 'hostile', () => {
        if (this.self.isUp && this.ledger.length < MAX_FORGERIES) this.attack(this.rng.pick(FORGERY_KINDS) as ForgeryKind)
        next()
      })
    }
    next()
  }

  /** One forged write (or a group of them) of `kind`; nothing when the view has no target for it yet. */
  attack (kind: ForgeryKind): void {
    const k = ++this.n
    const s = this.self.state
    const before = this.ledger.length
    switch (kind) {
      case 'node-info': this.nodeInfo(s, k, false); break
      case 'node-info-tampered': this.nodeInfo(s, k, true); break
      case 'manifest': this.manifest(s, k); break
      case 'grants-and-lease': this.grants(s); break
      case 'huge-epoch-lease': this.lease(s, HUGE_EPOCH, kind); break
      case 'settings': this.setting(s, k, this.id, kind); break
      case 'settings-in-operator-name': if (this.init.operator !== undefined) this.setting(s, k, this.init.operator, kind); break
      case 'overwrite-signed-setting': this.overwriteSetting(s, k, false); break
      case 'delete-signed-setting': this.overwriteSetting(s, k, true); break
      case 'dispatch-forged-epoch': this.dispatchForgedEpoch(s, k); break
      case 'dispatch-in-leader-name': this.dispatchInLeaderName(s, k); break
      case 'status-complete': this.statusComplete(s, k); break
      case 'verdict': this.verdict(s, k, false); break
      case 'verdict-in-leader-name': this.verdict(s, k, true); break
      case 'replay': this.replay(s); break
      case 'leader-register': this.leaderRegister(s, k); break
    }
    for (const f of this.ledger.slice(before)) this.sched.trace(`hostile node ${this.self.index} forges ${f.kind}: ${f.raw === null ? 'delete ' : ''}${f.doc}/${f.map}/${f.key}`)
  }

  private honest (): SimNode[] {
    return this.nodes.filter(n => n !== this.self)
  }

  private map (s: ClusterState, doc: DocName, map: string): Y.Map<unknown> {
    return s.docs.ensure(doc).getMap(map)
  }

  private put (s: ClusterState, kind: ForgeryKind, doc: DocName, map: string, key: string, raw: object, mustNot: Forgery['mustNot'] = 'take-effect'): void {
    const ymap = this.map(s, doc, map)
    s.docs.ensure(doc).transact(() => ymap.set(key, raw))
    this.ledger.push({ atMs: this.sched.nowMs, kind, doc, map, key, raw: raw as Raw, mustNot })
  }

  private nodeInfo (s: ClusterState, k: number, tamper: boolean): void {
    const victim = this.rng.pick(this.honest().filter(n => s.node(n.id) !== undefined))
    if (victim === undefined) return
    const host = `${HOSTILE_MARK}-${k}`
    if (tamper) {
      // the victim's own signed entry, one field changed: the signature no longer covers it
      const raw = this.map(s, 'control', 'nodes').get(victim.id) as Raw | undefined
      if (raw !== undefined) this.put(s, 'node-info-tampered', 'control', 'nodes', victim.id, { ...raw, host })
      return
    }
    const info = s.node(victim.id)
    const value = { ...info, host, addrs: ['/ip4/203.0.113.66/tcp/4001'] }
    this.put(s, 'node-info', 'control', 'nodes', victim.id, s.signAsSelf('control', 'nodes', victim.id, value))
  }

  private manifest (s: ClusterState, k: number): void {
    const victim = this.rng.pick(this.honest())
    if (victim === undefined) return
    const path = `selfplay/hex8_2p/${HOSTILE_MARK}-${k}.jsonl`
    const value = {
      v: 1, nodeId: victim.id, generatedAt: Math.floor(this.sched.nowMs), totalFiles: 1, totalBytes: 100,
      summary: { hex8_2p: { files: 1, bytes: 100, games: 100_000 } },
      files: { [path]: { size: 100, mtimeMs: Math.floor(this.sched.nowMs), sha256: 'e'.repeat(64), kind: 'selfplay', config: 'hex8_2p', gameCount: 100_000 } },
      truncated: false
    }
    this.put(s, 'manifest', 'manifests', 'manifests', victim.id, s.signAsSelf('manifests', 'manifests', victim.id, value))
  }

  /** A grant in every voter's name for the hostile, a certificate of them, and its own lease. */
  private grants (s: ClusterState): void {
    const epoch = s.maxKnownEpoch() + 1
    const grants: object[] = []
    for (const voter of this.init.voters) {
      const key = `grant/${voter}`
      const raw = s.signAsSelf('control', 'election', key, { v: 1, voter, candidate: this.id, epoch, round: 0, leaseMs: 4000 })
      grants.push(raw)
      this.put(s, 'grants-and-lease', 'control', 'election', key, raw)
    }
    const cert = { v: 1, leader: this.id, epoch, grants }
    this.put(s, 'grants-and-lease', 'control', 'certs', certKey(epoch, this.id), s.signAsSelf('control', 'certs', certKey(epoch, this.id), cert), 'be-acted-on')
    this.lease(s, epoch, 'grants-and-lease')
  }

  private lease (s: ClusterState, epoch: number, kind: ForgeryKind): void {
    const key = `lease/${this.id}`
    const value = { v: 1, nodeId: this.id, epoch, round: 0, leaseMs: 4000, voters: [...this.init.voters], renewedAt: Math.floor(this.sched.nowMs) }
    this.put(s, kind, 'control', 'election', key, s.signAsSelf('control', 'election', key, value), 'be-acted-on')
  }

  private setting (s: ClusterState, k: number, writer: string, kind: ForgeryKind): void {
    const name = this.rng.pick(['jobCommands', 'voters']) as string
    const value = name === 'jobCommands'
      ? { selfplay: [`/${HOSTILE_MARK}/marker-${k}`, '{jobId}'] }
      : [this.id, ...this.honest().slice(0, 2).map(n => n.id)]
    const key = registerKey(name, writer)
    const reg = { v: 1, name, writer, version: 1_000_000 + k, value }
    const stolen = this.init.operatorKey
    this.put(s, kind, 'control', 'settings', key, stolen?.id === writer ? signEntry(stolen, 'control', 'settings', key, reg) : s.signAsSelf('control', 'settings', key, reg))
  }

  /** An operator-signed setting overwritten with the hostile's value, or deleted. */
  private overwriteSetting (s: ClusterState, k: number, del: boolean): void {
    const settings = this.map(s, 'control', 'settings')
    const keys = [...settings.keys()].filter(key => ((settings.get(key) as { sig?: { by?: string } } | undefined)?.sig?.by) === this.init.operator).sort()
    const key = this.rng.pick(keys)
    if (key === undefined) return
    const prev = settings.get(key) as Raw
    if (del) {
      s.docs.ensure('control').transact(() => settings.delete(key))
      this.ledger.push({ atMs: this.sched.nowMs, kind: 'delete-signed-setting', doc: 'control', map: 'settings', key, raw: null, deleted: prev, mustNot: 'take-effect' })
      return
    }
    const { sig: _sig, ...reg } = prev
    this.put(s, 'overwrite-signed-setting', 'control', 'settings', key, s.signAsSelf('control', 'settings', key, { ...reg, version: 1_000_000 + k, value: -k }))
  }

  /** Its own bucket (validly signed meta) with a dispatch to an honest node under the highest epoch it knows, or one above: it holds neither. */
  private dispatchForgedEpoch (s: ClusterState, k: number): void {
    const to = this.rng.pick(this.honest())
    if (to === undefined) return
    const epoch = s.maxKnownEpoch() + this.rng.int(2)
    const bucketId = formatBucketId(epoch, this.id.replace(/[^A-Za-z0-9]/g, ''), `${HOSTILE_MARK}${k}`)
    const doc = bucketDocName(bucketId)
    const jobId = formatJobId(bucketId, 1)
    this.put(s, 'dispatch-forged-epoch', doc, 'meta', 'meta', s.signAsSelf(doc, 'meta', 'meta', { v: 1, bucketId, dispatcher: this.id, epoch, sealed: true, jobCount: 1 }), 'be-acted-on')
    // work for another node under an epoch the dispatcher never held: readers refuse it (no-epoch-authority), workers must never start it
    this.put(s, 'dispatch-forged-epoch', doc, 'dispatch', jobId, s.signAsSelf(doc, 'dispatch', jobId, this.dispatchValue(jobId, to.id, epoch, this.id)))
  }

  private dispatchValue (jobId: string, assignedNode: string, epoch: number, dispatchedBy: string): object {
    return {
      v: 1, jobId, type: 'selfplay', config: 'hex8_2p', engineMode: 'heuristic', spec: { games: 10, note: HOSTILE_MARK },
      assignedNode, dispatchEpoch: epoch, dispatchedBy, createdAt: Math.floor(this.sched.nowMs), attempt: 1, previousJobId: null
    }
  }

  /** A new job in another dispatcher's bucket, in that dispatcher's name (a job number it has not used). */
  private dispatchInLeaderName (s: ClusterState, k: number): void {
    const bucket = this.rng.pick(s.bucketViews().filter(b => b.meta !== undefined && b.meta.dispatcher !== this.id))
    const to = this.rng.pick(this.honest())
    if (bucket?.meta === undefined || to === undefined) return
    const doc = bucketDocName(bucket.bucketId)
    const jobId = formatJobId(bucket.bucketId, 100_000 + k)
    const value = this.dispatchValue(jobId, to.id, bucket.meta.epoch, bucket.meta.dispatcher)
    this.put(s, 'dispatch-in-leader-name', doc, 'dispatch', jobId, s.signAsSelf(doc, 'dispatch', jobId, value))
  }

  private otherJob (s: ClusterState): ReturnType<ClusterState['jobs']>[number] | undefined {
    return this.rng.pick(s.jobs().filter(j => j.dispatch.assignedNode !== this.id && j.dispatch.dispatchedBy !== this.id))
  }

  /** A COMPLETE status of another node's job, in that node's name. */
  private statusComplete (s: ClusterState, k: number): void {
    const j = this.otherJob(s)
    if (j === undefined) return
    const doc = bucketDocName(j.bucketId)
    const now = Math.floor(this.sched.nowMs)
    const value = {
      v: 1, jobId: j.jobId, node: j.dispatch.assignedNode, state: 'COMPLETE', pid: 1, startedAt: now, heartbeatAt: now, endedAt: now,
      exitCode: 0, error: null, outputs: [`games:${k}`, `${HOSTILE_MARK}:${k}`], engineMode: null
    }
    this.put(s, 'status-complete', doc, 'status', j.jobId, s.signAsSelf(doc, 'status', j.jobId, value))
  }

  /** A FAILED / CANCELLED / LOST verdict on another's job: as itself (it neither dispatched it nor leads), or in the dispatcher's name. */
  private verdict (s: ClusterState, k: number, inLeaderName: boolean): void {
    const j = this.otherJob(s)
    if (j === undefined) return
    const writer = inLeaderName ? j.dispatch.dispatchedBy : this.id
    const doc = bucketDocName(j.bucketId)
    const key = `${j.jobId}@${writer}`
    const value = { v: 1, jobId: j.jobId, writer, verdict: this.rng.pick(['FAILED', 'CANCELLED', 'LOST']), epoch: j.dispatch.dispatchEpoch, at: Math.floor(this.sched.nowMs), reason: `${HOSTILE_MARK} ${k}` }
    this.put(s, inLeaderName ? 'verdict-in-leader-name' : 'verdict', doc, 'verdicts', key, s.signAsSelf(doc, 'verdicts', key, value))
  }

  /** A valid signed entry copied, unchanged, under another key of the same map. */
  private replay (s: ClusterState): void {
    const choices: Array<[DocName, string, string]> = [['control', 'nodes', ''], ['control', 'election', 'grant/'], ['control', 'settings', ''], ['manifests', 'manifests', '']]
    const [doc, map, prefix] = this.rng.pick(choices) as [DocName, string, string]
    const ymap = this.map(s, doc, map)
    const keys = [...ymap.keys()].filter(key => key.startsWith(prefix) && !canonical(ymap.get(key)).includes(HOSTILE_MARK)).sort()
    const from = this.rng.pick(keys)
    const to = this.rng.pick(keys.filter(key => key !== from))
    if (from === undefined || to === undefined) return
    this.put(s, 'replay', doc, map, to, ymap.get(from) as object)
  }

  /** A model or training register as itself for the current epoch, which it does not hold. */
  private leaderRegister (s: ClusterState, k: number): void {
    const config = 'hex8_2p'
    const epoch = s.maxKnownEpoch()
    const now = Math.floor(this.sched.nowMs)
    const training = this.rng.next() < 0.5
    const map = training ? 'training' : 'models'
    const value = training
      ? { v: 1, config, lastDispatchAt: now, lastJobId: `${HOSTILE_MARK}-${k}`, dispatchedGames: 0, trainedGames: 0, fingerprints: [], epoch }
      : { v: 1, config, modelId: `${HOSTILE_MARK}-${k}`, path: `models/${HOSTILE_MARK}-${k}.bin`, ownerNode: this.id, elo: 9999, promotedAt: now, epoch, history: [] }
    const key = registerKey(config, this.id)
    this.put(s, 'leader-register', 'control', map, key, s.signAsSelf('control', map, key, { v: 1, name: config, writer: this.id, version: 1_000_000 + k, value }))
  }
}
