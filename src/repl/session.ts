/**
 * The debug REPL: a real `node:repl` (history, tab completion, multi-line input, `await`) whose
 * context holds the helpers of ./helpers.ts. A helper's promise is awaited before printing;
 * results print as tables, or as one JSON line each in JSON mode (`--json`, `.json`). Any error
 * — a syntax error, an unknown name, bad arguments, an unreachable node — prints one line and
 * the session goes on.
 */
import repl, { type REPLServer } from 'node:repl'
import { inspect } from 'node:util'
import { clearScreenDown, cursorTo, moveCursor } from 'node:readline'
import { RiftmeshError, errorMessage } from '../core/errors.js'
import type { TerminalLine } from '../core/logger.js'
import type { ControlCall } from './attach.js'
import { Shown, makeHelpers, makeSettingsHelpers, type Helper } from './helpers.js'
import { makeEvaluator, type EvaluatorTally } from './evaluate.js'

export const DEFAULT_PROMPT = 'riftmesh> '

export interface ReplSessionInit {
  call: ControlCall
  input: NodeJS.ReadableStream
  output: NodeJS.WritableStream
  /** Line editing, history and colours (a TTY). @default false */
  terminal?: boolean
  /** Print results as JSON lines. @default false */
  json?: boolean
  /** Where the history is kept (terminal sessions only). */
  historyFile?: string
  /** What the banner says it is attached to. */
  target: string
  /** Wall-clock ms, for "… ago" columns. */
  nowMs: () => number
}

export interface ReplSession extends TerminalLine {
  server: REPLServer
  /** Resolves when the user leaves (`.exit`, Ctrl-D, end of input) and every pending helper has printed. */
  closed: Promise<void>
  /** Inputs run so far and those that failed. */
  tally: () => EvaluatorTally
}

/** One line of help per helper, aligned. */
export function helpText (helpers: readonly Helper[]): string {
  const w = Math.max(...helpers.map(h => h.usage.length))
  return [
    ...helpers.map(h => `  ${h.usage.padEnd(w)}  ${h.help}`),
    '',
    `  ${'.json'.padEnd(w)}  switch between tables and JSON output`,
    `  ${'.exit'.padEnd(w)}  leave the REPL (Ctrl-D too)`,
    'Helpers are async; their results print when they arrive. Plain JavaScript works too: (await jobs()).data'
  ].join('\n')
}

const isError = (e: unknown): e is { name: string, message: string } =>
  typeof e === 'object' && e !== null && typeof (e as { name?: unknown }).name === 'string' && typeof (e as { message?: unknown }).message === 'string'

function describeError (err: unknown): string {
  // errors thrown by input come from the REPL's own realm: tell them apart by name
  if (isError(err) && err.name === 'ReferenceError') {
    const m = /^(\S+) is not defined/.exec(err.message)
    if (m !== null) return `unknown name ${m[1] as string} (.help lists the helpers)`
  }
  if (isError(err) && err.name !== 'Error' && !(err instanceof RiftmeshError)) return `${err.name}: ${err.message}`
  if (isError(err)) return err.message
  return errorMessage(err)
}

/** Inputs of a piped script that failed (each printed its error where it ran): the script fails. */
export class ReplScriptError extends RiftmeshError {
  constructor (tally: EvaluatorTally) {
    const first = tally.firstFailure
    const which = first !== undefined ? `; the first, input ${first.input}: ${describeError(first.err)}` : ''
    super(`${tally.failed} of ${tally.inputs} input(s) failed${which}`, 'ERR_REPL_SCRIPT')
    this.name = 'ReplScriptError'
  }
}

/** Throws ReplScriptError when an input of a session that was not on a terminal failed. */
export function assertScriptSucceeded (session: ReplSession, terminal: boolean): void {
  const tally = session.tally()
  if (!terminal && tally.failed > 0) throw new ReplScriptError(tally)
}

export async function startReplSession (init: ReplSessionInit): Promise<ReplSession> {
  const terminal = init.terminal ?? false
  let json = init.json ?? false
  const helpers = makeHelpers(init.call, init.nowMs)
  const settings = makeSettingsHelpers(init.call)
  const all = [...Object.values(helpers), ...Object.values(settings)]
  const format = (v: unknown): string => {
    if (json) return JSON.stringify(v instanceof Shown ? v.data : v) ?? 'null'
    return v instanceof Shown ? v.text : inspect(v, { colors: terminal, depth: 4 })
  }
  let open = true
  /**
   * Output that arrives while the prompt is up (a late result, a log line): in a terminal, clear
   * the prompt and the input being typed (every row it wraps over), write, then redraw both
   * below with the cursor where it was.
   */
  const aside = (write: () => void): void => {
    if (!terminal || !open) { write(); return }
    const rows = server.getCursorPos().rows
    moveCursor(init.output, 0, -rows)
    cursorTo(init.output, 0)
    clearScreenDown(init.output)
    write()
    // readline redraws from as many rows above the cursor as it last drew the input over
    // (`prevRows`, which lags behind when a paste wraps): put the cursor that far below
    const drawnRows = (server as unknown as { prevRows?: number }).prevRows ?? rows
    if (drawnRows > 0) init.output.write('\n'.repeat(drawnRows))
    server.displayPrompt(true)
  }
  const show = (text: string): void => { aside(() => init.output.write(`${text}\n`)) }
  const { evaluate, state } = makeEvaluator(v => show(format(v)), err => {
    const message = describeError(err)
    show(json ? JSON.stringify({ error: message, name: isError(err) ? err.name : 'Error' }) : `error: ${message}`)
  })
  if (!json) init.output.write(`attached to ${init.target}; .help lists the helpers, .exit leaves\n`)
  const server = repl.start({
    eval: evaluate,
    prompt: terminal ? DEFAULT_PROMPT : '',
    input: init.input,
    output: init.output,
    terminal,
    useColors: terminal,
    ignoreUndefined: true,
    preview: false,
    writer: format
  })
  for (const [name, h] of Object.entries(helpers)) server.context[name] = h.run
  server.context.settings = Object.fromEntries(Object.entries(settings).map(([k, h]) => [k, h.run]))
  // commands take effect after the inputs before them have printed (a piped `.json` mid-script)
  server.defineCommand('help', {
    help: 'list the helpers',
    action () { state.enqueue(() => show(helpText(all))) }
  })
  server.defineCommand('json', {
    help: 'switch between tables and JSON output',
    action () { state.enqueue(() => { json = !json; show(`output: ${json ? 'JSON' : 'tables'}`) }) }
  })
  if (terminal && init.historyFile !== undefined) {
    const file = init.historyFile
    await new Promise<void>(resolve => server.setupHistory(file, err => {
      if (err !== null) show(`warning: no history (${errorMessage(err)})`)
      resolve()
    }))
  }

  const closed = new Promise<void>(resolve => {
    // from here on the prompt is gone: results still pending print as plain lines
    server.on('exit', () => { open = false; state.idle().then(resolve, resolve) })
  })
  return { server, closed, tally: state.tally, aside }
}
