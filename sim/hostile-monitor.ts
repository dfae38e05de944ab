/**
 * The hostile-member invariant, **no-forged-effect**: no honest node ever acts upon an entry the
 * hostile member forged (hostile.ts keeps the ledger). Watched by the omniscient observer:
 *  - in every honest node's view, no forged value is in effect — its validated NodeInfo,
 *    manifests, grants, effective settings, models and training records, job dispatches,
 *    statuses and verdicts never equal a forged value, no epoch certificate of the hostile counts,
 *    and a deleted operator-signed setting stays in effect (checked every HOSTILE_SAMPLE_MS and at
 *    the end);
 *  - no honest node ever sees the hostile as leader (it does not stand; grants forged in the
 *    voters' names and its own lease must not make it one);
 *  - no honest machine ever starts a job whose dispatch the hostile forged, or one re-dispatched
 *    from such a job, or one whose command comes from a forged `jobCommands`, or one under an
 *    epoch above every epoch an honest node reached (an epoch only the hostile's entries name).
 * It also sums, per named reason, the entries the honest nodes refused (`state.stats`).
 */
import type * as Y from 'yjs'
import type { ClusterState } from '../src/state/cluster-state.js'
import type { Scheduler } from './core/scheduler.js'
import type { SimNode } from './node/sim-node.js'
import type { CheckResult } from './simulation.js'
import { HOSTILE_MARK, canonical, type Forgery, type ForgeryKind, type HostileMember } from './hostile.js'

/** How often every honest view is checked besides on its updates. */
export const HOSTILE_SAMPLE_MS = 500
export const NO_FORGED_EFFECT = 'no-forged-effect'

const withoutSig = (raw: Record<string, unknown>): string => {
  const { sig: _sig, ...value } = raw
  return canonical(value)
}
const same = (value: unknown, forged: string): boolean => value !== undefined && canonical(value) === forged

/** Canonical JSON of stored values, by identity (a stored Y.Map value does not change in place). */
const canonicalCache = new WeakMap<object, string>()
function canonicalOf (value: unknown): string {
  if (value === null || typeof value !== 'object') return canonical(value)
  let c = canonicalCache.get(value)
  if (c === undefined) {
    c = canonical(value)
    canonicalCache.set(value, c)
  }
  return c
}

/** The key an election entry, or a register, belongs under: a value replayed under another key is never in effect there. */
function naturalKey (map: string, v: Record<string, unknown>): string | undefined {
  if (map === 'election') return 'candidate' in v ? `grant/${String(v.voter)}` : 'renounced' in v ? `cand/${String(v.nodeId)}` : `lease/${String(v.nodeId)}`
  if (map === 'settings' || map === 'models' || map === 'training') return `${String(v.name)}@${String(v.writer)}`
  return undefined
}

/** One node's view as the check reads it, each part computed once per check. */
export class CheckedView {
  private settingsMap: ReturnType<ClusterState['settings']> | undefined
  private electionEntries: unknown[] | undefined
  private modelValues: unknown[] | undefined
  private trainingValues: unknown[] | undefined

  constructor (readonly state: ClusterState) {}

  setting (name: string): unknown {
    this.settingsMap ??= this.state.settings()
    return this.settingsMap.get(name)
  }

  election (): unknown[] {
    return (this.electionEntries ??= [...this.state.grants(), ...this.state.leases()])
  }

  models (): unknown[] {
    return (this.modelValues ??= [...this.state.models().values()])
  }

  training (): unknown[] {
    return (this.trainingValues ??= [...this.state.trainingRecords().values()])
  }
}

/**
 * Whether forgery `f` is in effect in a node's view (pure): its value is what the validated view
 * returns for its key, or (a delete) the deleted value is gone from the effective settings.
 */
