/**
 * The REPL's helpers: each checks its arguments, asks the node through its control socket and
 * returns a `Shown` — the raw result (printed as JSON in `--json` mode) and a readable table.
 */
import { inspect } from 'node:util'
import { RiftmeshError } from '../core/errors.js'
import { CLUSTER_SETTINGS, describeSettings, requireSettingSpec } from '../state/settings-registry.js'
import { ControlError } from './control.js'
import type { ControlCall } from './attach.js'
import type { MeshReport } from '../node/peer-manager.js'
import { meshTable } from './mesh-view.js'
import { bytes, cell, duration, keyValues, shortId, table, uniquePrefixes, type Row } from './format.js'
import { OPERATOR_KEY_ENV, loadOperatorKey } from './operator-key.js'
import { signedSettingChange } from './operator-sign.js'
import type { EntrySigner } from '../state/entry-sig.js'

export class ReplArgumentError extends RiftmeshError {
  constructor (usage: string, problem: string) {
    super(`${problem}; usage: ${usage}`, 'ERR_REPL_ARGS')
    this.name = 'ReplArgumentError'
  }
}

/** A helper's result: the data, and how it reads as text. */
export class Shown {
  constructor (readonly data: unknown, readonly text: string) {}
  [inspect.custom] (): string { return this.text }
  toJSON (): unknown { return this.data }
}

export interface Helper {
  /** How it is called, e.g. `jobs({state, node, type})`. */
  usage: string
  /** One line for `.help`. */
  help: string
  run: (...args: unknown[]) => Promise<Shown>
}

const JOB_FILTER_KEYS = ['state', 'node', 'type', 'limit'] as const

function record (v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? v as Record<string, unknown> : {}
}

function list (v: unknown): Row[] {
  return Array.isArray(v) ? v.map(record) : []
}

/** Check a helper's arguments: how many, and that each named one is a non-empty string. */
function strings (usage: string, args: readonly unknown[], min: number, max: number): string[] {
  if (args.length < min || args.length > max) throw new ReplArgumentError(usage, `expected ${min === max ? min : `${min}–${max}`} argument(s), got ${args.length}`)
  return args.map((a, i) => {
    if (typeof a !== 'string' || a.length === 0 || a.length > 256) throw new ReplArgumentError(usage, `argument ${i + 1} must be a non-empty string, got ${inspect(a)}`)
    return a
  })
}

function jobRows (jobs: Row[]): Row[] {
  return jobs.map(j => ({
    jobId: j.jobId, type: j.type, config: j.config, mode: j.engineMode, node: shortId(j.node as string), state: j.state, attempt: j.attempt, exit: j.exitCode, error: j.error
  }))
}

