/** Runs the built `riftmesh` command as a user would, for integration tests. */
import { execFile } from 'node:child_process'
import { createServer } from 'node:net'
import { promisify } from 'node:util'
import { CLI } from './node-process.js'

const run = promisify(execFile)

export interface CliResult { code: number, stdout: string, stderr: string }

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

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort (): Promise<number> {
  const probe = createServer()
  const port = await new Promise<number>(resolve => probe.listen(0, '127.0.0.1', () => resolve((probe.address() as { port: number }).port)))
  await new Promise<void>(resolve => probe.close(() => resolve()))
  return port
}
