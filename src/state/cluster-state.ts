/**
 * ClusterState: the typed view of the cluster documents and the only way to write them.
 * Every read is validated (invalid entries are skipped and counted); every write goes to a key
 * this node owns and replaces the whole value. Managers see one state; the split into documents
 * (control, manifests, job buckets) is hidden here.
 */
import type * as Y from 'yjs'
import { z } from 'zod'
import { timestampMs, type Clock } from '../core/clock.js'
import type { Logger } from '../core/logger.js'
import type { Rng } from '../core/rng.js'
import { OwnershipError } from '../core/errors.js'
import { DEFAULT_BUCKET_MAX_AGE_MS, DEFAULT_BUCKET_MAX_JOBS, DEFAULT_JOB_RETENTION_MS } from '../config/defaults.js'
import { DocSet, bucketDocName, bucketIdOfDoc, type DocName, type DocSetInit, type DocUpdate } from './docs.js'
import { ValidatedMap, ValidationStats, type AuthorityCheck } from './validated-map.js'
import { signEntry, verifyEntry, type EntrySigner } from './entry-sig.js'
import { leaderRegisterAuthority, ownEntry, settingAuthority, type TrustContext } from './authority.js'
import { nextTrustSeq, resolveTrust, trustEntrySchema, trustKey, trustKeyCheck, type SignedTrustEntry, type TrustEntry, type TrustState } from './trust.js'
import { EpochCertificates, certKey, certSchema, type EpochCertificate } from './certificates.js'
import {
  bucketMetaSchema, candidacySchema, grantSchema, jobDispatchSchema, jobStatusSchema, jobVerdictSchema,
  leaseSchema, manifestSchema, modelRegisterSchema, nodeInfoSchema, settingRegisterSchema, trainingRegisterSchema,
  type BucketMeta, type Candidacy, type ConfigKey, type Grant, type JobDispatch, type JobStatus,
  type JobVerdict, type Lease, type Manifest, type ModelEntry, type NodeInfo, type Register, type SettingValue,
  type TrainingRecord
} from './schema.js'
import { nextRegisterVersion, registerKey, resolveRegisters } from './registers.js'
import { holdsEpoch, modeFor } from '../election/rules.js'
import { SettingError, VOTERS, settingIssue, settingSpec, type SettingSpec } from './settings-registry.js'
import { SettingsView } from './settings-view.js'
import { VersionMemo } from './memo.js'
import {
  bucketOfJob, decideRetirableBuckets, deriveJobState, formatBucketId, formatJobId, isBucketSealed,
  type BucketView, type JobView
} from './jobs.js'

export interface ClusterStateInit extends DocSetInit {
  /** This node's id (its libp2p PeerId as a string); must be the signer's id when given. */
  selfId?: string
  /** The trust root: operator ids (Ed25519 peer id strings of the operator public keys). @default [] */
  operators?: readonly string[]
  /** Voters from the node's config, used while the cluster has no `voters` setting. @default [] */
  voters?: readonly string[]
  /** Dispatches per jobs bucket before the dispatcher seals it. @default 500 */
  bucketMaxJobs?: number
  /** Age after which a dispatcher seals its open bucket. @default 3_600_000 */
  bucketMaxAgeMs?: number
  /** How long a bucket whose jobs all ended stays before it is retired. @default 600_000 */
  retentionMs?: number
}


export interface ClusterStateComponents {
  clock: Clock
  logger: Logger
  rng: Rng
  /** Signs every entry this node writes: the node's own key, whose peer id is the node id. */
  signer: EntrySigner
}

const electionEntrySchema = z.union([candidacySchema, grantSchema, leaseSchema])
/** Most buckets remembered as retired by a peer (a bound; each is retired here soon after). */
export const MAX_RETIRED_ELSEWHERE = 4_096
type ElectionEntry = z.infer<typeof electionEntrySchema>

export type DispatchInput = Omit<JobDispatch, 'v' | 'jobId' | 'dispatchedBy' | 'createdAt'>

interface BucketMaps {
  meta: ValidatedMap<BucketMeta>
  dispatch: ValidatedMap<JobDispatch>
  status: ValidatedMap<JobStatus>
  verdicts: ValidatedMap<JobVerdict>
}