export function makeHelpers (call: ControlCall, nowMs: () => number): Record<string, Helper> {
  const show = (data: unknown, text: string): Shown => new Shown(data, text)
  const ago = (at: unknown): string => (typeof at === 'number' ? `${duration(nowMs() - at)} ago` : '-')
  return {
    peers: {
      usage: 'peers()', help: 'peers heard from: health, silence, load',
      run: async (...a) => {
        strings('peers()', a, 0, 0)
        const peers = list(await call('peers'))
        return show(peers, table(peers.map(p => {
          const l = record(p.load)
          return { peer: p.peer, health: p.health, silent: duration(p.silentMs as number), cpu: l.cpuPercent, mem: l.memoryPercent, disk: l.diskPercent, gpu: l.gpuPercent, selfplay: l.selfplayJobs, training: l.trainingJobs }
        }), { maxCellChars: 60 }))
      }
    },
    mesh: {
      usage: 'mesh()', help: 'connections to the other members: connected or not, the address in use, the last dial error',
      run: async (...a) => {
        strings('mesh()', a, 0, 0)
        const m = await call('mesh') as MeshReport
        return show(m, [`mesh: ${m.summary}`, ...(m.warning === null ? [] : [`WARNING ${m.warning}`]), meshTable(m, 200)].join('\n'))
      }
    },
    nodes: {
      usage: 'nodes()', help: 'every node in the document: GPU, scores, role, health, load, jobs',
      run: async (...a) => {
        strings('nodes()', a, 0, 0)
        const nodes = list(await call('nodes'))
        return show(nodes, nodesTable(nodes))
      }
    },
    leader: {
      usage: 'leader()', help: 'the leader, its epoch and lease, this node\'s role',
      run: async (...a) => {
        strings('leader()', a, 0, 0)
        const l = record(await call('lease'))
        const noLeader = record(l.noLeader).text ?? null // why there is none, in words
        return show(l, keyValues({ ...l, leaseRemainingMs: l.leaseRemainingMs === null ? null : duration(l.leaseRemainingMs as number), noLeader }, { maxCellChars: 80 }))
      }
    },
    electionEvents: {
      usage: 'electionEvents(limit?)', help: 'recent election transitions this node saw: leaders elected, leases expired, step-downs, quorum lost/regained',
      run: async (...a) => {
        const usage = 'electionEvents(limit?)'
        if (a.length > 1 || (a.length === 1 && !(Number.isInteger(a[0]) && (a[0] as number) >= 1))) throw new ReplArgumentError(usage, 'expected one integer ≥ 1 or none')
        const events = list(await call('electionEvents', a.length === 0 ? {} : { limit: a[0] }))
        return show(events, table(events.map(e => ({ at: ago(e.atMs), event: e.type, epoch: e.epoch, node: shortId(e.node as string), detail: e.detail })), { maxCellChars: 120 }))
      }
    },
    jobs: {
      usage: 'jobs({state, node, type, limit})', help: 'jobs in the document, filtered by state, node, type',
      run: async (...a) => {
        const usage = 'jobs({state, node, type, limit})'
        if (a.length > 1 || (a.length === 1 && (typeof a[0] !== 'object' || a[0] === null || Array.isArray(a[0])))) throw new ReplArgumentError(usage, 'expected one filter object or none')
        const filter = record(a[0])
        const unknown = Object.keys(filter).filter(k => !(JOB_FILTER_KEYS as readonly string[]).includes(k))
        if (unknown.length > 0) throw new ReplArgumentError(usage, `unknown filter key(s) ${unknown.join(', ')}`)
        const jobs = list(await call('jobs', filter))
        return show(jobs, table(jobRows(jobs)))
      }
    },
    job: {
      usage: 'job(id)', help: 'one job: dispatch, status, verdicts',
      run: async (...a) => {
        const [jobId] = strings('job(id)', a, 1, 1)
        const j = record(await call('job', { jobId }))
        return show(j, inspect(j, { depth: 4, colors: false, breakLength: 100 }))
      }
    },
    manifest: {
      usage: 'manifest(node?)', help: 'a node\'s published data manifest (default: this node)',
      run: async (...a) => {
        const [node] = strings('manifest(node?)', a, 0, 1)
        const m = record(await call('manifest', node === undefined ? {} : { node }))
        const files: Row[] = Object.entries(record(m.files)).map(([path, f]) => ({ path, ...record(f) }))
        const head = `node ${cell(m.nodeId)}: ${cell(m.totalFiles)} file(s), ${bytes(Number(m.totalBytes))}${m.truncated === true ? ' (truncated)' : ''}, published ${ago(m.generatedAt)}`
        const summary = Object.entries(record(m.summary)).map(([config, s]) => ({ config, ...record(s) }))
        return show(m, `${head}\n${table(summary)}\n\n${table(files.map(f => ({ path: f.path, bytes: f.size ?? f.bytes, games: f.gameCount, sha256: typeof f.sha256 === 'string' ? f.sha256.slice(0, 12) : null })), { maxCellChars: 70 })}`)
      }
    },
    plan: {
      usage: 'plan()', help: 'what the scheduler would do now: selfplay targets per node, this node\'s weights, the sync plan',
      run: async (...a) => {
        strings('plan()', a, 0, 0)
        const p = record(await call('plan'))
        const weights = list(p.weights).map(w => ({ ...w, share: `${(Number(w.share) * 100).toFixed(1)}%` }))
        return show(p, `selfplay (${cell(p.dispatcher)}):\n${table(list(p.selfplay).map(n => ({ ...n, node: shortId(n.node as string) })))}\n\nthis node's weights:\n${table(weights)}\n\nsync: ${cell(p.sync)}`)
      }
    },
    rankings: {
      usage: 'rankings()', help: 'node rankings: training primaries, best GPU and CPU nodes, scores',
      run: async (...a) => {
        strings('rankings()', a, 0, 0)
        const r = record(await call('rankings'))
        const { scores, ...picks } = r
        return show(r, `${keyValues(picks, { maxCellChars: 120 })}\n\n${table(list(scores))}`)
      }
    },
    whyNot: {
      usage: 'whyNot(config)', help: 'why the selfplay scheduler is not picking a config, e.g. whyNot(\'hex8_2p\')',
      run: async (...a) => {
        const [config] = strings('whyNot(config)', a, 1, 1)
        const w = record(await call('whyNot', { config }))
        const reasons = Array.isArray(w.reasons) ? w.reasons.map(r => `  - ${String(r)}`).join('\n') : ''
        const nodes = list(w.nodes)
        const ids = uniquePrefixes(nodes.map(n => String(n.node))) // as the reasons name them
        // the note is the reason itself: long enough not to cut it
        return show(w, `${cell(w.config)}: ${cell(w.verdict)}\n${reasons}\n\n${table(nodes.map(n => ({ ...n, node: ids.get(String(n.node)) })), { maxCellChars: 120 })}`)
      }
    },
    dispatch: {
      usage: 'dispatch({type, node, config?, engineMode?, spec?})', help: 'dispatch a job through the leader (this node must lead)',
      run: async (...a) => {
        const usage = 'dispatch({type, node, config?, engineMode?, spec?})'
        if (a.length !== 1 || typeof a[0] !== 'object' || a[0] === null || Array.isArray(a[0])) throw new ReplArgumentError(usage, 'expected one object')
        const d = record(await call('dispatch', record(a[0])))
        return show(d, keyValues(d, { maxCellChars: 80 }))
      }
    },
    cancel: {
      usage: 'cancel(id)', help: 'cancel a job (a CANCELLED verdict every node honours)',
      run: async (...a) => {
        const [jobId] = strings('cancel(id)', a, 1, 1)
        const r = record(await call('cancelJob', { jobId }))
        return show(r, keyValues(r))
      }
    },
    elo: {
      usage: 'elo()', help: 'the best model per config with its Elo',
      run: async (...a) => {
        strings('elo()', a, 0, 0)
        const models = record(await call('models'))
        const rows = Object.entries(models).map(([config, m]): Row => ({ config, ...record(m) }))
          .sort((x, y) => Number(y.elo) - Number(x.elo))
          .map(m => ({ config: m.config, elo: m.elo, modelId: m.modelId, owner: shortId(m.ownerNode as string), promoted: ago(m.promotedAt) }))
        return show(models, table(rows))
      }
    },
    metrics: {
      usage: 'metrics({sinceMs?, limit?})', help: 'this node\'s metrics history (snapshots kept in LevelDB)',
      run: async (...a) => {
        const usage = 'metrics({sinceMs?, limit?})'
        if (a.length > 1 || (a.length === 1 && (typeof a[0] !== 'object' || a[0] === null))) throw new ReplArgumentError(usage, 'expected one options object or none')
        const samples = list(await call('metricsHistory', record(a[0])))
        return show(samples, table(samples.map(s => ({ at: ago(s.atMs), ...record(s.values) }))))
      }
    },
    abStart: {
      usage: 'abStart({config, modelA, modelB, games?, gamesPerJob?})', help: 'start an A/B test between two models (kept on this node), e.g. abStart({config: \'hex8_2p\', modelA: \'models/hex8_2p/x.json\', modelB: \'models/hex8_2p/y.json\'})',
      run: async (...a) => {
        const usage = 'abStart({config, modelA, modelB, games?, gamesPerJob?})'
        if (a.length !== 1 || typeof a[0] !== 'object' || a[0] === null || Array.isArray(a[0])) throw new ReplArgumentError(usage, 'expected one object')
        const t = record(await call('abStart', record(a[0])))
        return show(t, keyValues(t, { maxCellChars: 80 }))
      }
    },
    abTests: {
      usage: 'abTests(id?)', help: 'A/B tests kept on this node with their score and verdict, or one of them',
      run: async (...a) => {
        const [id] = strings('abTests(id?)', a, 0, 1)
        if (id !== undefined) {
          const t = record(await call('abTest', { id }))
          return show(t, keyValues(t, { maxCellChars: 120 }))
        }
        const rows = list(await call('abTests'))
        const pct = (v: unknown): string => (typeof v === 'number' ? `${(100 * v).toFixed(1)}%` : '-')
        return show(rows, table(rows.map(r => ({ id: r.id, config: r.config, status: r.status, games: `${String(r.games)}/${String(r.gameBudget)}`, scoreA: pct(r.score), interval: `${pct(r.low)}–${pct(r.high)}`, verdict: r.verdict }))))
      }
    },
    abCancel: {
      usage: 'abCancel(id)', help: 'cancel an A/B test this node owns (its running tournament jobs too)',
      run: async (...a) => {
        const [id] = strings('abCancel(id)', a, 1, 1)
        const t = record(await call('abCancel', { id }))
        return show(t, keyValues(t))
      }
    },
    doc: {
      usage: 'doc()', help: 'the raw cluster documents as JSON',
      run: async (...a) => {
        strings('doc()', a, 0, 0)
        const d = await call('doc')
        return show(d, JSON.stringify(d, null, 2))
      }
    }
  }
}

