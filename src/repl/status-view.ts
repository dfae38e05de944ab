/**
 * `riftmesh status`: one node's view of the cluster gathered from its control ops (status,
 * nodes, lease, jobs, sync) into one summary — as JSON for scripts, or as text tables.
 */
import type { ControlCall } from './attach.js'
import { bytes, duration, table, uniquePrefixes, wrapText, type Row } from './format.js'
import type { MeshReport } from '../node/peer-manager.js'
import { meshTable } from './mesh-view.js'
import { readinessText } from '../managers/training.js'
import { hasQuorum, quorumText, type QuorumView } from '../election/transitions.js'
import type { NoLeader } from '../election/no-leader.js'
import { MIN_MAJORITY_VOTERS } from '../state/settings-registry.js'
import type { ClockHealth, StoreHealth } from '../node/metrics-snapshot.js'
import { clockLines, storeLines } from './health-view.js'

export interface ClusterSummary {
  self: string
  cluster: string
  leader: {
    nodeId: string | null, epoch: number | null, isLeader: boolean, role: string, leaseRemainingMs: number | null, mode: string, voters: string[], highestEpoch: number
    /** Majority mode: voters and how many this node sees alive (null in epoch mode, right after a start, and from older nodes). */
    quorum?: QuorumView | null
    /** Why no leader is known, e.g. `{ cause: 'no-quorum', text: '1 of 3 voters alive, 2 needed' }`; null while one is (absent from older nodes). */
    noLeader?: NoLeader | null
  }
  nodes: Row[]
  runningJobs: Row[]
  jobsByState: Record<string, number>
  sync: Record<string, unknown> | null
  documents: { totalBytes: number, byDoc: Record<string, number> }
  drops: number
  loops: Array<{ name: string, state: string, runs: number, failures: number, lastError: string | null }>
  training: { role: string, decisions: Array<{ config: string, ready: boolean, reason: string | null, games: number, why?: string | null }> } | null
  /** Self-play backpressure as this node sees it (null from nodes older than it). */
  selfplay: SelfplayStatus | null
  /** Connections to the other members: per peer connected or not, the address in use, the last dial error. */
  mesh: MeshReport | null
  /** Why this node does not stand for leader, when it does not. */
  notStanding: string | null
  /** Whether this node's store persists (null or absent from older nodes). */
  store?: StoreHealth | null
  /** Peers whose clock is off (null or absent from older nodes). */
  clock?: ClockHealth | null
}

export interface SelfplayStatus {
  active: boolean
  /** Why new self-play is paused cluster-wide; null while it runs. */
  cause: string | null
  untrainedGames: number
  maxUntrainedGames: number
}

interface StatusReply {
  peerId: string
  cluster: string
  drops: { total: number }
  docBytes: Record<string, number>
  managers?: { loops: ClusterSummary['loops'], training: ClusterSummary['training'], selfplay?: SelfplayStatus }
  mesh?: MeshReport
  election?: { notStanding?: string | null }
  store?: StoreHealth
  clock?: ClockHealth
}

/** Ask the node for everything the summary shows (five requests). */
export async function gatherSummary (call: ControlCall): Promise<ClusterSummary> {
  const [status, nodes, lease, jobs, sync] = await Promise.all([
    call('status') as Promise<StatusReply>,
    call('nodes') as Promise<Row[]>,
    call('lease') as Promise<ClusterSummary['leader'] & { leader: string | null }>,
    call('jobs') as Promise<Row[]>,
    call('sync') as Promise<Record<string, unknown> | null>
  ])
  const jobsByState: Record<string, number> = {}
  for (const j of jobs) jobsByState[String(j.state)] = (jobsByState[String(j.state)] ?? 0) + 1
  return {
    self: status.peerId,
    cluster: status.cluster,
    leader: {
      nodeId: lease.leader, epoch: lease.epoch, isLeader: lease.isLeader, role: lease.role, leaseRemainingMs: lease.leaseRemainingMs,
      mode: lease.mode, voters: lease.voters, highestEpoch: lease.highestEpoch, quorum: lease.quorum ?? null, noLeader: lease.noLeader ?? null
    },
    nodes,
    runningJobs: jobs.filter(j => j.state === 'RUNNING' || j.state === 'PENDING'),
    jobsByState,
    sync,
    documents: { totalBytes: Object.values(status.docBytes).reduce((a, b) => a + b, 0), byDoc: status.docBytes },
    drops: status.drops.total,
    loops: status.managers?.loops ?? [],
    training: status.managers?.training ?? null,
    selfplay: status.managers?.selfplay === undefined ? null : selfplayStatus(status.managers.selfplay),
    mesh: status.mesh ?? null,
    notStanding: status.election?.notStanding ?? null,
    store: status.store ?? null,
    clock: status.clock ?? null
  }
}

