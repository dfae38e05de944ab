/**
 * The unsigned arm of the signed-propagation benchmark: the typed view ClusterState gives of the
 * three entries the rounds write — the same ValidatedMap (arrival check, schema, key check, cache
 * per stored value), the same settings resolution (SettingsView, registers) and job state — over
 * the maps `unsigned.<map>` of the same documents, with one difference: no signature. Values are
 * taken as stored (no verifyEntry, no canonical JSON) and no authority is checked (without a
 * signer there is nobody to check). So the two arms differ by exactly what signing adds.
 *
 * Padded (maps `padded.<map>`): the same, but each value carries a `sig` of the shape and size of
 * a real one (signer id, 88 characters), stripped on read as verifyEntry strips it — not checked.
 * Signed against padded is what the signature's CPU costs; padded against unsigned, its bytes.
 */
import type { z } from 'zod'
import { silentLogger } from '../../src/core/logger.js'
import type { ClusterState } from '../../src/state/cluster-state.js'
import { bucketDocName, type DocName } from '../../src/state/docs.js'
import { VersionMemo } from '../../src/state/memo.js'
import { nextRegisterVersion, registerKey } from '../../src/state/registers.js'
import { SettingsView } from '../../src/state/settings-view.js'
import { SettingError, settingIssue, settingSpec } from '../../src/state/settings-registry.js'
import { bucketOfJob, deriveJobState } from '../../src/state/jobs.js'
import {
  jobStatusSchema, nodeInfoSchema, settingRegisterSchema,
  type JobDispatch, type JobStatus, type NodeInfo, type Register, type SettingValue
} from '../../src/state/schema.js'
import { ValidatedMap, ValidationStats, type EntryVerifier } from '../../src/state/validated-map.js'
import { PADDED, UNSIGNED } from './signed-workload.js'

/** Takes a stored value as it is: the unsigned baseline's stand-in for verifyEntry. */
const asStored: EntryVerifier = (_doc, _map, _key, raw) => ({ ok: true, value: raw, by: '' })
/** Takes a padded value without its unchecked `sig`. */
const withoutPad: EntryVerifier = (_doc, _map, _key, raw) => {
  const { sig: _sig, ...value } = raw as Record<string, unknown>
  return { ok: true, value, by: '' }
}
/** Length of a real signature's `s` (64 bytes in base64). */
const SIG_CHARS = 88

export interface UnsignedViewInit {
  /** Carry a dummy signature of a real one's size in each value. @default false */
  padded?: boolean
}

export class UnsignedView {
  private readonly stats = new ValidationStats()
  private readonly nodes: ValidatedMap<NodeInfo>
  private readonly settingsMap: ValidatedMap<Register<SettingValue>>
  private readonly settingsView = new SettingsView(this.stats, silentLogger())
  private settingsVersion = 0
  private readonly settingsMemo: VersionMemo<Map<string, SettingValue>>
  private readonly status = new Map<string, ValidatedMap<JobStatus>>()
  /** The dispatch of each job watched (unchanged during the rounds). */
  private readonly dispatches = new Map<string, JobDispatch>()

  private readonly prefix: string
  private pads = 0

  constructor (private readonly state: ClusterState, private readonly init: UnsignedViewInit = {}) {
    this.prefix = init.padded === true ? PADDED : UNSIGNED
    this.nodes = this.map('control', 'nodes', nodeInfoSchema, (k, v) => (k === v.nodeId ? null : 'key is not the node id'))
    this.settingsMap = this.map('control', 'settings', settingRegisterSchema as z.ZodType<Register<SettingValue>>,
      (k, v) => (k === registerKey(v.name, v.writer) ? null : 'key is not <name>@<writer>'))
    state.docs.ensure('control').getMap(this.prefix + 'settings').observe(() => { this.settingsVersion++ })
    this.settingsMemo = new VersionMemo(() => [this.settingsVersion], () => this.settingsView.current(this.settingsMap.values()))
  }

  private map<T> (doc: DocName, name: string, schema: z.ZodType<T>, keyCheck: (k: string, v: T) => string | null): ValidatedMap<T> {
    return new ValidatedMap(name, this.state.docs.ensure(doc).getMap(this.prefix + name), schema, keyCheck, this.stats, silentLogger(), {
      doc, authority: () => null, generation: () => 0, verify: this.init.padded === true ? withoutPad : asStored
    })
  }

  private statusMap (jobId: string): ValidatedMap<JobStatus> {
    const bucketId = bucketOfJob(jobId) as string
    let m = this.status.get(bucketId)
    if (m === undefined) {
      m = this.map(bucketDocName(bucketId), 'status', jobStatusSchema, (k, v) => (k === v.jobId && bucketOfJob(k) === bucketId ? null : 'status not of this bucket'))
      this.status.set(bucketId, m)
    }
    return m
  }

  /** Open the view's job maps before the rounds, so each sees every value as it arrives (as ClusterState's do). */
  watchJobs (jobIds: readonly string[]): void {
    for (const j of jobIds) {
      const dispatch = this.state.job(j)?.dispatch
      if (dispatch === undefined) throw new Error(`job ${j} is not in this node's view`)
      this.dispatches.set(j, dispatch)
      this.statusMap(j)
    }
  }

  // ---- reads: what ClusterState.node() / setting() / job(id).status do, less the signature

  node (nodeId: string): NodeInfo | undefined {
    return this.nodes.get(nodeId)
  }

  setting (name: string): SettingValue | undefined {
    return this.settingsMemo.get().get(name)
  }

  jobStatus (jobId: string): JobStatus | undefined {
    const dispatch = this.dispatches.get(jobId)
    if (dispatch === undefined) return undefined
    const raw = this.statusMap(jobId).get(jobId)
    const status = raw !== undefined && raw.node === dispatch.assignedNode ? raw : undefined
    deriveJobState(status, [])
    return status
  }

  // ---- writes: what ClusterState.setNodeInfo / setSetting / setJobStatus do, less signEntry

  setNodeInfo (info: NodeInfo): void {
    this.set('control', 'nodes', info.nodeId, nodeInfoSchema.parse(info))
  }

  setSetting (name: string, value: SettingValue): void {
    const spec = settingSpec(name)
    const issue = spec === undefined ? null : settingIssue(spec, value)
    if (issue !== null) throw new SettingError(issue)
    const checked = settingRegisterSchema.parse({ v: 1, name, writer: this.state.selfId, version: 0, value })
    checked.version = nextRegisterVersion(this.settingsMap.values(), name)
    this.set('control', 'settings', registerKey(name, this.state.selfId), checked)
  }

  setJobStatus (status: JobStatus): void {
    const dispatch = this.dispatches.get(status.jobId)
    if (dispatch !== undefined && dispatch.assignedNode !== this.state.selfId) throw new Error(`job ${status.jobId} is not this node's`)
    this.set(bucketDocName(bucketOfJob(status.jobId) as string), 'status', status.jobId, jobStatusSchema.parse(status))
  }

  private set (docName: DocName, map: string, key: string, value: object): void {
    const doc = this.state.docs.ensure(docName)
    const stored = this.init.padded === true ? { ...value, sig: { by: this.state.selfId, s: String(++this.pads).padStart(SIG_CHARS, 'A') } } : value
    doc.transact(() => doc.getMap(this.prefix + map).set(key, stored))
  }
}