const SET_USAGE = 'settings.set(name, value, {force}?)'
const UNSET_USAGE = 'settings.unset(name, {force}?)'
const KEY_USAGE = 'settings.useOperatorKey(file)'

/** The optional `{force: true}` of settings.set / unset. */
function forceOption (usage: string, v: unknown): boolean {
  if (v === undefined) return false
  const o = record(v)
  const extra = Object.keys(o).filter(k => k !== 'force')
  if (typeof v !== 'object' || v === null || extra.length > 0 || (o.force !== undefined && typeof o.force !== 'boolean')) throw new ReplArgumentError(usage, `the last argument is {force: true} or nothing, got ${inspect(v)}`)
  return o.force === true
}

/** The one line a change gets when the cluster needs an operator signature and the REPL has no key. */
const REPL_KEY_NEEDED = `cluster settings need an operator key: call ${KEY_USAGE} first (or start the REPL with ${OPERATOR_KEY_ENV}=FILE; riftmesh keygen --operator makes one)`

/** A change the node refused as unsafe, with how to force it from here; one needing a key, with how to give one. */
async function change (run: () => Promise<unknown>, usage: string): Promise<Record<string, unknown>> {
  try {
    return record(await run())
  } catch (err) {
    if (err instanceof ControlError && err.remoteName === 'UnsafeSettingError') throw new ControlError(`${err.message}; to do it anyway: ${usage.replace('{force}?', '{force: true}')}`)
    if (err instanceof ControlError && err.remoteName === 'OperatorKeyRequiredError') throw new ControlError(REPL_KEY_NEEDED)
    throw err
  }
}

