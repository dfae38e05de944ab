/** Commands that ask a running node through its control socket: status, doc, settings. */
import { join } from 'node:path'
import { homedir } from 'node:os'
import { setTimeout as delay } from 'node:timers/promises'
import { ConfigError, errorMessage } from '../../core/errors.js'
import { attach } from '../../repl/attach.js'
import { gatherSummary, renderSummary } from '../../repl/status-view.js'
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

export const statusFlags: readonly FlagSpec[] = [
  ...inspectFlags,
  { name: 'watch', key: null, boolean: true, help: 'redraw every --interval seconds until Ctrl-C' },
  { name: 'interval', key: null, help: 'seconds between two redraws with --watch (default 2)' },
  { name: 'count', key: null, help: 'with --watch: stop after this many redraws' }
]

export const statusHelp = `riftmesh status [--data-dir D | --socket S] [--json] [--watch [--interval S] [--count N]]

A running node's view of the cluster: every node (GPU, scores, role, health, load, jobs), the
leader with its epoch and the lease time left, running jobs, sync state, document size.
--json prints the same summary as one JSON object (one per redraw with --watch).`

/** Default seconds between two --watch redraws. @default 2 */
export const DEFAULT_WATCH_INTERVAL_S = 2
/** Most redraws of one --watch. */
export const MAX_WATCH_COUNT = 1_000_000

function positiveFlag (args: ParsedArgs, name: string, fallback: number, max: number): number {
  const raw = args.values.get(name)
  if (raw === undefined) return fallback
  const v = Number(raw)
  if (!(Number.isFinite(v) && v > 0 && v <= max)) throw new ConfigError(`--${name}`, `a number > 0 and ≤ ${max}`, `got ${String(raw)}`)
  return v
}

export async function runStatus (args: ParsedArgs, out: (s: string) => void): Promise<number> {
  const call = attach(socketOf(args))
  const json = args.values.get('json') === true
  const watch = args.values.get('watch') === true
  const intervalMs = positiveFlag(args, 'interval', DEFAULT_WATCH_INTERVAL_S, 86_400) * 1_000
  const count = watch ? Math.floor(positiveFlag(args, 'count', MAX_WATCH_COUNT, MAX_WATCH_COUNT)) : 1
  const clear = watch && !json && process.stdout.isTTY
  let stop = false
  const onSigint = (): void => { stop = true }
  if (watch) process.once('SIGINT', onSigint)
  try {
    for (let i = 0; i < count && !stop; i++) {
      if (i > 0) await delay(intervalMs)
      let text: string
      try {
        const summary = await gatherSummary(call)
        text = json ? JSON.stringify(summary, null, watch ? undefined : 2) : renderSummary(summary)
      } catch (err) {
        if (!watch) throw err
        text = `error: ${errorMessage(err)}` // a watch outlives a node restart
      }
      out(clear ? `\x1b[2J\x1b[H${text}` : text)
    }
  } finally {
    process.off('SIGINT', onSigint)
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
