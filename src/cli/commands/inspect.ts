/** Commands that ask a running node through its control socket: status, doc, settings. */
import { join } from 'node:path'
import { homedir } from 'node:os'
import { ConfigError } from '../../core/errors.js'
import { controlSocketPath } from '../../repl/control.js'
import { controlRequest } from '../control-client.js'
import type { FlagSpec, ParsedArgs } from '../args.js'
import { DEFAULT_DATA_DIR_NAME } from '../../config/defaults.js'

export const inspectFlags: readonly FlagSpec[] = [
  { name: 'data-dir', key: null, help: 'data dir of the node to ask (default ~/.riftmesh)' },
  { name: 'socket', key: null, help: 'control socket path (instead of --data-dir)' },
  { name: 'json', key: null, boolean: true, help: 'print JSON' }
]

export function socketOf (args: ParsedArgs): string {
  const socket = args.values.get('socket')
  if (typeof socket === 'string') return socket
  const dir = args.values.get('data-dir')
  return controlSocketPath(typeof dir === 'string' ? dir : join(homedir(), DEFAULT_DATA_DIR_NAME))
}

export const statusHelp = `riftmesh status [--data-dir D | --socket S] [--json]

Ask a running node for its view: peers and their health, connections, dropped messages,
document sizes.`

interface StatusReply {
  peerId: string
  cluster: string
  listen: string[]
  connected: string[]
  peers: Array<{ peer: string, health: string, silentMs: number, load: { cpuPercent: number, memoryPercent: number } }>
  nodes: Array<{ nodeId: string, host: string, cpuCount: number, hasGpu: boolean }>
  drops: { total: number }
  docBytes: Record<string, number>
  election: { role: string, leader: { nodeId: string, epoch: number } | null, mode: string, voters: string[], highestEpoch: number }
  managers?: {
    healthy: boolean
    loops: Array<{ name: string, state: string, runs: number, failures: number, lastError: string | null }>
    training: { role: string, decisions: Array<{ config: string, ready: boolean, reason: string | null, games: number }> } | null
  }
}

export async function runStatus (args: ParsedArgs, out: (s: string) => void): Promise<number> {
  const s = await controlRequest(socketOf(args), 'status') as StatusReply
  if (args.values.get('json') === true) {
    out(JSON.stringify(s, null, 2))
    return 0
  }
  out(`node ${s.peerId} (cluster ${s.cluster})`)
  out(`connected to ${s.connected.length} peer(s); ${s.drops.total} dropped message(s)`)
  const e = s.election
  out(`leader: ${e.leader === null ? 'none known' : `${e.leader.nodeId === s.peerId ? 'this node' : e.leader.nodeId} (epoch ${e.leader.epoch})`}; this node is ${e.role}; ${e.mode} mode, ${e.voters.length} voter(s)`)
  const health = new Map(s.peers.map(p => [p.peer, p]))
  out('')
  out(`${'NODE'.padEnd(54)} ${'HOST'.padEnd(20)} ${'CPUS'.padStart(4)} GPU  ${'HEALTH'.padEnd(8)} ${'CPU%'.padStart(5)}`)
  for (const n of s.nodes) {
    const h = n.nodeId === s.peerId ? { health: 'SELF', load: { cpuPercent: NaN } } : health.get(n.nodeId)
    const cpu = h !== undefined && Number.isFinite(h.load.cpuPercent) ? h.load.cpuPercent.toFixed(0) : '-'
    out(`${n.nodeId.padEnd(54)} ${n.host.slice(0, 20).padEnd(20)} ${String(n.cpuCount).padStart(4)} ${n.hasGpu ? 'yes' : 'no '}  ${(h?.health ?? '?').padEnd(8)} ${cpu.padStart(5)}`)
  }
  out('')
  out(`documents: ${Object.entries(s.docBytes).map(([d, b]) => `${d} ${b} B`).join(', ')}`)
  const m = s.managers
  if (m !== undefined) {
    out(`loops: ${m.loops.map(l => `${l.name} ${l.state} (${l.runs} runs${l.failures > 0 ? `, ${l.failures} failed: ${l.lastError ?? ''}` : ''})`).join('; ')}`)
    const t = m.training
    if (t !== null && t.decisions.length > 0) {
      out(`training readiness (${t.role}): ${t.decisions.map(d => `${d.config} ${d.games} games ${d.ready ? 'ready' : d.reason ?? ''}`).join('; ')}`)
    }
  }
  return 0
}

export const docHelp = `riftmesh doc [--data-dir D | --socket S]

Print a running node's cluster documents as JSON.`

export async function runDoc (args: ParsedArgs, out: (s: string) => void): Promise<number> {
  out(JSON.stringify(await controlRequest(socketOf(args), 'doc'), null, 2))
  return 0
}

export const settingsHelp = `riftmesh settings [get [NAME] | set NAME JSON_VALUE] [--data-dir D | --socket S]

Read or change cluster-wide settings through a running node; a change reaches every node.
Values are JSON: riftmesh settings set voters '["12D3KooW…", "12D3KooW…"]'`

export async function runSettings (args: ParsedArgs, out: (s: string) => void): Promise<number> {
  const [verb = 'get', name, raw] = args.positionals
  const socket = socketOf(args)
  if (verb === 'get') {
    const all = await controlRequest(socket, 'settings') as Record<string, unknown>
    out(JSON.stringify(name === undefined ? all : all[name] ?? null, null, 2))
    return 0
  }
  if (verb === 'set') {
    if (name === undefined || raw === undefined) throw new ConfigError('settings set', 'NAME JSON_VALUE', 'missing arguments')
    let value: unknown
    try {
      value = JSON.parse(raw)
    } catch {
      value = raw // a bare word is a string
    }
    const r = await controlRequest(socket, 'setSetting', { name, value })
    out(JSON.stringify(r))
    return 0
  }
  throw new ConfigError('settings', 'get or set', `got ${JSON.stringify(verb)}`)
}
