/** Commands that ask a running node through its control socket: status, doc, settings. */
import { join } from 'node:path'
import { homedir } from 'node:os'
import { setTimeout as delay } from 'node:timers/promises'
import { ConfigError, errorMessage } from '../../core/errors.js'
import { attach } from '../../repl/attach.js'
import { DEFAULT_STATUS_WIDTH, gatherSummary, renderSummary } from '../../repl/status-view.js'
import { ControlError, controlSocketPath } from '../../repl/control.js'
import { describeSettings, requireSettingSpec } from '../../state/settings-registry.js'
import { controlRequest } from '../control-client.js'
import type { FlagSpec, ParsedArgs } from '../args.js'
import { UsageError, subcommandError } from '../usage.js'
import { DEFAULT_DATA_DIR_NAME } from '../../config/defaults.js'
import { withTrustLines } from '../../repl/trust-view.js'
import { NO_OPERATORS_WARNING, operatorKeyFlag, operatorKeyOf, signedSettingsChange } from './settings-signing.js'

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

/** The terminal's width when stdout is one (at least 40 columns), else DEFAULT_STATUS_WIDTH. */
function statusWidth (): number {
  return process.stdout.isTTY && process.stdout.columns > 0 ? Math.max(40, process.stdout.columns) : DEFAULT_STATUS_WIDTH
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
        const [summary, trust] = await Promise.all([gatherSummary(call), call('trust')])
        text = json ? JSON.stringify({ ...summary, trust }, null, watch ? undefined : 2) : withTrustLines(renderSummary(summary, { width: statusWidth() }), trust, statusWidth())
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

export const settingsFlags: readonly FlagSpec[] = [
  ...inspectFlags,
  { name: 'force', key: null, boolean: true, help: 'set or unset even when the change gives up a protection (it prints which)' },
  operatorKeyFlag
]

export const settingsHelp = `riftmesh settings get [NAME] | set NAME JSON_VALUE [--force] | unset NAME [--force] | describe [NAME]
                  [--data-dir D | --socket S] [--operator-key FILE]

Read or change cluster-wide settings through a running node; a change reaches every node.
Values are JSON (a bare word is a string): riftmesh settings set staticPriority '{"hex8_2p": 8}'
An unknown name or a value of the wrong form is refused. A change of voters or leaders that
gives up a protection (fewer than 3 voters, voters not alive, a majority of unknown peer ids,
no listed leader alive) is refused unless --force; unset goes back to the default. describe needs no node. Once the cluster has
operator keys (trust.operators), set and unset are signed with --operator-key FILE (or
RIFTMESH_OPERATOR_KEY); the key stays on this machine.

Settings:
${describeSettings()}`

/** The one line a refused change ends with: how to force it. */
const FORCE_HINT = '; add --force to do it anyway'

async function settingsChange (socket: string, op: 'setSetting' | 'unsetSetting', args: Record<string, unknown>): Promise<Record<string, unknown>> {
  try {
    return await controlRequest(socket, op, args) as Record<string, unknown>
  } catch (err) {
    if (err instanceof ControlError && err.remoteName === 'UnsafeSettingError') throw new ControlError(`${err.message}${FORCE_HINT}`)
    throw err
  }
}

/** A forced change that gave up protections: one warning line naming them. */
function warnLost (what: string, lost: unknown): void {
  if (Array.isArray(lost) && lost.length > 0) process.stderr.write(`warning: ${what} with --force gives up ${lost.map(String).join('; and ')}\n`)
}

function parseValue (raw: string): unknown {
  try {
    return JSON.parse(raw)
  } catch {
    return raw // a bare word is a string
  }
}

export async function runSettings (args: ParsedArgs, out: (s: string) => void): Promise<number> {
  const [verb = 'get', name, raw, ...extra] = args.positionals
  const socket = socketOf(args)
  const force = args.values.get('force') === true
  const keyFile = operatorKeyOf(args)
  const arity = (usage: string, ok: boolean): void => {
    if (!ok || extra.length > 0) throw new UsageError(`wrong number of arguments: got ${[name, raw, ...extra].filter(a => a !== undefined).length} (quote a JSON value as one argument)`, `riftmesh settings ${verb} ${usage}`)
  }
  switch (verb) {
    case 'describe':
      arity('[NAME]', raw === undefined)
      out(describeSettings(name === undefined ? undefined : requireSettingSpec(name)))
      return 0
    case 'get': {
      arity('[NAME]', raw === undefined)
      const all = await controlRequest(socket, 'settings') as Record<string, unknown>
      if (name !== undefined && !(name in all)) requireSettingSpec(name) // a typo is refused; a known, unset name reads null
      out(JSON.stringify(name === undefined ? all : all[name] ?? null, null, 2))
      return 0
    }
    case 'set': {
      arity('NAME JSON_VALUE', name !== undefined && raw !== undefined)
      const r = keyFile !== undefined
        ? await signedSettingsChange(socket, keyFile, { name: name as string, value: parseValue(raw as string), force }, FORCE_HINT)
        : { ...await settingsChange(socket, 'setSetting', { name, value: parseValue(raw as string), force }), legacy: true } as Record<string, unknown>
      warnLost(`setting ${String(name)}`, r.lost)
      if (r.legacy === true) process.stderr.write(`${NO_OPERATORS_WARNING}\n`)
      out(JSON.stringify({ name: r.name, value: r.value }))
      return 0
    }
    case 'unset': {
      arity('NAME', name !== undefined && raw === undefined)
      const r = keyFile !== undefined
        ? await signedSettingsChange(socket, keyFile, { name: name as string, value: null, force }, FORCE_HINT)
        : { ...await settingsChange(socket, 'unsetSetting', { name, force }), legacy: true } as Record<string, unknown>
      warnLost(`unsetting ${String(name)}`, r.lost)
      if (r.legacy === true && r.wasSet === true) process.stderr.write(`${NO_OPERATORS_WARNING}\n`)
      out(r.wasSet === true ? `${String(name)} unset` : `${String(name)} was not set`)
      return 0
    }
    default:
      throw subcommandError(verb, ['get', 'set', 'unset', 'describe'], 'riftmesh settings get|set|unset|describe …')
  }
}