export function forgedInEffect (state: ClusterState, f: Forgery, view: CheckedView = new CheckedView(state)): boolean {
  if (f.raw === null) {
    const reg = f.deleted as { name?: string } | undefined
    return reg?.name !== undefined && view.setting(reg.name) === undefined
  }
  const value = withoutSig(f.raw)
  const v = f.raw as Record<string, unknown>
  const natural = naturalKey(f.map, v)
  if (natural !== undefined && natural !== f.key) return false
  switch (f.map) {
    case 'nodes': return same(state.node(f.key), value)
    case 'manifests': return same(state.manifest(f.key), value)
    case 'election': return f.mustNot === 'take-effect' && view.election().some(e => same(e, value))
    case 'certs': return state.heldEpoch(String(v.leader), Number(v.epoch))
    case 'settings': return same(view.setting(String(v.name)), canonical(v.value))
    case 'models': return view.models().some(m => same(m, canonical(v.value)))
    case 'training': return view.training().some(t => same(t, canonical(v.value)))
    case 'dispatch': return same(state.job(f.key)?.dispatch, value)
    case 'status': return same(state.job(f.key)?.status, value)
    case 'verdicts': return (state.job(String(v.jobId))?.verdicts ?? []).some(x => same(x, value))
    default: return false
  }
}

export interface HostileSummary {
  node: number
  forgeries: Partial<Record<ForgeryKind, number>>
  /** Entries the honest nodes refused, per reason (summed over nodes and their incarnations). */
  refusals: Record<string, number>
}

export class HostileMonitor {
  private readonly violations = new Map<string, string>()
  /** The highest epoch any honest node's election reached. */
  private honestEpoch = 0
  /** Latest refusal counts per honest node incarnation (`index/incarnation`). */
  private readonly stats = new Map<string, Record<string, number>>()
  /** Deleted settings each honest node incarnation has had in effect (only those can be erased in its view). */
  private readonly hadSetting = new Map<string, Set<string>>()
  /** Canonical JSON of each forged raw value. */
  private readonly forgedJson = new WeakMap<Forgery, string>()

  constructor (
    private readonly nodes: readonly SimNode[],
    private readonly hostile: HostileMember,
    private readonly hostileIndex: number,
    private readonly sched: Scheduler,
    private readonly fail: (check: string, detail: string) => void
  ) {
  }

  /** Check every honest view now (the simulation calls this every HOSTILE_SAMPLE_MS and at the end). */
  sample (): void {
    for (const n of this.honestUp()) {
      this.honestEpoch = Math.max(this.honestEpoch, n.parts?.election?.highestEpoch ?? 0)
      this.stats.set(`${n.index}/${n.incarnation}`, n.state.stats.snapshot())
      this.checkView(n, n.state)
      const leader = n.parts?.election?.currentLeader()
      if (leader?.nodeId === this.hostile.id) this.violate(`node ${n.index} sees the hostile node ${this.hostileIndex} as leader of epoch ${leader.epoch}`)
      if (n.parts?.election?.voters().includes(this.hostile.id) === true) this.violate(`node ${n.index} counts the hostile node ${this.hostileIndex} as a voter`)
      const commands = n.state.setting('jobCommands')
      if (commands !== undefined && canonical(commands).includes(HOSTILE_MARK)) this.violate(`node ${n.index}'s jobCommands are the hostile's: ${canonical(commands)}`)
    }
    const own = this.nodes[this.hostileIndex]
    if (own?.isUp === true && own.parts?.election?.isLeader() === true) this.violate(`the hostile node ${this.hostileIndex} holds a lease (it does not stand)`)
  }