const lostText = (lost: unknown): string => (Array.isArray(lost) && lost.length > 0 ? `\nforced: gives up ${lost.map(String).join('; and ')}` : '')

export interface SettingsHelpersInit {
  /** The operator key file changes are signed with (the REPL's RIFTMESH_OPERATOR_KEY); none: unsigned changes. */
  operatorKey?: string
}

/**
 * `settings.get(name?)`, `settings.set(name, value, {force}?)`, `settings.unset(name, {force}?)`,
 * `settings.describe(name?)`, `settings.useOperatorKey(file)`. With an operator key, set and unset
 * are signed in this process (operator-sign.ts); the key never reaches the node.
 */
export function makeSettingsHelpers (call: ControlCall, init: SettingsHelpersInit = { operatorKey: process.env[OPERATOR_KEY_ENV] }): Record<'get' | 'set' | 'unset' | 'describe' | 'useOperatorKey', Helper> {
  let keyFile = init.operatorKey !== undefined && init.operatorKey.length > 0 ? init.operatorKey : undefined
  let signer: EntrySigner | undefined
  const operator = async (): Promise<EntrySigner | undefined> => {
    if (keyFile === undefined) return undefined
    signer ??= await loadOperatorKey(keyFile)
    return signer
  }
  /** A set (value) or unset (null), signed when there is a key. */
  const apply = async (name: string, value: unknown, force: boolean, usage: string): Promise<Record<string, unknown>> => {
    const key = await operator()
    if (key !== undefined) return await change(async () => await signedSettingChange(call, key, { name, value, force }), usage)
    return value === null
      ? await change(async () => await call('unsetSetting', { name, force }), usage)
      : await change(async () => await call('setSetting', { name, value, force }), usage)
  }
  return {
    get: {
      usage: 'settings.get(name?)', help: 'cluster-wide settings in effect, or one of them',
      run: async (...a) => {
        const [name] = strings('settings.get(name?)', a, 0, 1)
        const all = record(await call('settings'))
        if (name !== undefined && !(name in all)) requireSettingSpec(name) // a typo is refused; a known, unset name reads null
        if (name !== undefined) return new Shown(all[name] ?? null, inspect(all[name] ?? null, { depth: 4 }))
        return new Shown(all, keyValues(all, { maxCellChars: 100 }))
      }
    },
    set: {
      usage: SET_USAGE, help: 'change a cluster-wide setting (reaches every node); a change that gives up a protection needs {force: true}',
      run: async (...a) => {
        if (a.length < 2 || a.length > 3) throw new ReplArgumentError(SET_USAGE, `expected 2 or 3 arguments, got ${a.length}`)
        const [name] = strings(SET_USAGE, a.slice(0, 1), 1, 1)
        if (a[1] === null || a[1] === undefined) throw new ReplArgumentError(SET_USAGE, 'the value is missing (settings.unset(name) removes a setting)')
        const r = await apply(name as string, a[1], forceOption(SET_USAGE, a[2]), SET_USAGE)
        return new Shown({ name: r.name, value: r.value, lost: r.lost ?? [] }, `${cell(r.name)} = ${cell(r.value)}${lostText(r.lost)}`)
      }
    },
    unset: {
      usage: UNSET_USAGE, help: 'remove a cluster-wide setting: its default applies again (on every node)',
      run: async (...a) => {
        if (a.length < 1 || a.length > 2) throw new ReplArgumentError(UNSET_USAGE, `expected 1 or 2 arguments, got ${a.length}`)
        const [name] = strings(UNSET_USAGE, a.slice(0, 1), 1, 1)
        const r = await apply(name as string, null, forceOption(UNSET_USAGE, a[1]), UNSET_USAGE)
        return new Shown({ name: r.name, wasSet: r.wasSet, lost: r.lost ?? [] }, `${cell(r.name)} ${r.wasSet === true ? 'unset' : 'was not set'}${lostText(r.lost)}`)
      }
    },
    describe: {
      usage: 'settings.describe(name?)', help: 'every cluster setting: its form, meaning, default and who reads it',
      run: async (...a) => {
        const [name] = strings('settings.describe(name?)', a, 0, 1)
        const specs = name === undefined ? CLUSTER_SETTINGS : [requireSettingSpec(name)]
        return new Shown(specs.map(({ schema: _schema, ...rest }) => rest), describeSettings(name === undefined ? undefined : specs[0]))
      }
    },
    useOperatorKey: {
      usage: KEY_USAGE, help: 'sign settings.set / settings.unset with this operator key file from now on (the key stays in this process)',
      run: async (...a) => {
        const [file] = strings(KEY_USAGE, a, 1, 1)
        const loaded = await loadOperatorKey(file as string)
        keyFile = file
        signer = loaded
        return new Shown({ operator: loaded.id }, `signing with operator ${loaded.id}`)
      }
    }
  }
}

/** The nodes table shared by `nodes()` and `riftmesh status`. */
export function nodesTable (nodes: readonly Row[]): string {
  return table(nodes.map(n => ({
    node: n.nodeId, host: n.host, gpu: n.gpu, gpuScore: n.gpuScore, cpuScore: n.cpuScore, role: n.role, health: n.health,
    load: n.load, cpu: n.cpuPercent, jobs: n.jobs
  })), { maxCellChars: 60 })
}
