/**
 * The REPL's evaluator: runs one input in the REPL's context with `vm`, awaits a returned
 * promise (so `jobs()` prints its table, not `Promise { <pending> }`), accepts `await` at top
 * level, and hands every error to `onError` instead of the REPL's "Uncaught …" printer. Inputs
 * run one at a time, in order, each awaited before the next, so a piped script prints its
 * results in sequence; the failed ones are counted (a piped script exits non-zero).
 */
import repl from 'node:repl'
import { Script, type Context } from 'node:vm'

export type EvalCallback = (err: Error | null, result: unknown) => void
export type Evaluate = (cmd: string, context: Context, file: string, cb: EvalCallback) => void

function isThenable (v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function'
}

/** Input that may go on: the parser ran out of text (an open bracket, string template or block). */
function incomplete (err: unknown): boolean {
  return err instanceof SyntaxError && /Unexpected end of input|Unterminated template/.test(err.message)
}

/**
 * Compile an input: `{…}` as an object literal first (as node's REPL does), then as written;
 * with top-level `await`, inside an async function (returning the value of an expression).
 */
export function compile (cmd: string, file: string): Script {
  const code = cmd.trim()
  const tries: string[] = []
  if (/^\{/.test(code) && !/;\s*$/.test(code)) tries.push(`(${code})`)
  tries.push(code)
  if (/\bawait\b/.test(code)) tries.push(`(async () => (${code.replace(/;\s*$/, '')}))()`, `(async () => { ${code} })()`)
  let first: unknown
  for (const t of tries) {
    try {
      return new Script(t, { filename: file })
    } catch (err) {
      first ??= err
      if (incomplete(err)) throw err
    }
  }
  throw first
}

export interface EvaluatorState {
  /** Inputs started but not yet printed. */
  pending: () => number
  /** Resolves once nothing is pending. */
  idle: () => Promise<void>
  /** Inputs run so far, and those that failed (the first with its number and error). */
  tally: () => EvaluatorTally
  /** Run `action` after every input given so far has printed (REPL commands such as .json, in order). */
  enqueue: (action: () => void) => void
}

export interface EvaluatorTally {
  inputs: number
  failed: number
  /** The first failed input: its number (1 = the first input) and its error. */
  firstFailure?: { input: number, err: unknown }
}

/**
 * `print` shows a result and `onError` an error, both in input order. The REPL itself is
 * answered at once (nothing to print), so it never waits on the node and never clears a
 * multi-line input that arrived meanwhile.
 */
export function makeEvaluator (print: (result: unknown) => void, onError: (err: unknown) => void): { evaluate: Evaluate, state: EvaluatorState } {
  let pending = 0
  let queue: Promise<void> = Promise.resolve()
  const tally: EvaluatorTally = { inputs: 0, failed: 0 }
  const failed = (input: number) => (err: unknown): void => {
    tally.failed++
    tally.firstFailure ??= { input, err }
    onError(err)
  }
  const run = async (script: Script, context: Context): Promise<void> => {
    let result = script.runInContext(context, { displayErrors: false }) as unknown
    if (isThenable(result)) result = await result
    if (result === undefined) return
    print(result)
  }
  const evaluate: Evaluate = (cmd, context, file, cb) => {
    let script: Script | undefined
    let compileError: unknown
    try {
      script = compile(cmd, file)
    } catch (err) {
      if (incomplete(err)) { cb(new repl.Recoverable(err as SyntaxError), undefined); return }
      compileError = err
    }
    pending++
    const input = ++tally.inputs
    queue = queue.then(async () => {
      if (script === undefined) throw compileError
      await run(script, context)
    }).catch(failed(input)).finally(() => { pending-- })
    cb(null, undefined)
  }
  const enqueue = (action: () => void): void => {
    pending++
    queue = queue.then(action).catch(onError).finally(() => { pending-- })
  }
  return {
    evaluate,
    state: { pending: () => pending, idle: async () => { while (pending > 0) await queue }, tally: () => ({ ...tally }), enqueue }
  }
}