/** Only the fields the summary shows (the control op sends more). */
function selfplayStatus (s: SelfplayStatus): SelfplayStatus {
  return { active: s.active, cause: s.cause, untrainedGames: s.untrainedGames, maxUntrainedGames: s.maxUntrainedGames }
}

/** `selfplay: paused — <cause>` while backpressure holds, else how far the untrained backlog is from its limit. */
export function selfplayLine (s: SelfplayStatus | null): string[] {
  if (s === null) return []
  if (s.active) return [`selfplay: paused — ${s.cause ?? 'backpressure'}`]
  return [`selfplay: running; ${s.untrainedGames} untrained game(s) of ${s.maxUntrainedGames} before backpressure`]
}

/** The mesh line, a warning while isolated, and the members table (peers by their `short` ids). */
function meshLines (m: MeshReport | null, short: (id: string) => string): string[] {
  if (m === null) return []
  const lines = [`mesh: ${m.summary}`]
  if (m.warning !== null) lines.push(`WARNING ${m.warning}`)
  if (m.peers.length > 0) lines.push(meshTable({ ...m, peers: m.peers.map(p => ({ ...p, nodeId: short(p.nodeId) })) }))
  return lines
}

/** Epoch mode gives up split-brain protection: `status` says so on its own line whenever it runs in it. */
export function epochModeWarning (l: Pick<ClusterSummary['leader'], 'mode' | 'voters'>): string | null {
  if (l.mode !== 'epoch') return null
  const why = l.voters.length < MIN_MAJORITY_VOTERS ? `${l.voters.length} voter(s), fewer than ${MIN_MAJORITY_VOTERS}` : 'election.mode is epoch'
  return `WARNING epoch mode (${why}): no split-brain protection, each side of a network partition may elect its own leader; ` +
    'name 3 or 5 voters: riftmesh settings set voters \'["<peer id>", …]\''
}

/** Width `status` fits its text to when the terminal's is not known (piped output). @default 80 */
export const DEFAULT_STATUS_WIDTH = 80

export interface RenderInit {
  /** No line is longer: tables narrow their text columns, other lines wrap. @default DEFAULT_STATUS_WIDTH */
  width?: number
}

/** `leader: <id> (epoch …, lease …)`, or `leader: none — <why>` (the node's own reason, else the quorum from older nodes). */
export function leaderText (l: ClusterSummary['leader'], self: string, short: (id: string) => string): string {
  if (l.nodeId !== null) {
    return `leader: ${l.nodeId === self ? 'this node' : short(l.nodeId)} (epoch ${l.epoch ?? '-'}, lease ${l.leaseRemainingMs === null ? 'unknown' : `${duration(l.leaseRemainingMs)} left`})`
  }
  const q = l.quorum ?? null
  const why = l.noLeader?.text ?? (q !== null && !hasQuorum(q) ? quorumText(q) : null)
  return why === null ? 'leader: none known' : `leader: none — ${why}`
}

/** Every peer id the summary shows, mapped to its shortest unique prefix among them. */
function idPrefixes (s: ClusterSummary): Map<string, string> {
  return uniquePrefixes([s.self, ...s.nodes.map(n => String(n.nodeId)), ...s.runningJobs.map(j => String(j.node)), ...(s.mesh?.peers.map(p => p.nodeId) ?? []),
    ...(s.clock?.skewed.map(c => c.peer) ?? []), ...(s.leader.nodeId === null ? [] : [s.leader.nodeId])])
}

/** A free-text line (a reason from the node) with every full peer id it names replaced by its prefix. */
function withShortIds (line: string, prefixes: ReadonlyMap<string, string>): string {
  let out = line
  for (const [id, prefix] of prefixes) if (id !== prefix && out.includes(id)) out = out.split(id).join(prefix)
  return out
}

