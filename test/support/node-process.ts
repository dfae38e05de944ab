/**
 * Real `riftmesh node` child processes for integration tests: spawn, wait for the peer id and
 * listen address on stdout, talk to the control socket, stop with a signal.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { controlRequest } from '../../src/cli/control-client.js'
import { controlSocketPath } from '../../src/repl/control.js'

// from test/support (vitest) the CLI is in dist/; from dist/test/support (benchmarks) it is a sibling tree
export const CLI = fileURLToPath(new URL(import.meta.url.includes('/dist/test/') ? '../../src/cli/main.js' : '../../dist/src/cli/main.js', import.meta.url))

/** Short timings so failure detection and repair happen within a test's patience. */
export const FAST_TIMINGS = [
  '--set', 'health.heartbeatIntervalMs=200',
  '--set', 'health.suspectAfterMs=700',
  '--set', 'health.deadAfterMs=1500',
  '--set', 'mesh.antiEntropyIntervalMs=1000'
]

export interface NodeProcess {
  proc: ChildProcess
  dataDir: string
  peerId: string
  addr: string
  stdout: () => string
  stderr: () => string
  request: (op: string, args?: Record<string, unknown>) => Promise<unknown>
  /** Send `signal` and wait for the exit; resolves with the exit code (or signal name). */
  stop: (signal?: NodeJS.Signals) => Promise<number | string>
}

export async function startNodeProcess (dataDir: string, args: string[], timeoutMs = 20_000): Promise<NodeProcess> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const proc = spawn(process.execPath, [CLI, 'node', '--data-dir', dataDir, '--listen', '/ip4/127.0.0.1/tcp/0', '--log-level', 'warn', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  proc.stdout?.on('data', (d: Buffer) => { out += d.toString() })
  proc.stderr?.on('data', (d: Buffer) => { err += d.toString() })
  const exited = new Promise<number | string>(resolve => proc.on('exit', (code, sig) => resolve(code ?? sig ?? -1)))
  const ready = await new Promise<{ peerId: string, addr: string }>((resolve, reject) => {
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`node did not start in ${timeoutMs} ms; stderr: ${err}`)) }, timeoutMs)
    const check = (): void => {
      const id = /^peer-id (\S+)$/m.exec(out)
      const addr = /^listening (\S+)$/m.exec(out)
      if (id !== null && addr !== null && /^data-dir /m.test(out)) {
        clearTimeout(timer)
        resolve({ peerId: id[1] as string, addr: addr[1] as string })
      }
    }
    proc.stdout?.on('data', check)
    exited.then(code => { clearTimeout(timer); reject(new Error(`node exited (${code}) before it was ready; stderr: ${err}`)) }, reject)
  })
  return {
    proc,
    dataDir,
    ...ready,
    stdout: () => out,
    stderr: () => err,
    request: async (op, a = {}) => await controlRequest(controlSocketPath(dataDir), op, a, { timeoutMs: 10_000 }),
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode !== null || proc.signalCode !== null) return await exited
      proc.kill(signal)
      const guard = setTimeout(() => proc.kill('SIGKILL'), 15_000)
      const code = await exited
      clearTimeout(guard)
      return code
    }
  }
}