function positiveInt (key: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${key} must be an integer ≥ 1, got ${value}`)
  return value
}

export class ClusterState implements TrustContext {
  readonly selfId: string
  readonly operatorsRoot: readonly string[]
  private readonly signer: EntrySigner
  private readonly configVoters: readonly string[]
  private readonly trustMap: ValidatedMap<TrustEntry>
  private readonly certs: EpochCertificates
  /**
   * Changes seen of the maps what is in effect depends on (each map's observer bumps its own), and
   * of the election mode. Authority is checked again only when what it depends on changed: an
   * entry about its writer (NodeInfo, status, …) on the trust log; an entry that needs an epoch
   * (dispatches, models, training) also on the certificates and the voters in effect.
   */
  private trustVersion = 0
  private certsVersion = 0
  private settingsVersion = 0
  private electionVersion = 0
  private modeVersion = 0
  private readonly trustMemo = new VersionMemo(() => [this.trustVersion], () => resolveTrust(this.operatorsRoot, this.trustLog()))
  private readonly settingsMemo = new VersionMemo(() => [this.settingsVersion, this.trustVersion],
    () => this.settingsView.current(this.settingsMap.values()))
  /** The voters in effect, with a version that changes only when the list does (not on every settings change). */
  private readonly votersMemo = new VersionMemo<{ list: string[], version: number }>(() => [this.settingsVersion, this.trustVersion], previous => {
    const list = this.settingOf(VOTERS) ?? [...this.configVoters]
    return previous !== undefined && sameList(previous.list, list) ? previous : { list, version: (previous?.version ?? 0) + 1 }
  })
  /** Kept while nothing changes, unless an unbacked lease still waits to be counted. */
  private readonly leasesMemo = new VersionMemo(() => [this.electionVersion, this.trustVersion, this.settingsVersion, this.modeVersion],
    () => this.countingLeases(), m => !m.pending)
  readonly docs: DocSet
  readonly stats = new ValidationStats()
  readonly bucketMaxJobs: number
  readonly bucketMaxAgeMs: number
  readonly retentionMs: number
  private readonly clock: Clock
  private readonly rng: Rng
  private readonly log: Logger
  private readonly nodesMap: ValidatedMap<NodeInfo>
  private readonly manifestsMap: ValidatedMap<Manifest>
  private readonly electionMap: ValidatedMap<ElectionEntry>
  private readonly modelsMap: ValidatedMap<Register<ModelEntry>>
  private readonly settingsMap: ValidatedMap<Register<SettingValue>>
  private readonly settingsView: SettingsView
  private readonly trainingMap: ValidatedMap<Register<TrainingRecord>>
  private readonly buckets = new Map<string, BucketMaps>()
  private readonly bucketChangedAt = new Map<string, number>()
  /** Buckets a peer has retired, still held here until this node's own jobs in them end. */
  private readonly retiredElsewhere = new Set<string>()
  private readonly bucketOpenedAt = new Map<string, number>()
  /** Unbacked leases by `<node>/<epoch>`: monotonic ms first seen, or -1 once counted. */
  private readonly unbackedSince = new Map<string, number>()
  private electionMode: 'majority' | 'epoch' = 'majority'
  /** Verdict keys already counted as refused (each counted once). */
  private readonly refusedVerdicts = new Set<string>()

  constructor (components: ClusterStateComponents, init: ClusterStateInit) {
    this.signer = components.signer
    if (init.selfId !== undefined && init.selfId !== this.signer.id) throw new RangeError(`selfId ${init.selfId} is not the signer's id ${this.signer.id}`)
    this.selfId = this.signer.id
    this.operatorsRoot = [...new Set(init.operators ?? [])].sort()
    this.configVoters = [...new Set(init.voters ?? [])].sort()
    this.clock = components.clock
    this.rng = components.rng
    this.log = components.logger.child({ component: 'cluster-state' })
    this.bucketMaxJobs = positiveInt('bucketMaxJobs', init.bucketMaxJobs ?? DEFAULT_BUCKET_MAX_JOBS)
    this.bucketMaxAgeMs = positiveInt('bucketMaxAgeMs', init.bucketMaxAgeMs ?? DEFAULT_BUCKET_MAX_AGE_MS)
    this.retentionMs = positiveInt('retentionMs', init.retentionMs ?? DEFAULT_JOB_RETENTION_MS)
    this.docs = new DocSet(this.rng.fork('docs'), init)
    const control = this.docs.ensure('control')
    control.getMap('trust').observe(() => { this.trustVersion++ })
    control.getMap('certs').observe(() => { this.certsVersion++ })
    control.getMap('settings').observe(() => { this.settingsVersion++ })
    control.getMap('election').observe(() => { this.electionVersion++ })
    const trustOnly = (): number => this.trustVersion
    const vm = <T>(name: string, doc: DocName, check: (k: string, v: T) => string | null, schema: z.ZodType<T>,
      authority: AuthorityCheck<T>, sticky = false, generation = trustOnly, order?: (v: T) => readonly number[]): ValidatedMap<T> =>
      new ValidatedMap(name, this.docs.ensure(doc).getMap(name), schema, check, this.stats, this.log, {
        doc, authority, generation, sticky, order, repair: (key, raw, stored) => this.writeBack(doc, name, key, raw, stored)
      })
    // a replayed older value of a key is refused: election entries by (epoch, round), registers by version
    const byRound = (v: ElectionEntry): readonly number[] => [v.epoch, v.round]
    const byVersion = (v: { version: number }): readonly number[] => [v.version]
    const epochs = (): number => this.epochAuthorityVersion()
    this.trustMap = vm('trust', 'control', trustKeyCheck, trustEntrySchema, (k, _v, by) => (k.endsWith(`/${by}`) ? null : 'wrong-signer'), true)
    this.certs = new EpochCertificates(vm('certs', 'control', (k, v) => (k === certKey(v.epoch, v.leader) ? null : 'key is not <epoch>/<leader>'),
      certSchema, (_k, v, by) => ownEntry(v.leader, by, this)), trustOnly)
    this.nodesMap = vm('nodes', 'control', (k, v) => (k === v.nodeId ? null : 'key is not the node id'), nodeInfoSchema,
      (_k, v, by) => ownEntry(v.nodeId, by, this))
    this.manifestsMap = vm('manifests', 'manifests', (k, v) => (k === v.nodeId ? null : 'key is not the node id'), manifestSchema,
      (_k, v, by) => ownEntry(v.nodeId, by, this))
    this.electionMap = vm('election', 'control', electionKeyCheck, electionEntrySchema, (_k, v, by) => ownEntry(electionOwner(v), by, this), false, trustOnly, byRound)
    this.modelsMap = vm('models', 'control', (k, v) =>
      k === registerKey(v.name, v.writer) && v.name === v.value.config ? null : 'key is not <config>@<writer>',
    modelRegisterSchema as z.ZodType<Register<ModelEntry>>, (_k, v, by) => leaderRegisterAuthority(v.writer, v.value.epoch, by, this), false, epochs, byVersion)
    this.settingsMap = vm('settings', 'control', (k, v) => k === registerKey(v.name, v.writer) ? null : 'key is not <name>@<writer>',
      settingRegisterSchema as z.ZodType<Register<SettingValue>>, (_k, v, by) => settingAuthority(v.name, v.writer, by, this), true, trustOnly, byVersion)
    this.settingsView = new SettingsView(this.stats, this.log)
    this.trainingMap = vm('training', 'control', (k, v) =>
      k === registerKey(v.name, v.writer) && v.name === v.value.config ? null : 'key is not <config>@<writer>',
    trainingRegisterSchema as z.ZodType<Register<TrainingRecord>>, (_k, v, by) => leaderRegisterAuthority(v.writer, v.value.epoch, by, this), false, epochs, byVersion)
    for (const name of this.docs.names()) this.attachBucket(name)
    this.docs.onCreate(name => this.attachBucket(name))
    this.docs.onUpdate(u => {
      const b = bucketIdOfDoc(u.doc)
      if (b !== undefined) this.bucketChangedAt.set(b, this.clock.nowMs())
    })
  }

  onUpdate (listener: (u: DocUpdate) => void): () => void {
    return this.docs.onUpdate(listener)
  }

  // ---- trust: operators, revocations, epoch certificates -------------------------------------

  /** The operators and revoked peers in effect (trust root plus the operator-signed log). */
  trust (): TrustState {
    return this.trustMemo.get()
  }

  /** Every verified trust-log entry with its signer. */
  trustLog (): SignedTrustEntry[] {
    return this.trustMap.entries().map(([key, entry]) => ({ key, entry, signer: this.trustMap.signerOf(key) as string }))
  }

  nextTrustSeq (): number {
    return nextTrustSeq(this.trustLog())
  }

  hasOperators (): boolean {
    return this.trust().operators.size > 0
  }

  isOperator (id: string): boolean {
    return this.trust().operators.has(id)
  }

  isRevoked (id: string): boolean {
    return this.trust().revoked.has(id)
  }

  /** The voters in effect: the `voters` setting, else the node's configured list. */
  voters (): string[] {
    return [...this.votersMemo.get().list]
  }

  heldEpoch (nodeId: string, epoch: number): boolean {
    return this.certs.held(nodeId, epoch, this.votersMemo.get().list, this)
  }

  /**
   * Changes whenever what epoch authority depends on may have: the trust log, the certificates or
   * the voters in effect. A sum of counters that only grow, so it changes when any of them does.
   */
  private epochAuthorityVersion (): number {
    return this.trustVersion + this.certsVersion + this.votersMemo.get().version
  }

  /**
   * Record that this node holds `epoch`: a certificate carrying the voters' signed grants for it,
   * so any reader can check entries this node writes as leader of that epoch (models, training
   * records, verdicts) long after the grants themselves moved on. Returns whether it was written.
   */
  writeEpochCertificate (epoch: number): boolean {
    if (this.heldEpoch(this.selfId, epoch)) return false
    const control = this.docs.ensure('control').getMap('election')
    const grants: unknown[] = []
    for (const g of this.grants()) {
      if (g.candidate === this.selfId && g.epoch === epoch) grants.push(control.get(`grant/${g.voter}`))
    }
    const cert: EpochCertificate = { v: 1, leader: this.selfId, epoch, grants: grants as EpochCertificate['grants'] }
    if (this.certs.sameAsStored(cert)) return false
    this.write('control', 'certs', certKey(epoch, this.selfId), certSchema.parse(cert))
    for (const key of this.certs.staleKeys(this.selfId)) this.docs.ensure('control').getMap('certs').delete(key)
    return true
  }

  /**
   * Store an entry someone else signed (an operator's setting, trust entry or model override, from the CLI),
   * after the same checks every reader makes. Throws OwnershipError naming the reason otherwise.
   */
  writeSigned (map: 'settings' | 'trust' | 'models', key: string, raw: unknown): void {
    const checked = verifyEntry('control', map, key, raw)
    if (!checked.ok) throw new OwnershipError(map, `entry ${key} is ${checked.reason === 'unsigned' ? 'not signed' : 'not validly signed'}`)
    let refused: string | null
    if (map === 'settings') {
      const reg = settingRegisterSchema.safeParse(checked.value)
      refused = !reg.success ? 'malformed' : key !== registerKey(reg.data.name, reg.data.writer) ? 'key is not <name>@<writer>' : settingAuthority(reg.data.name, reg.data.writer, checked.by, this)
    } else if (map === 'models') {
      const reg = modelRegisterSchema.safeParse(checked.value)
      refused = !reg.success || reg.data.name !== reg.data.value.config ? 'malformed' : key !== registerKey(reg.data.name, reg.data.writer) ? 'key is not <name>@<writer>' : leaderRegisterAuthority(reg.data.writer, reg.data.value.epoch, checked.by, this)
    } else {
      const entry = trustEntrySchema.safeParse(checked.value)
      refused = !entry.success ? 'malformed' : trustKeyCheck(key, entry.data) ?? (key.endsWith(`/${checked.by}`) ? null : 'wrong-signer') ?? (this.isOperator(checked.by) ? null : 'not-operator')
    }
    if (refused !== null) throw new OwnershipError(map, `entry ${key} signed by ${checked.by} refused: ${refused}`)
    const doc = this.docs.ensure('control')
    doc.transact(() => doc.getMap(map).set(key, raw))
  }

  /** The models register an operator's promotion override needs (the next version of its config), for `writer` to sign. */
  modelDraft (entry: ModelEntry, writer: string): { key: string, entry: Register<ModelEntry> } {
    const value = modelRegisterSchema.shape.value.parse(entry)
    const reg = modelRegisterSchema.parse({ v: 1, name: value.config, writer, version: nextRegisterVersion(this.modelsMap.values(), value.config), value }) as Register<ModelEntry>
    return { key: registerKey(value.config, writer), entry: reg }
  }

  /** The register a setting change needs (the next version above every one seen), for `writer` to sign. */
  settingDraft (name: string, value: SettingValue, writer: string): { key: string, entry: Register<SettingValue> } {
    const entry = settingRegisterSchema.parse({ v: 1, name, writer, version: nextRegisterVersion(this.settingsMap.values(), name), value }) as Register<SettingValue>
    return { key: registerKey(name, writer), entry }
  }

  /**
   * `value` signed by this node for (doc, map, key), stored nowhere: for writers that bypass
   * ClusterState on purpose (tests playing an old or hostile peer, the simulator's hostile member).
   */
  signAsSelf (docName: DocName, map: string, key: string, value: object): object {
    return signEntry(this.signer, docName, map, key, value)
  }

  /** A trust entry signed by `signer` (an operator key), ready for writeSigned. */
  signTrustEntry (signer: EntrySigner, entry: Omit<TrustEntry, 'v' | 'seq'>): { key: string, raw: unknown } {
    const full = trustEntrySchema.parse({ ...entry, v: 1, seq: this.nextTrustSeq() })
    const key = trustKey(full.seq, signer.id)
    return { key, raw: signEntry(signer, 'control', 'trust', key, full) }
  }

  // ---- nodes -------------------------------------------------------------------------------

  nodes (): NodeInfo[] {
    return this.nodesMap.values()
  }

  node (nodeId: string): NodeInfo | undefined {
    return this.nodesMap.get(nodeId)
  }

  setNodeInfo (info: NodeInfo): void {
    this.assertSelf('nodes', info.nodeId)
    this.write('control', 'nodes', info.nodeId, nodeInfoSchema.parse(info))
  }

  /**
   * Remove a node that is gone for good from the node table: its NodeInfo and its manifest are
   * deleted (the one write to keys of another node; `riftmesh nodes forget` checks first that the
   * node is dead). A delete removes only what it has seen: if the node comes back it writes its
   * entries again, and they stand.
   */
  forgetNode (nodeId: string): void {
    if (nodeId === this.selfId) throw new OwnershipError('nodes', `a node cannot forget itself (${nodeId})`)
    const control = this.docs.ensure('control')
    control.transact(() => control.getMap('nodes').delete(nodeId))
    const manifests = this.docs.ensure('manifests')
    if (manifests.getMap('manifests').has(nodeId)) manifests.transact(() => manifests.getMap('manifests').delete(nodeId))
  }

  // ---- manifests ---------------------------------------------------------------------------

  manifests (): Manifest[] {
    return this.manifestsMap.values()
  }

  manifest (nodeId: string): Manifest | undefined {
    return this.manifestsMap.get(nodeId)
  }

  setManifest (manifest: Manifest): void {
    this.assertSelf('manifests', manifest.nodeId)
    this.write('manifests', 'manifests', manifest.nodeId, manifestSchema.parse(manifest))
  }

  // ---- election ----------------------------------------------------------------------------

  candidacies (): Candidacy[] {
    return this.electionMap.entries().filter(([k]) => k.startsWith('cand/')).map(([, v]) => v as Candidacy)
  }

  grants (): Grant[] {
    return this.electionMap.entries().filter(([k]) => k.startsWith('grant/')).map(([, v]) => v as Grant)
  }

  /**
   * Every validly signed lease entry, backed by grants or not: an entry's presence (not its
   * backing) says its leader has not stepped down — a crashed leader's entry stays after the
   * voters granted the next epoch, and its end is an expiry. Which leases count: `leases()`.
   */
  leaseEntries (): Lease[] {
    return this.electionMap.entries().filter(([k]) => k.startsWith('lease/')).map(([, v]) => v as Lease)
  }

  /**
   * The leases that count. In majority mode a lease counts only while a majority of the voters
   * grant its holder that epoch (this node's own always: it knows why it holds it), so a member
   * cannot make itself the visible leader, or raise the epoch every node sees, by writing a lease
   * nobody granted. One unbacked for longer than its own lease length is counted once
   * (`election:unbacked-lease`); a shorter gap is a lease that arrived before its grants.
   */
  leases (): Lease[] {
    return [...this.leasesMemo.get().value]
  }

  private countingLeases (): { value: Lease[], pending: boolean } {
    const all = this.leaseEntries()
    const voters = this.voters()
    let value = all
    if (modeFor(voters, this.electionMode) === 'majority') {
      const view = { candidacies: [], grants: this.grants(), leases: all }
      value = all.filter(l => l.nodeId === this.selfId || holdsEpoch(view, voters, l.nodeId, l.epoch) || this.unbacked(l))
    }
    const pending = value.length < all.length && all.some(l => (this.unbackedSince.get(`${l.nodeId}/${l.epoch}`) ?? -1) >= 0)
    return { value, pending }
  }

  /** Note an unbacked lease (counted once it has stayed unbacked a lease long); always false. */
  private unbacked (l: Lease): false {
    const key = `${l.nodeId}/${l.epoch}`
    const now = this.clock.monoMs()
    const first = this.unbackedSince.get(key)
    if (first === undefined) {
      if (this.unbackedSince.size >= MAX_RETIRED_ELSEWHERE) this.unbackedSince.clear()
      this.unbackedSince.set(key, now)
    } else if (first >= 0 && now - first >= l.leaseMs) {
      this.unbackedSince.set(key, -1) // counted
      this.stats.record('election', 'unbacked-lease')
      this.log.warn({ node: l.nodeId, epoch: l.epoch }, 'a lease no majority of voters granted is ignored')
    }
    return false
  }

  /** Which election mode the node runs (the election service sets it; leases count by it). */
  useElectionMode (mode: 'majority' | 'epoch'): void {
    this.electionMode = mode
    this.modeVersion++
  }

  /**
   * The highest epoch granted or held (0 when none): grants, and leases that count. A candidacy
   * alone does not count — any member may stand under any epoch, and what a higher epoch
   * decides (sealing buckets, fencing) must come from voters.
   */
  maxKnownEpoch (): number {
    let max = 0
    for (const e of this.grants()) if (e.epoch > max) max = e.epoch
    for (const e of this.leases()) if (e.epoch > max) max = e.epoch
    return max
  }

  setCandidacy (c: Candidacy): void {
    this.assertSelf('election', c.nodeId)
    this.write('control', 'election', `cand/${c.nodeId}`, candidacySchema.parse(c))
  }

  setGrant (g: Grant): void {
    this.assertSelf('election', g.voter)
    this.write('control', 'election', `grant/${g.voter}`, grantSchema.parse(g))
  }

  setLease (l: Lease): void {
    this.assertSelf('election', l.nodeId)
    this.write('control', 'election', `lease/${l.nodeId}`, leaseSchema.parse(l))
  }

  clearLease (): void {
    const doc = this.docs.ensure('control')
    doc.transact(() => doc.getMap('election').delete(`lease/${this.selfId}`))
  }

  // ---- models and settings (LWW registers, one key per writer) -----------------------------

  /** The current best model per config. */
  models (): Map<ConfigKey, ModelEntry> {
    const out = new Map<ConfigKey, ModelEntry>()
    for (const [name, reg] of resolveRegisters(this.modelsMap.values())) out.set(name as ConfigKey, reg.value)
    return out
  }

  model (config: ConfigKey): ModelEntry | undefined {
    return this.models().get(config)
  }

  setModel (entry: ModelEntry): void {
    const value = modelRegisterSchema.shape.value.parse(entry)
    const version = nextRegisterVersion(this.modelsMap.values(), value.config)
    this.write('control', 'models', registerKey(value.config, this.selfId),
      { v: 1, name: value.config, writer: this.selfId, version, value })
  }

  /** The latest training record per config (written by whichever leader dispatched last). */
  trainingRecords (): Map<ConfigKey, TrainingRecord> {
    const out = new Map<ConfigKey, TrainingRecord>()
    for (const [name, reg] of resolveRegisters(this.trainingMap.values())) out.set(name as ConfigKey, reg.value)
    return out
  }

  setTrainingRecord (record: TrainingRecord): void {
    const value = trainingRegisterSchema.shape.value.parse(record)
    const version = nextRegisterVersion(this.trainingMap.values(), value.config)
    this.write('control', 'training', registerKey(value.config, this.selfId),
      { v: 1, name: value.config, writer: this.selfId, version, value })
  }

  /**
   * The settings in effect: per name, the newest register whose value passes that setting's
   * schema (settings-registry.ts). A newer value that fails is ignored — counted, and logged
   * once — so the last valid value stays; a null value is an unset and hides every older one.
   */
  settings (): Map<string, SettingValue> {
    return new Map(this.settingsMemo.get())
  }

  setting (name: string): SettingValue | undefined {
    return this.settingsMemo.get().get(name)
  }

  /** A setting in its typed form (the spec's schema output), or undefined while unset. */
  settingOf<T> (spec: SettingSpec<T>): T | undefined {
    const raw = this.setting(spec.name)
    return raw === undefined ? undefined : spec.schema.parse(raw)
  }

  /** Write a setting (a value a known setting's schema refuses throws SettingError). */
  setSetting (name: string, value: SettingValue): void {
    const spec = settingSpec(name)
    const issue = spec === undefined ? null : settingIssue(spec, value)
    if (issue !== null) throw new SettingError(issue)
    this.writeSetting(name, value)
  }

  /** Unset a setting: a null register above every version seen, so it wins over older writes everywhere. */
  unsetSetting (name: string): void {
    this.writeSetting(name, null)
  }

  private writeSetting (name: string, value: SettingValue): void {
    const checked = settingRegisterSchema.parse({ v: 1, name, writer: this.selfId, version: 0, value })
    checked.version = nextRegisterVersion(this.settingsMap.values(), name)
    this.write('control', 'settings', registerKey(name, this.selfId), checked)
  }

  // ---- jobs ------------------------------------------------------------------------------------

  /**
   * Write a new dispatch record into this node's open bucket for `dispatchEpoch` (opening one,
   * and sealing the previous, when it is full or old). Returns the record written.
   */
  dispatchJob (input: DispatchInput): JobDispatch {
    const bucketId = this.openBucketFor(input.dispatchEpoch)
    const maps = this.buckets.get(bucketId) as BucketMaps
    const meta = maps.meta.get('meta') as BucketMeta
    const n = meta.jobCount + 1
    const record = jobDispatchSchema.parse({
      ...input, v: 1, jobId: formatJobId(bucketId, n), dispatchedBy: this.selfId, createdAt: timestampMs(this.clock)
    })
    const docName = bucketDocName(bucketId)
    const doc = this.docs.ensure(docName)
    doc.transact(() => {
      doc.getMap('dispatch').set(record.jobId, signEntry(this.signer, docName, 'dispatch', record.jobId, record))
      // sealed in the same write that fills it, so a full bucket can retire without a next dispatch
      doc.getMap('meta').set('meta', signEntry(this.signer, docName, 'meta', 'meta', { ...meta, jobCount: n, sealed: n >= this.bucketMaxJobs }))
    })
    return record
  }

  /** Write this node's status for a job assigned to it. */
  setJobStatus (status: JobStatus): void {
    this.assertSelf('status', status.node)
    const bucketId = bucketOfJob(status.jobId)
    if (bucketId === undefined) throw new OwnershipError(status.jobId, 'not a job id')
    const dispatch = this.buckets.get(bucketId)?.dispatch.get(status.jobId)
    if (dispatch !== undefined && dispatch.assignedNode !== this.selfId) {
      throw new OwnershipError(status.jobId, `assigned to ${dispatch.assignedNode}, not this node`)
    }
    this.write(bucketDocName(bucketId), 'status', status.jobId, jobStatusSchema.parse(status))
  }

  /** Add this node's verdict on a job (expired, lost, cancelled, promoted, archived). */
  addVerdict (verdict: Omit<JobVerdict, 'v' | 'writer' | 'at'>): void {
    const bucketId = bucketOfJob(verdict.jobId)
    if (bucketId === undefined) throw new OwnershipError(verdict.jobId, 'not a job id')
    const record = jobVerdictSchema.parse({ ...verdict, v: 1, writer: this.selfId, at: timestampMs(this.clock) })
    this.write(bucketDocName(bucketId), 'verdicts', `${verdict.jobId}@${this.selfId}`, record)
  }

  job (jobId: string): JobView | undefined {
    const bucketId = bucketOfJob(jobId)
    if (bucketId === undefined) return undefined
    const maps = this.buckets.get(bucketId)
    const dispatch = maps?.dispatch.get(jobId)
    if (maps === undefined || dispatch === undefined) return undefined
    return this.jobView(bucketId, maps, dispatch)
  }

  /** Every job in the live buckets, in job id order. */
  jobs (): JobView[] {
    return this.bucketViews().flatMap(b => b.jobs)
  }

  bucketViews (): BucketView[] {
    const out: BucketView[] = []
    for (const [bucketId, maps] of [...this.buckets.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      out.push({
        bucketId,
        meta: maps.meta.get('meta'),
        jobs: maps.dispatch.values().map(d => this.jobView(bucketId, maps, d)),
        lastChangeMs: this.bucketChangedAt.get(bucketId) ?? this.clock.nowMs()
      })
    }
    return out
  }

  /** Seal this node's own bucket so no more dispatches go into it. */
  sealBucket (bucketId: string): void {
    const meta = this.buckets.get(bucketId)?.meta.get('meta')
    if (meta === undefined) throw new OwnershipError(bucketId, 'unknown bucket')
    this.assertSelf('meta', meta.dispatcher)
    if (meta.sealed) return
    this.write(bucketDocName(bucketId), 'meta', 'meta', { ...meta, sealed: true })
  }

  /** Buckets that may be retired now (pure decision over the current view). */
  retirableBuckets (): string[] {
    return decideRetirableBuckets(this.bucketViews(), this.maxKnownEpoch(), this.clock.nowMs(), this.retentionMs, this.retiredElsewhere, this.selfId)
  }

  /**
   * A peer has retired this bucket (and sent its final state, merged here before this call): no
   * other node will take updates for it any more, so it leaves this view as soon as this node's
   * own jobs in it have ended. Returns whether the bucket is held here.
   */
  markRetiredElsewhere (bucketId: string): boolean {
    if (!this.buckets.has(bucketId)) return false
    if (this.retiredElsewhere.size >= MAX_RETIRED_ELSEWHERE) this.retiredElsewhere.clear()
    this.retiredElsewhere.add(bucketId)
    return true
  }

  /** Remove a bucket document for good and return its jobs (for the job history). */
  retireBucket (bucketId: string): JobView[] {
    const view = this.bucketViews().find(b => b.bucketId === bucketId)
    this.docs.retire(bucketDocName(bucketId))
    this.retiredElsewhere.delete(bucketId)
    this.buckets.delete(bucketId)
    this.bucketChangedAt.delete(bucketId)
    this.bucketOpenedAt.delete(bucketId)
    return view?.jobs ?? []
  }

  /** Full JSON of every document (tests, REPL `doc()`). */
  toJSON (): Record<string, unknown> {
    return this.docs.toJSON()
  }

  destroy (): void {
    this.docs.destroy()
  }

  // ---- internals -------------------------------------------------------------------------------

  private jobView (bucketId: string, maps: BucketMaps, dispatch: JobDispatch): JobView {
    const raw = maps.status.get(dispatch.jobId)
    // Only the assigned node may speak for the job's run.
    const status = raw !== undefined && raw.node === dispatch.assignedNode ? raw : undefined
    const verdicts = maps.verdicts.values().filter(v => v.jobId === dispatch.jobId && this.verdictAuthorized(dispatch, v))
    return { jobId: dispatch.jobId, bucketId, dispatch, status, verdicts, state: deriveJobState(status, verdicts) }
  }

  /**
   * A verdict speaks for a job when its writer dispatched the job, led the epoch the verdict
   * names (a certificate), or is an operator; any other member's verdict is counted and ignored.
   */
  /** Whether a verdict `writer` signs on a job `dispatch` describes would count (nothing is counted here). */
  verdictCounts (dispatch: JobDispatch, writer: string, epoch: number, verdict: JobVerdict['verdict']): boolean {
    if (writer === dispatch.dispatchedBy || this.isOperator(writer) || this.heldEpoch(writer, epoch)) return true
    return !this.hasOperators() && verdict === 'CANCELLED' // `jobs cancel` on any node, while members hold cluster authority
  }

  private verdictAuthorized (dispatch: JobDispatch, v: JobVerdict): boolean {
    if (this.verdictCounts(dispatch, v.writer, v.epoch, v.verdict)) return true
    const key = `${v.jobId}@${v.writer}`
    if (!this.refusedVerdicts.has(key)) {
      if (this.refusedVerdicts.size >= MAX_RETIRED_ELSEWHERE) this.refusedVerdicts.clear()
      this.refusedVerdicts.add(key)
      this.stats.record('jobs.verdicts', 'no-epoch-authority')
      this.log.warn({ job: v.jobId, writer: v.writer, verdict: v.verdict }, 'verdict by a node that neither dispatched the job nor led its epoch ignored')
    }
    return false
  }

  private openBucketFor (epoch: number): string {
    const now = this.clock.nowMs()
    const maxEpoch = this.maxKnownEpoch()
    for (const [bucketId, maps] of this.buckets) {
      const meta = maps.meta.get('meta')
      if (meta === undefined || meta.dispatcher !== this.selfId || meta.epoch !== epoch) continue
      if (isBucketSealed({ bucketId, meta }, maxEpoch)) continue
      const openedAt = this.bucketOpenedAt.get(bucketId) ?? now
      if (meta.jobCount < this.bucketMaxJobs && now - openedAt < this.bucketMaxAgeMs) return bucketId
      this.sealBucket(bucketId)
    }
    const nonce = this.rng.uint32().toString(36)
    const bucketId = formatBucketId(epoch, this.selfId.replace(/[^A-Za-z0-9]/g, ''), nonce)
    const meta: BucketMeta = { v: 1, bucketId, dispatcher: this.selfId, epoch, sealed: false, jobCount: 0 }
    this.write(bucketDocName(bucketId), 'meta', 'meta', bucketMetaSchema.parse(meta))
    this.bucketOpenedAt.set(bucketId, now)
    return bucketId
  }

  private attachBucket (name: DocName): void {
    const bucketId = bucketIdOfDoc(name)
    if (bucketId === undefined || this.buckets.has(bucketId)) return
    const doc = this.docs.ensure(name)
    // `more`: a check beyond authorship, which needs epoch authority (so is rechecked when it changes)
    const mk = <T>(map: string, schema: z.ZodType<T>, check: (k: string, v: T) => string | null, owner: (v: T) => string,
      more?: (v: T) => string | null): ValidatedMap<T> =>
      new ValidatedMap(`jobs.${map}`, doc.getMap(map), schema, check, this.stats, this.log, {
        doc: name,
        // nobody deletes a job's status: one deleted remotely (a member, or the losing half of a
        // Yjs conflict with a forgery) is put back by the node that wrote it
        restoreDeleted: map === 'status',
        authority: (_k, v, by) => ownEntry(owner(v), by, this) ?? more?.(v) ?? null,
        generation: more === undefined ? () => this.trustVersion : () => this.epochAuthorityVersion(),
        repair: (key, raw, stored) => this.writeBack(name, map, key, raw, stored)
      })
    const suffix = bucketId.split('-')[1] ?? ''
    this.buckets.set(bucketId, {
      meta: mk('meta', bucketMetaSchema, (k, v) =>
        k === 'meta' && v.bucketId === bucketId && v.dispatcher.replace(/[^A-Za-z0-9]/g, '').endsWith(suffix) ? null : 'meta of another bucket', v => v.dispatcher),
      dispatch: mk('dispatch', jobDispatchSchema, (k, v) =>
        k === v.jobId && bucketOfJob(k) === bucketId && v.dispatchedBy.replace(/[^A-Za-z0-9]/g, '').endsWith(suffix) ? null : 'dispatch not of this bucket', v => v.dispatchedBy,
      // work for another node only under an epoch the dispatcher held (its own leaderless jobs aside)
      v => v.assignedNode === v.dispatchedBy || this.heldEpoch(v.dispatchedBy, v.dispatchEpoch) ? null : 'no-epoch-authority'),
      status: mk('status', jobStatusSchema, (k, v) => (k === v.jobId && bucketOfJob(k) === bucketId ? null : 'status not of this bucket'), v => v.node),
      verdicts: mk('verdicts', jobVerdictSchema, (k, v) =>
        k === `${v.jobId}@${v.writer}` && bucketOfJob(v.jobId) === bucketId ? null : 'key is not <jobId>@<writer>', v => v.writer)
    })
  }

  private write (docName: DocName, map: string, key: string, value: object): void {
    const doc = this.docs.ensure(docName)
    const signed = signEntry(this.signer, docName, map, key, value)
    doc.transact(() => doc.getMap(map).set(key, signed))
  }

  /**
   * Put back a signed entry a member deleted or overwrote with a forgery. An entry of the sticky
   * maps (an operator's setting or trust entry) is put back by every node that held it, so nodes
   * that had not seen it get it too; any other entry only by its writer, whose kept value is its
   * latest (another node's copy may be older than what the writer wrote since). Only while the
   * forgery (or the deletion) is still what is stored: a newer write of the key stands.
   */
  private writeBack (docName: DocName, map: string, key: string, raw: unknown, stored: unknown): void {
    const own = (raw as { sig?: { by?: unknown } } | null)?.sig?.by === this.selfId
    if (!own && map !== 'settings' && map !== 'trust') return
    const doc = this.docs.ensure(docName)
    queueMicrotask(() => {
      if (doc.getMap(map).get(key) === stored) doc.transact(() => doc.getMap(map).set(key, raw))
    })
  }

  private assertSelf (map: string, owner: string): void {
    if (owner !== this.selfId) throw new OwnershipError(map, `entry owned by ${owner}, this node is ${this.selfId}`)
  }
}

function electionOwner (v: ElectionEntry): string {
  return 'candidate' in v ? v.voter : v.nodeId
}

function electionKeyCheck (key: string, v: ElectionEntry): string | null {
  if ('renounced' in v) return key === `cand/${v.nodeId}` ? null : 'candidacy key is not cand/<nodeId>'
  if ('candidate' in v) return key === `grant/${v.voter}` ? null : 'grant key is not grant/<voterId>'
  return key === `lease/${v.nodeId}` ? null : 'lease key is not lease/<nodeId>'
}

function sameList (a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}