function nodeRows (s: ClusterSummary, short: (id: string) => string): Row[] {
  return s.nodes.map(n => ({
    node: short(String(n.nodeId)), host: n.host, gpu: n.gpu, role: n.role, health: n.health, load: n.load, cpu: n.cpuPercent, jobs: n.jobs
  }))
}

/** One line per alive node that gets no new work and why (dead and suspect ones show in the table's HEALTH already). */
function unfitLines (s: ClusterSummary, short: (id: string) => string): string[] {
  return s.nodes.filter(n => n.health === 'ALIVE' && typeof n.unfit === 'string').map(n => `no new work for ${short(String(n.nodeId))}: ${String(n.unfit)}`)
}

function trainingLines (t: ClusterSummary['training']): string[] {
  if (t === null) return []
  if (t.decisions.length === 0) return [`training readiness (${t.role}): no config decided yet`]
  return [`training readiness (${t.role}):`, ...t.decisions.map(d => `  ${d.config} ${d.games} games ${readinessText(d)}`)]
}

/** The summary as text: no line longer than `width`, peers by short unique id prefixes, empty lists said in words. */
export function renderSummary (s: ClusterSummary, init: RenderInit = {}): string {
  const width = init.width ?? DEFAULT_STATUS_WIDTH
  if (!(Number.isInteger(width) && width >= 40)) throw new RangeError('renderSummary needs a width ≥ 40')
  const prefixes = idPrefixes(s)
  const short = (id: string): string => prefixes.get(id) ?? id
  const l = s.leader
  const alive = s.nodes.filter(n => n.health === 'ALIVE').length
  const sync = s.sync === null ? 'off' : `${String(s.sync.state)}${typeof s.sync.lastError === 'string' ? ` (${s.sync.lastError})` : ''}`
  const totals = (s.sync?.totals ?? {}) as Record<string, number>
  const cur = (s.sync?.current ?? null) as { done: number, planned: number, bytesDone: number } | null
  const pulling = cur === null ? '' : `; pulling ${cur.done}/${cur.planned} file(s), ${bytes(cur.bytesDone)} so far`
  const failing = s.loops.filter(x => x.failures > 0)
  const fit = { maxLineChars: width, fixedColumns: ['node'] }
  const jobs = Object.entries(s.jobsByState).map(([k, n]) => `${n} ${k}`).join(', ')
  const lines = [
    `cluster ${s.cluster}, seen from ${short(s.self)}`,
    leaderText(l, s.self, short),
    `election: ${l.mode} mode, ${l.voters.length} voter(s); this node is ${l.role}`,
    ...[epochModeWarning(l)].filter(w => w !== null),
    `nodes: ${s.nodes.length} (${alive} alive)`,
    ...meshLines(s.mesh, short),
    ...(s.notStanding !== null ? [`WARNING not standing for leader: ${s.notStanding}`] : []),
    ...storeLines(s.store ?? null),
    ...clockLines(s.clock ?? null, short),
    ...(s.nodes.length === 0 ? [] : ['', table(nodeRows(s, short), fit), ...unfitLines(s, short)]),
    '',
    ...selfplayLine(s.selfplay),
    `jobs: ${jobs === '' ? 'none' : jobs}`,
    s.runningJobs.length === 0
      ? 'running jobs: none'
      : table(s.runningJobs.map(j => ({ jobId: j.jobId, type: j.type, config: j.config, node: short(String(j.node)), state: j.state, attempt: j.attempt })), fit),
    '',
    `sync: ${sync}${pulling}; received ${totals.filesReceived ?? 0} file(s), ${bytes(totals.bytesReceived ?? 0)}`,
    `documents: ${bytes(s.documents.totalBytes)} in ${Object.keys(s.documents.byDoc).length} doc(s); ${s.drops} dropped message(s)`,
    failing.length === 0 ? `loops: ${s.loops.length} healthy` : `loops failing: ${failing.map(x => `${x.name} (${x.failures}: ${x.lastError ?? ''})`).join('; ')}`,
    ...trainingLines(s.training)
  ]
  // tables fit already; every other line wraps, its continuation indented under its own indent
  return lines.join('\n').split('\n').map(line => withShortIds(line, prefixes)).flatMap(line => {
    if (line.length <= width) return [line]
    const lead = /^ */.exec(line)?.[0] ?? ''
    return wrapText(line.slice(lead.length), width - lead.length).map(w => `${lead}${w}`)
  }).join('\n')
}