  /** An honest machine starts a job: it must not come from a forged entry. */
  onStart (machine: number, jobId: string, argv: readonly string[]): void {
    if (machine === this.hostileIndex) return
    const node = this.nodes[machine]
    const state = node?.parts?.state
    if (node === undefined || state === undefined) return
    if (argv.some(a => a.includes(HOSTILE_MARK))) this.violate(`machine ${machine} starts ${jobId} with a command the hostile wrote: ${argv.join(' ')}`)
    for (const n of this.honestUp()) this.honestEpoch = Math.max(this.honestEpoch, n.parts?.election?.highestEpoch ?? 0)
    const d = state.job(jobId)?.dispatch
    if (d === undefined) return
    if (d.dispatchEpoch > this.honestEpoch) this.violate(`machine ${machine} starts ${jobId} under epoch ${d.dispatchEpoch}, above every epoch an honest node reached (${this.honestEpoch}): only the hostile's entries name it`)
    for (let id: string | null = jobId, hops = 0; id !== null && hops < 32; hops++) {
      const j = state.job(id)
      if (j === undefined) break
      const raw = (state.docs.get(`jobs/${j.bucketId}` as `jobs/${string}`)?.getMap('dispatch') as Y.Map<unknown> | undefined)?.get(id)
      const forged = this.hostile.ledger.find(f => f.map === 'dispatch' && f.key === id && f.raw !== null && this.json(f) === canonicalOf(raw))
      if (forged !== undefined || (j.dispatch.dispatchedBy === this.hostile.id && j.dispatch.spec.leaderless !== true)) {
        this.violate(`machine ${machine} starts ${jobId}${id === jobId ? '' : `, re-dispatched from ${id},`} which the hostile forged (${forged?.kind ?? `dispatched by the hostile under epoch ${j.dispatch.dispatchEpoch}`})`)
        return
      }
      id = j.dispatch.previousJobId
    }
  }

  private honestUp (): SimNode[] {
    return this.nodes.filter(n => n.isUp && n.index !== this.hostileIndex)
  }

  private checkView (node: SimNode, state: ClusterState): void {
    if (this.violations.size > 0) return
    const view = new CheckedView(state)
    for (const f of this.hostile.ledger) {
      if (f.raw === null && !this.hadDeleted(node, view, f)) continue
      const stored = state.docs.get(f.doc)?.getMap(f.map).get(f.key)
      // a forged value no longer stored there cannot be in effect (a delete: the value it removed may be back)
      if (f.raw !== null && (stored === undefined || canonicalOf(stored) !== this.json(f))) continue
      if (forgedInEffect(state, f, view)) {
        this.violate(`node ${node.index} acts on a forged entry (${f.kind} at ${(f.atMs / 1000).toFixed(3)} s): ${f.raw === null ? 'deleted ' : ''}${f.doc}/${f.map}/${f.key} ${f.raw === null ? 'is gone from its settings' : 'is in effect in its view'}`)
        return
      }
    }
  }

  private json (f: Forgery): string {
    let j = this.forgedJson.get(f)
    if (j === undefined) {
      j = canonical(f.raw)
      this.forgedJson.set(f, j)
    }
    return j
  }

  /** Whether this node incarnation has had in effect the setting forgery `f` deleted (noted when it has it now). */
  private hadDeleted (node: SimNode, view: CheckedView, f: Forgery): boolean {
    const name = (f.deleted as { name?: string } | undefined)?.name
    if (name === undefined) return false
    const key = `${node.index}/${node.incarnation}`
    let had = this.hadSetting.get(key)
    if (had === undefined) {
      had = new Set()
      this.hadSetting.set(key, had)
    }
    if (view.setting(name) !== undefined) {
      had.add(name)
      return false
    }
    return had.has(name)
  }

  private violate (detail: string): void {
    if (this.violations.size > 0) return
    this.violations.set(NO_FORGED_EFFECT, detail)
    this.fail(NO_FORGED_EFFECT, detail)
  }

  results (): CheckResult[] {
    return [{ name: NO_FORGED_EFFECT, ok: this.violations.size === 0, detail: this.violations.get(NO_FORGED_EFFECT) ?? `${this.hostile.ledger.length} forged writes, none acted on` }]
  }

  summary (): HostileSummary {
    const forgeries: Partial<Record<ForgeryKind, number>> = {}
    for (const f of this.hostile.ledger) forgeries[f.kind] = (forgeries[f.kind] ?? 0) + 1
    const refusals: Record<string, number> = {}
    for (const snap of this.stats.values()) {
      for (const [k, v] of Object.entries(snap)) {
        const reason = k.slice(k.lastIndexOf(':') + 1)
        refusals[reason] = (refusals[reason] ?? 0) + v
      }
    }
    return { node: this.hostileIndex, forgeries, refusals: Object.fromEntries(Object.entries(refusals).sort(([a], [b]) => a.localeCompare(b))) }
  }
}
