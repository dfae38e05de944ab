/** Runs the built `riftmesh` command as a user would, for integration tests. */
import { execFile, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { promisify } from 'node:util'
import { expect } from 'vitest'
import { CLI } from './node-process.js'

const run = promisify(execFile)

export interface CliResult { code: number, stdout: string, stderr: string }

/** A stack frame or a file:line position in output: what a user must never see. */
export const STACK_TRACE = /\n\s+at\s|\.js:\d+:\d+/

/** A refusal as users must see it: exit 1, one line on stderr matching `line`, no stack trace, nothing on stdout. */
export function expectRefusal (r: CliResult, line: RegExp): void {
  expect(r.code, r.stderr).toBe(1)
  expect(r.stdout).toBe('')
  expect(r.stderr.trim().split('\n')).toHaveLength(1)
  expect(r.stderr).toMatch(line)
  expect(r.stderr).not.toMatch(STACK_TRACE)
}

/** `riftmesh ...args`: its exit code and output (a non-zero exit is a result, not a throw). */
export async function riftmeshCli (...args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { timeout: 30_000 })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number, stdout: string, stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

/** `riftmesh ...args` with `lines` piped to its stdin (a REPL script), run to its end. */
export async function riftmeshPiped (args: readonly string[], lines: readonly string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const code = new Promise<number | null>(resolve => child.on('exit', c => resolve(c)))
  child.stdin.end(`${lines.join('\n')}\n`)
  return { code: await code, stdout, stderr }
}

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort (): Promise<number> {
  const probe = createServer()
  const port = await new Promise<number>(resolve => probe.listen(0, '127.0.0.1', () => resolve((probe.address() as { port: number }).port)))
  await new Promise<void>(resolve => probe.close(() => resolve()))
  return port
}

/** A new operator key made as a user makes one (`riftmesh keygen --operator FILE`), with the id it printed; `--operator-id` must print the same. */
export async function cliOperatorKey (file: string): Promise<{ file: string, id: string }> {
  const r = await riftmeshCli('keygen', '--operator', file)
  expect(r.code, r.stderr).toBe(0)
  const id = /operator id: (\S+)/.exec(r.stdout)?.[1] as string
  expect((await riftmeshCli('keygen', '--operator-id', file)).stdout.trim()).toBe(id)
  return { file, id }
}
