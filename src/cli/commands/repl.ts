/** `riftmesh repl`: the debug REPL attached to a running node's control socket. */
import { mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { homedir } from 'node:os'
import { SystemClock } from '../../core/clock.js'
import { errorMessage } from '../../core/errors.js'
import { DEFAULT_DATA_DIR_NAME } from '../../config/defaults.js'
import { assertAttachable, attach } from '../../repl/attach.js'
import { assertScriptSucceeded, startReplSession, type ReplSession } from '../../repl/session.js'
import type { ParsedArgs } from '../args.js'
import { inspectFlags, socketOf } from './inspect.js'

export const REPL_HISTORY_FILE_NAME = 'repl_history'

export const replFlags = inspectFlags

export const replHelp = `riftmesh repl [--data-dir D | --socket S] [--json]

Attach a debug REPL to a running node (its control socket, <data-dir>/control.sock). Helpers
— peers(), nodes(), leader(), jobs({state, node, type}), job(id), manifest(node), plan(),
rankings(), whyNot(config), settings.get(name), settings.set(name, value), dispatch(spec),
cancel(id), elo(), metrics(), doc() — print tables; .help lists them, .json (or --json)
switches to one JSON line per result for scripting. History is kept in the data dir (or
~/${DEFAULT_DATA_DIR_NAME} with --socket). The socket is refused unless it is 0600 in a directory only
its owner can write. Piped input runs line by line, in order; the command exits 1 when any
input failed (each prints its error where it ran).`

export interface OpenReplOptions {
  /** Print results as JSON lines. @default false */
  json?: boolean
  /** Called once the session is up (e.g. to write log lines around its prompt). */
  onStart?: (session: ReplSession) => void
}

/**
 * Open the REPL on `socket` over this process's stdin/stdout; resolves when the user leaves.
 * Input that is not a terminal (a piped script) runs in order and rejects with ReplScriptError
 * when any of its inputs failed.
 */
export async function openRepl (socket: string, historyFile: string, options: OpenReplOptions = {}): Promise<void> {
  const call = attach(socket)
  const clock = new SystemClock()
  // ~/.riftmesh may not exist yet on a machine that only attaches; without it there is no history, nothing worse
  await mkdir(dirname(historyFile), { recursive: true, mode: 0o700 }).catch((err: unknown) => {
    process.stderr.write(`warning: no REPL history: ${errorMessage(err)}\n`)
  })
  const terminal = process.stdin.isTTY && process.stdout.isTTY
  const session = await startReplSession({
    call,
    input: process.stdin,
    output: process.stdout,
    terminal,
    json: options.json ?? false,
    historyFile,
    target: socket,
    nowMs: () => clock.nowMs()
  })
  options.onStart?.(session)
  await session.closed
  assertScriptSucceeded(session, terminal)
}

export async function runRepl (args: ParsedArgs): Promise<number> {
  const socket = socketOf(args)
  const dir = args.values.get('data-dir')
  const historyDir = typeof dir === 'string' ? dir : args.values.has('socket') ? join(homedir(), DEFAULT_DATA_DIR_NAME) : dirname(socket)
  // a socket anyone could use or replace is refused outright; an absent node is only reported
  try {
    await assertAttachable(socket)
  } catch (err) {
    if (!/cannot reach/.test(errorMessage(err))) throw err
    // on stderr: stdout is for results (one JSON line each with --json)
    process.stderr.write(`warning: ${errorMessage(err)}; helpers fail until a node listens there\n`)
  }
  await openRepl(socket, join(historyDir, REPL_HISTORY_FILE_NAME), { json: args.values.get('json') === true })
  return 0
}
