/**
 * Starts `riftmesh node` child processes (the local demo cluster, tests, benchmarks): spawn,
 * wait until the node prints its peer id and listen address, talk to its control socket, stop
 * it with a signal.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { SystemClock, type Clock } from '../core/clock.js'
import { RiftmeshError } from '../core/errors.js'
import { controlSocketPath } from '../repl/control.js'
import { controlRequest } from './control-client.js'

/** This CLI's entry point (compiled): dist/src/cli/main.js. */
export const CLI_ENTRY = fileURLToPath(new URL('./main.js', import.meta.url))
/** How long a node may take to print its address. @default 20_000 */
export const DEFAULT_NODE_START_TIMEOUT_MS = 20_000
/** After a stop signal, SIGKILL after this long. @default 15_000 */
export const DEFAULT_NODE_STOP_GRACE_MS = 15_000
/** Most output kept per stream of a child node. */
export const MAX_CHILD_OUTPUT_CHARS = 1_000_000

export class NodeStartError extends RiftmeshError {
  constructor (dataDir: string, why: string) {
    super(`node in ${dataDir} did not start: ${why}`, 'ERR_NODE_START')
    this.name = 'NodeStartError'
  }
}

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

export interface LaunchOptions {
  cli?: string
  timeoutMs?: number
  clock?: Clock
  logLevel?: string
  /** The listen address to pass; null passes none (the node's default, 0.0.0.0:4100). @default '/ip4/127.0.0.1/tcp/0' */
  listen?: string | null
  /** A command prefix the node runs under (e.g. `ip netns exec NS` for an emulated host). @default none */
  wrap?: readonly string[]
  /**
   * Run the node in a process group of its own, so that a Ctrl-C in the terminal reaches only
   * the launcher, which then stops the node itself (the demo). @default false
   */
  detached?: boolean
}

const keep = (s: string): string => (s.length > MAX_CHILD_OUTPUT_CHARS ? s.slice(-MAX_CHILD_OUTPUT_CHARS) : s)

export async function startNodeProcess (dataDir: string, args: readonly string[], options: LaunchOptions = {}): Promise<NodeProcess> {
  const clock = options.clock ?? new SystemClock()
  const timeoutMs = options.timeoutMs ?? DEFAULT_NODE_START_TIMEOUT_MS
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const listen = options.listen === undefined ? ['--listen', '/ip4/127.0.0.1/tcp/0'] : options.listen === null ? [] : ['--listen', options.listen]
  const argv = [process.execPath, options.cli ?? CLI_ENTRY, 'node', '--data-dir', dataDir, ...listen, '--log-level', options.logLevel ?? 'warn', ...args]
  const [cmd, ...rest] = [...(options.wrap ?? []), ...argv] as [string, ...string[]]
  const proc = spawn(cmd, rest, { stdio: ['ignore', 'pipe', 'pipe'], detached: options.detached ?? false })
  let out = ''
  let err = ''
  proc.stdout?.on('data', (d: Buffer) => { out = keep(out + d.toString()) })
  proc.stderr?.on('data', (d: Buffer) => { err = keep(err + d.toString()) })
  const exited = new Promise<number | string>(resolve => proc.on('exit', (code, sig) => resolve(code ?? sig ?? -1)))
  const ready = await new Promise<{ peerId: string, addr: string }>((resolve, reject) => {
    const timer = clock.setTimer(() => { proc.kill('SIGKILL'); reject(new NodeStartError(dataDir, `no address within ${timeoutMs} ms; stderr: ${err}`)) }, timeoutMs)
    const check = (): void => {
      const id = /^peer-id (\S+)$/m.exec(out)
      const addr = /^listening (\S+)$/m.exec(out)
      if (id !== null && addr !== null && /^data-dir /m.test(out)) {
        clock.clearTimer(timer)
        resolve({ peerId: id[1] as string, addr: addr[1] as string })
      }
    }
    proc.stdout?.on('data', check)
    exited.then(code => { clock.clearTimer(timer); reject(new NodeStartError(dataDir, `exited (${code}); stderr: ${err}`)) }, reject)
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
      const guard = clock.setTimer(() => proc.kill('SIGKILL'), DEFAULT_NODE_STOP_GRACE_MS)
      const code = await exited
      clock.clearTimer(guard)
      return code
    }
  }
}
