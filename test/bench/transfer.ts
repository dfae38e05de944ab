/**
 * File-transfer benchmark (issue 8): 1 GiB as 100 files and as 10,000 files, pulled over
 * loopback from a holder running in its own process, side by side in one run:
 *  - riftmesh, fast path: sessions on `/riftmesh/transfer/1.0.0` moved to the holder's TCP side
 *    channel, sha256 of every file verified, `.partial` + fsync + rename + directory fsync,
 *    in plain mode (the default: token-authorised, files sha256-verified, frames not encrypted);
 *  - riftmesh, fast path with fsync off (what the two baselines do: no fsync);
 *  - riftmesh, fast path, the files asked for in jobs of 50 one after the other, as the
 *    SyncPlanner runs them (one sync job at a time per node) — the others ask for all at once;
 *  - riftmesh, fast path sealed with AES-256-GCM (`sync.fastPathEncryption=true`);
 *  - riftmesh, libp2p stream only (the fast path off: pnet + Noise + Yamux carry the bytes) —
 *    the "before" of the fast path;
 *  - raw TCP (node:net), the floor: 4 connections, a path line out, uint64 size + bytes back (no
 *    Nagle delay), written to disk; no hashing, no encryption, no rename, no fsync;
 *  - rsync 3 pulling from an `rsync --daemon` on 127.0.0.1, `rsync -a` (no ssh, no compression:
 *    the fastest way rsync moves files), and the same with `--fsync` (rsync ≥ 3.2.4), as durable
 *    as riftmesh's default;
 *  - `rsync -az` over ssh from an sshd on 127.0.0.1, exactly as the original system ran it
 *    (one sender/receiver pair, compression on, ssh's default cipher).
 * The source bytes are random (see makeSource): compression gains nothing, as with real
 * self-play data.
 *
 * On ext4 the cost of creating a file depends on where its inode lands: in inode-table ranges
 * freed minutes before (an earlier bench's cleanup), the allocator checks and skips recently
 * deleted inodes one by one. Measured here with a plain Python loop, the same 10,000 files of
 * 105 KiB took 0.5 s of system time in one tree and 4.6 s in the next. A round in which every
 * variant is off together is that, not the variants; each round's figure is printed for this.
 * riftmesh and raw TCP run 4 transfers at once (sync.maxConcurrentTransfers). The target gets
 * the manifest with one LIST first (timed apart). Source files are in the page cache for every
 * run; each run writes into a fresh empty directory and starts with a clean page cache (`sync`,
 * then no dirty pages left). MiB/s = 2^20 bytes per second. CPU is the
 * user + system time of every process and thread on both ends (from /proc), per GiB moved.
 *
 * `RIFTMESH_BENCH_TRANSFER_MB` (default 1024) sets the total size and
 * `RIFTMESH_BENCH_TRANSFER_FILES` (default `100,10000`) the file counts, for quick runs;
 * the trees go under TMPDIR (os.tmpdir()): on a machine whose /tmp sees heavy file churn (test
 * suites), a quieter directory on the same disk gives steadier figures;
 * `RIFTMESH_BENCH_TRANSFER_QUIET_S` (default 65) the pause before the first file count (quietInodes);
 * every tree stays until both counts have run when the disk has room (keepTrees: ~60 GiB for the
 * defaults), so no count starts right after a mass delete;
 * `RIFTMESH_BENCH_TRANSFER_ROUNDS` (default 3) how many rounds over every variant, in an order
 * rotated by one each round; each figure is the median round, with every round's figure beside it
 * (in round order);
 * `RIFTMESH_BENCH_TRANSFER_CONCURRENCY` (default 4) riftmesh pulls at once (at most the holder's per-peer cap, 8);
 * `RIFTMESH_BENCH_DISK_THREADS` sets sync.diskThreads on both ends;
 * `RIFTMESH_BENCH_TRANSFER_ONLY=fast,rsync` runs only the variants whose names contain one of these
 * (an entry starting with `=` must match a whole name: `=riftmesh fast path`);
 * `RIFTMESH_BENCH_DEBUG=1` logs the riftmesh holder and target at debug level on stderr, and the
 * client's counters and each end's CPU time.
 *
 * Each file count ends with the targets as yes/no lines (see verdicts).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { randomFillSync } from 'node:crypto'
import { readFileSync, readdirSync, statfsSync } from 'node:fs'
import { mkdir, mkdtemp, open, readFile, readdir, stat, writeFile } from 'node:fs/promises'
import { connect, createServer, type Socket } from 'node:net'
import { dirname, join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { preGrowPnetCipherMemory } from '../../src/mesh/pnet-memory.js'
import { fileURLToPath } from 'node:url'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { SystemClock } from '../../src/core/clock.js'
import { DEFAULT_MAX_FILES_PER_SYNC_JOB } from '../../src/config/defaults.js'
import { createLogger, silentLogger } from '../../src/core/logger.js'
import { DropCounters } from '../../src/mesh/drops.js'
import { Libp2pMesh } from '../../src/mesh/libp2p-mesh.js'
import { newSwarmKey } from '../../src/mesh/keys.js'
import { DIRECT_IO_MIN_BYTES, TransferClient, type PullResult } from '../../src/transfer/client.js'
import { DEFAULT_BATCH_MAX_FILE_BYTES } from '../../src/transfer/batcher.js'
import { hostsFromMultiaddrs } from '../../src/transfer/fast-path.js'
import { MemoryHashCache } from '../../src/transfer/hash-cache.js'
import { ManifestScanner } from '../../src/transfer/scanner.js'
import { mapLimit } from '../../src/core/map-limit.js'
import { TransferServer } from '../../src/transfer/server.js'
import { tempDir } from '../helpers.js'
import type { SizeResult } from './state-size.js'

const MiB = 1024 * 1024
const HOLDER_READY_TIMEOUT_MS = 120_000
const RUN_TIMEOUT_MS = 30 * 60_000
const RAW_CONNECTIONS = 4
/** The SyncPlanner's job size (sync.maxFilesPerSyncJob). */
const SYNC_JOB_FILES = DEFAULT_MAX_FILES_PER_SYNC_JOB
/** `RIFTMESH_BENCH_TRANSFER_ROUNDS` (default 3): rounds over every variant; the median is shown. */
const ROUNDS = Math.max(1, Number(process.env.RIFTMESH_BENCH_TRANSFER_ROUNDS ?? 3))
/** `RIFTMESH_BENCH_DEBUG=1`: debug logs of the riftmesh holder and target on stderr. */
const logger = process.env.RIFTMESH_BENCH_DEBUG === '1' ? createLogger({ level: 'debug', destination: process.stderr }) : silentLogger()
const clock = new SystemClock()
const THIS_FILE = fileURLToPath(import.meta.url)
/** `RIFTMESH_BENCH_DISK_THREADS`: sync.diskThreads on both ends (default: the product's default). */
const diskThreads = (): { diskThreads?: number } => process.env.RIFTMESH_BENCH_DISK_THREADS !== undefined ? { diskThreads: Number(process.env.RIFTMESH_BENCH_DISK_THREADS) } : {}

/** `riftmesh-fast-js`: the fast path with batches sent in JavaScript (sync.nativeBatch off on the holder). */
type HolderMode = 'riftmesh-fast' | 'riftmesh-fast-js' | 'riftmesh-sealed' | 'riftmesh-stream' | 'tcp'

// ---- CPU accounting -----------------------------------------------------------------------

/** Wall time of a run and the CPU time (user + system, every process and thread involved). */
interface Measured { ms: number, cpuMs: number }

let clockTicks: number | undefined
function ticksPerSecond (): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
    } catch {
      clockTicks = 100
    }
  }
  return clockTicks
}

/**
 * CPU ms a process has used (all its threads), from /proc/<pid>/stat: `own` its own time,
 * `children` that of its children it has waited for. NaN where there is no /proc.
 */
function procCpuMs (pid: number | 'self', what: { own: boolean, children: boolean }): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number) // f[0] is field 3 (state)
    const own = what.own ? (f[11] as number) + (f[12] as number) : 0
    const kids = what.children ? (f[13] as number) + (f[14] as number) : 0
    return (own + kids) * 1000 / ticksPerSecond()
  } catch {
    return Number.NaN
  }
}

/** CPU ms of a process's threads by kind (`main`, `riftmesh-disk` — the disk pool's —, `libuv-worker`, `other`: V8's and Node's own), summed over threads of one kind. */
function threadCpuMs (pid: number | 'self'): Map<string, number> {
  const out = new Map<string, number>()
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
        const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
        const name = tid === String(pid === 'self' ? process.pid : pid) ? 'main' : comm === 'node' ? 'other' : comm
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number)
        out.set(name, (out.get(name) ?? 0) + ((f[11] as number) + (f[12] as number)) * 1000 / ticksPerSecond())
      } catch {} // the thread ended
    }
  } catch {}
  return out
}

/** `name ms, …` of the CPU each kind of thread used between two readings. */
function threadCpuDelta (before: Map<string, number>, after: Map<string, number>): string {
  return [...after].map(([k, v]) => [k, v - (before.get(k) ?? 0)] as const).filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')
}

/** Minor page faults of a process so far (each costs microseconds on a virtual machine). */
function minorFaults (pid: number | 'self'): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7])
  } catch {
    return Number.NaN
  }
}

/** CPU ms of this process (the target, worker threads included) plus the given processes so far. */
function cpuNow (pids: number[], children: boolean): number {
  let ms = procCpuMs('self', { own: true, children })
  for (const pid of pids) ms += procCpuMs(pid, { own: true, children: true })
  return ms
}

// ---- data ---------------------------------------------------------------------------------

const SETTLE_DIRTY_BYTES = 32 * MiB
const SETTLE_TIMEOUT_MS = 60_000

/** Dirty + under-writeback page-cache bytes (Linux), or 0 where /proc/meminfo is not there. */
function dirtyBytes (): number {
  try {
    const info = readFileSync('/proc/meminfo', 'utf8')
    let kb = 0
    for (const m of info.matchAll(/^(?:Dirty|Writeback):\s+(\d+) kB$/gm)) kb += Number(m[1])
    return kb * 1024
  } catch {
    return 0
  }
}

/** `RIFTMESH_BENCH_TRANSFER_QUIET_S` (default 65): see quietInodes. */
const QUIET_MS = Number(process.env.RIFTMESH_BENCH_TRANSFER_QUIET_S ?? 65) * 1000

/**
 * Before the first count's runs (and before any count that follows deleted trees): `sync`, then
 * wait until inodes freed by an earlier benchmark are no longer "recently deleted". ext4 without
 * a journal — this machine's root file system — skips a free inode deleted less than 60 s ago
 * (360 s while its inode table block is dirty) when it allocates one, and scans the whole group
 * past them: measured here, a fifth of all CPU time went to that scan when a run started within a
 * minute of deleting the trees of the run before, making whichever variant ran first look slow.
 * The wait covers the 60 s; the 360 s apply again once new files dirty those blocks, so a
 * benchmark started less than 6 minutes after another one ended still pays some of it.
 */
async function quietInodes (): Promise<void> {
  execFileSync('sync')
  await new Promise(resolve => setTimeout(resolve, QUIET_MS))
}

/**
 * Before every timed run: write back what earlier runs (and the source tree) left dirty, and
 * wait until the page cache is clean, so each run starts from the same state. Without it a run
 * that does not fsync leaves 1 GiB dirty, and the next run is throttled to the disk's write-back
 * speed once the kernel's dirty limit is reached — whichever ran later was slowed (measured here:
 * the same 10,000 files written in 0.45 s from a clean cache, 2.5 s right after 4 GiB more).
 */
async function settleDisk (): Promise<void> {
  execFileSync('sync')
  const t0 = performance.now()
  while (dirtyBytes() > SETTLE_DIRTY_BYTES && performance.now() - t0 < SETTLE_TIMEOUT_MS) await new Promise(resolve => setTimeout(resolve, 100))
}

/**
 * `count` files of `total / count` bytes under `selfplay/hex8_2p/dNN/`, every byte random: like
 * self-play data (compressed arrays), nothing repeats within or across files, so rsync's `-z`
 * gets no help the real data would not give it (files that shared their bytes went through
 * zstd at ~250:1).
 */
async function makeSource (dir: string, totalBytes: number, count: number): Promise<string[]> {
  const size = Math.floor(totalBytes / count)
  const block = Buffer.allocUnsafe(Math.min(size, 4 * MiB))
  const paths: string[] = []
  for (let i = 0; i < count; i++) {
    const rel = `selfplay/hex8_2p/d${String(i % 100).padStart(2, '0')}/f${i}.bin`
    paths.push(rel)
    const full = join(dir, rel)
    if (i < 100) await mkdir(dirname(full), { recursive: true })
    const fh = await open(full, 'w')
    for (let off = 0; off < size; off += block.length) {
      const part = block.subarray(0, Math.min(block.length, size - off))
      randomFillSync(part)
      await fh.write(part)
    }
    await fh.close()
  }
  return paths
}

async function treeBytes (dir: string): Promise<number> {
  let n = 0
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) n += (await stat(join(e.parentPath, e.name))).size
  }
  return n
}

// ---- the holder process ---------------------------------------------------------------------

async function runHolder (mode: HolderMode, dir: string, swarmKeyHex: string): Promise<void> {
  if (mode === 'tcp') {
    const server = createServer(socket => { serveRaw(socket, dir).catch(() => socket.destroy()) })
    await new Promise<void>(r => server.listen(0, '127.0.0.1', r))
    const a = server.address()
    process.stdout.write(`${JSON.stringify({ port: typeof a === 'object' && a !== null ? a.port : 0 })}\n`)
  } else {
    preGrowPnetCipherMemory()
    const mesh = new Libp2pMesh({ logger }, {
      privateKey: await generateKeyPair('Ed25519'), swarmKey: Buffer.from(swarmKeyHex, 'hex'), listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], transport: 'tcp'
    })
    await mesh.start()
    const scanner = new ManifestScanner({ clock, logger, cache: new MemoryHashCache() }, { dataDir: dir })
    await scanner.scan()
    const server = new TransferServer({ mesh, catalog: scanner, clock, logger, drops: new DropCounters(logger) }, {
      dataDir: dir, requestsPerMinute: 1_000_000, nativeSend: mode !== 'riftmesh-fast-js', ...diskThreads(), ...(mode !== 'riftmesh-stream' ? { fastPath: { host: '127.0.0.1', encrypt: mode === 'riftmesh-sealed' } } : {})
    })
    await server.start()
    process.stdout.write(`${JSON.stringify({ addr: mesh.listenAddrs()[0] })}\n`)
  }
  // lives until the parent closes stdin
  process.stdin.resume()
  process.stdin.on('end', () => process.exit(0))
}

/** Raw TCP holder: per request line `path\n`, answer uint64be(size) • bytes (no Nagle delay, header and data in one send). */
async function serveRaw (socket: Socket, dir: string): Promise<void> {
  socket.setNoDelay(true)
  const lines = createInterface({ input: socket })
  for await (const rel of lines) {
    const fh = await open(join(dir, rel), 'r')
    const { size } = await fh.stat()
    const head = Buffer.alloc(8)
    head.writeBigUInt64BE(BigInt(size))
    socket.cork()
    socket.write(head)
    for (let pos = 0; pos < size;) {
      const buf = Buffer.allocUnsafe(Math.min(MiB, size - pos))
      const { bytesRead } = await fh.read(buf, 0, buf.byteLength, pos)
      pos += bytesRead
      const more = socket.write(bytesRead === buf.byteLength ? buf : buf.subarray(0, bytesRead))
      socket.uncork()
      if (!more) await new Promise(r => socket.once('drain', r))
      socket.cork()
    }
    socket.uncork()
    await fh.close()
  }
}

interface Holder { child: ChildProcess, info: { addr?: string, port?: number } }

async function startHolder (mode: HolderMode, dir: string, swarmKey: Uint8Array): Promise<Holder> {
  const child = spawn(process.execPath, [THIS_FILE, 'holder', mode, dir, Buffer.from(swarmKey).toString('hex')], { stdio: ['pipe', 'pipe', 'inherit'] })
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`holder ${mode} not ready in time`)), HOLDER_READY_TIMEOUT_MS)
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', l => { clearTimeout(timer); resolve(l) })
    child.once('exit', code => { clearTimeout(timer); reject(new Error(`holder ${mode} exited with ${code}`)) })
  })
  return { child, info: JSON.parse(line) as Holder['info'] }
}

async function stopHolder (h: Holder): Promise<void> {
  const exited = new Promise(r => h.child.once('exit', r))
  h.child.stdin?.end()
  const timer = setTimeout(() => h.child.kill('SIGKILL'), 10_000)
  await exited
  clearTimeout(timer)
}

// ---- the pulls ----------------------------------------------------------------------------

/**
 * `jobFiles`: pull in jobs of this many files, `jobsAtOnce` jobs at a time, as the SyncPlanner
 * does (sync.maxFilesPerSyncJob, sync.maxSyncJobsPerNode); else every file at once.
 */
async function pullRiftmesh (holder: Holder, dst: string, swarmKey: Uint8Array, fsync: boolean, jobFiles?: number, directIo = true, jobsAtOnce = 1, nativeReceive = true): Promise<Measured & { listMs: number, viaFast: number }> {
  preGrowPnetCipherMemory()
  const mesh = new Libp2pMesh({ logger }, { privateKey: await generateKeyPair('Ed25519'), swarmKey, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], transport: 'tcp' })
  await mesh.start()
  try {
    const peer = await mesh.dial(holder.info.addr as string, { signal: AbortSignal.timeout(10_000) })
    const client = new TransferClient({ mesh, clock, logger, hostsOf: async p => hostsFromMultiaddrs(await mesh.peerAddrs(p)) }, { dataDir: dst, fsync, directIo, nativeReceive, maxConcurrentTransfers: Number(process.env.RIFTMESH_BENCH_TRANSFER_CONCURRENCY ?? 4), ...diskThreads() })
    const t0 = performance.now()
    const listed = await client.list(peer, { signal: AbortSignal.timeout(60_000) })
    const t1 = performance.now()
    const cpu0 = cpuNow([holder.child.pid as number], false)
    const cpuT0 = cpuNow([], false)
    const threads0 = [threadCpuMs('self'), threadCpuMs(holder.child.pid as number)]
    const faults0 = [minorFaults('self'), minorFaults(holder.child.pid as number)]
    const signal = AbortSignal.timeout(RUN_TIMEOUT_MS)
    const pull = async (files: typeof listed): Promise<Array<PromiseSettledResult<PullResult>>> =>
      await Promise.allSettled(files.map(async f => await client.pull(peer, { path: f.path, sha256: f.sha256, size: f.size }, { signal })))
    const settled: Array<PromiseSettledResult<PullResult>> = []
    if (jobFiles === undefined) settled.push(...await pull(listed))
    else {
      const jobs: Array<typeof listed> = []
      for (let i = 0; i < listed.length; i += jobFiles) jobs.push(listed.slice(i, i + jobFiles))
      for (const r of await mapLimit(jobs, jobsAtOnce, pull)) settled.push(...r)
    }
    const failed = settled.find(s => s.status === 'rejected')
    if (failed !== undefined) throw new Error(`${settled.filter(s => s.status === 'rejected').length} pulls failed, e.g. ${String(failed.reason)}`)
    const results = settled.map(s => (s as PromiseFulfilledResult<PullResult>).value)
    const ms = performance.now() - t1
    const cpuMs = cpuNow([holder.child.pid as number], false) - cpu0
    if (process.env.RIFTMESH_BENCH_DEBUG === '1') process.stderr.write(`client stats ${JSON.stringify(client.stats)}; CPU ms: target ${cpuNow([], false) - cpuT0}, holder ${cpuNow([holder.child.pid as number], false) - cpu0 - (cpuNow([], false) - cpuT0)}\n` +
      `  target threads: ${threadCpuDelta(threads0[0] as Map<string, number>, threadCpuMs('self'))}; minor faults ${minorFaults('self') - (faults0[0] as number)}\n  holder threads: ${threadCpuDelta(threads0[1] as Map<string, number>, threadCpuMs(holder.child.pid as number))}; minor faults ${minorFaults(holder.child.pid as number) - (faults0[1] as number)}\n`)
    await client.close()
    return { ms, cpuMs, listMs: t1 - t0, viaFast: results.filter(r => r.viaFastPath).length }
  } finally {
    await mesh.stop()
  }
}

/** One raw connection: request each path in turn, write the bytes to `dst`. */
async function rawWorker (port: number, paths: string[], next: { i: number }, dst: string): Promise<void> {
  const socket = connect({ port, host: '127.0.0.1' })
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  socket.setNoDelay(true)
  const dirs = new Set<string>()
  const it = (socket as AsyncIterable<Buffer>)[Symbol.asyncIterator]()
  let pending: Buffer = Buffer.alloc(0)
  try {
    for (let i = next.i++; i < paths.length; i = next.i++) {
      const rel = paths[i] as string
      socket.write(`${rel}\n`)
      while (pending.length < 8) pending = Buffer.concat([pending, (await it.next()).value as Buffer])
      const size = Number(pending.readBigUInt64BE(0))
      pending = pending.subarray(8)
      const full = join(dst, rel)
      if (!dirs.has(dirname(full))) {
        await mkdir(dirname(full), { recursive: true })
        dirs.add(dirname(full))
      }
      const fh = await open(full, 'w')
      let got = 0
      while (got < size) {
        if (pending.length === 0) pending = (await it.next()).value as Buffer
        const take = pending.subarray(0, size - got)
        pending = pending.subarray(take.length)
        await fh.write(take)
        got += take.length
      }
      await fh.close()
    }
  } finally {
    socket.destroy()
  }
}

async function pullRaw (holder: Holder, paths: string[], dst: string): Promise<Measured> {
  const t0 = performance.now()
  const cpu0 = cpuNow([holder.child.pid as number], false)
  const next = { i: 0 }
  await Promise.all(Array.from({ length: RAW_CONNECTIONS }, async () => await rawWorker(holder.info.port as number, paths, next, dst)))
  return { ms: performance.now() - t0, cpuMs: cpuNow([holder.child.pid as number], false) - cpu0 }
}

/** Let a daemon reap the child that served us, so its CPU shows in the daemon's children time. */
async function letDaemonReap (): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, 300))
}

/** Run a command to its end; `stderr: 'ignore'` for a probe whose output is noise (`ssh -V`). */
async function run (cmd: string, args: string[], stderr: 'inherit' | 'ignore' = 'inherit'): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', stderr] })
    const timer = setTimeout(() => c.kill('SIGKILL'), RUN_TIMEOUT_MS)
    c.once('error', reject)
    c.once('exit', code => { clearTimeout(timer); code === 0 ? resolve() : reject(new Error(`${cmd} exited with ${code}`)) })
  })
}

async function waitForPort (port: number): Promise<void> {
  const t0 = performance.now()
  for (;;) {
    const ok = await new Promise<boolean>(resolve => {
      const s = connect({ port, host: '127.0.0.1' })
      s.once('connect', () => { s.destroy(); resolve(true) })
      s.once('error', () => resolve(false))
    })
    if (ok) return
    if (performance.now() - t0 > 10_000) throw new Error(`nothing listens on ${port}`)
    await new Promise(r => setTimeout(r, 50))
  }
}

async function freePort (): Promise<number> {
  const s = createServer()
  await new Promise<void>(r => s.listen(0, '127.0.0.1', r))
  const a = s.address()
  await new Promise(r => s.close(r))
  return typeof a === 'object' && a !== null ? a.port : 0
}

/** rsync -a from an rsync daemon on 127.0.0.1 (with `--fsync`: every file fsynced, as riftmesh does by default); a string says why it could not run. */
async function pullRsync (src: string, dst: string, work: string, fsync: boolean): Promise<Measured | string> {
  try {
    await run('rsync', ['--version'])
  } catch {
    return 'rsync not installed'
  }
  const port = await freePort()
  const conf = join(work, 'rsyncd.conf')
  // the daemon reads as the user running the benchmark (as root it would otherwise switch to nobody)
  const ids = `uid = ${process.getuid?.() ?? 0}\ngid = ${process.getgid?.() ?? 0}\n`
  await writeFile(conf, `port = ${port}\naddress = 127.0.0.1\nuse chroot = no\n${ids}pid file = ${join(work, 'rsyncd.pid')}\n[src]\n  path = ${src}\n  read only = yes\n`)
  const daemon = spawn('rsync', ['--daemon', '--no-detach', `--config=${conf}`], { stdio: ['ignore', 'ignore', 'inherit'] })
  try {
    await waitForPort(port)
    const cpu0 = cpuNow([daemon.pid as number], true)
    const t0 = performance.now()
    await run('rsync', ['-a', ...(fsync ? ['--fsync'] : []), `rsync://127.0.0.1:${port}/src/`, `${dst}/`])
    const ms = performance.now() - t0
    await letDaemonReap()
    return { ms, cpuMs: cpuNow([daemon.pid as number], true) - cpu0 }
  } finally {
    const exited = new Promise(r => daemon.once('exit', r))
    daemon.kill('SIGTERM')
    await exited
  }
}

/** Where sshd is, if installed. */
async function findSshd (): Promise<string | undefined> {
  for (const p of ['/usr/sbin/sshd', '/usr/bin/sshd', '/usr/local/sbin/sshd']) {
    try {
      await stat(p)
      return p
    } catch {}
  }
  return undefined
}

/**
 * `rsync -az` over SSH, as the original system ran it (notes/original-system.md: `rsync -az -e ssh`
 * with a cluster key): an sshd on 127.0.0.1 started for the run with a fresh host key and a
 * fresh user key; a string says why it could not run (a tool missing, or the pull failed).
 */
async function pullRsyncSsh (src: string, dst: string, work: string): Promise<Measured | string> {
  const sshd = await findSshd()
  if (sshd === undefined) return 'sshd not installed'
  try {
    await run('rsync', ['--version'])
    await run('ssh', ['-V'], 'ignore')
  } catch {
    return 'rsync or ssh not installed'
  }
  const dir = await mkdtemp(join(work, 'ssh-')) // 0700; fresh keys each run
  const hostKey = join(dir, 'host_ed25519')
  const userKey = join(dir, 'id_ed25519')
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey])
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', userKey])
  const authorized = join(dir, 'authorized_keys')
  await writeFile(authorized, await readFile(`${userKey}.pub`), { mode: 0o600 })
  const port = await freePort()
  const conf = join(dir, 'sshd_config')
  await writeFile(conf, [
    `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${hostKey}`, `AuthorizedKeysFile ${authorized}`, `PidFile ${join(dir, 'sshd.pid')}`,
    'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'PubkeyAuthentication yes', 'PermitRootLogin yes', 'StrictModes no', 'UsePAM no'
  ].join('\n') + '\n')
  await mkdir('/run/sshd', { recursive: true }).catch(() => undefined) // privilege separation dir sshd insists on
  const daemon = spawn(sshd, ['-D', '-e', '-f', conf], { stdio: ['ignore', 'ignore', 'ignore'] })
  try {
    await waitForPort(port)
    const user = process.env.USER ?? 'root'
    const ssh = `ssh -p ${port} -i ${userKey} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR`
    const cpu0 = cpuNow([daemon.pid as number], true)
    const t0 = performance.now()
    await run('rsync', ['-az', '-e', ssh, `${user}@127.0.0.1:${src}/`, `${dst}/`])
    const ms = performance.now() - t0
    await letDaemonReap()
    return { ms, cpuMs: cpuNow([daemon.pid as number], true) - cpu0 }
  } catch (err) {
    return `rsync over ssh failed: ${String(err)}`
  } finally {
    const exited = new Promise(r => daemon.once('exit', r))
    daemon.kill('SIGTERM')
    await exited
  }
}

// ---- the benchmark ------------------------------------------------------------------------

/**
 * `RIFTMESH_BENCH_TRANSFER_ONLY=fast,raw`: run only the variants whose names contain one of these,
 * or, for an entry starting with `=`, whose name is exactly the rest (profiling; ratios with a
 * skipped one say so).
 */
const ONLY = process.env.RIFTMESH_BENCH_TRANSFER_ONLY?.split(',').filter(x => x !== '')
const wanted = (name: string): boolean => ONLY === undefined || ONLY.some(x => x.startsWith('=') ? name === x.slice(1) : name.includes(x))

const rate = (bytes: number, ms: number): number => bytes / MiB / (ms / 1000)
const fmt = (x: number): string => x.toFixed(0)
const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}×`

/**
 * One file count: its source tree under `work`, every chosen variant ROUNDS times into trees of
 * their own (kept under `work`), and the figures; `runs`: how many trees of `totalBytes` it wrote.
 */
async function measureCount (work: string, count: number, totalBytes: number): Promise<{ result: SizeResult, runs: number }> {
  const src = join(work, 'src')
  await mkdir(src)
  const paths = await makeSource(src, totalBytes, count)
  const bytes = await treeBytes(src)
  const swarmKey = newSwarmKey()
  // every run writes into a directory of its own, and no tree is deleted before the last run
  // (see keepTrees for why)
  let runs = 0
  const fresh = async (): Promise<string> => {
    const dst = join(work, `dst-${runs++}`)
    await mkdir(dst)
    await settleDisk()
    return dst
  }
  const check = async (dst: string, what: string): Promise<void> => {
    const got = await treeBytes(dst)
    if (got !== bytes) throw new Error(`${what}: ${got} bytes arrived of ${bytes}`)
  }
  let listMs = 0
  /** Each variant: how to run it into an empty directory; a string says why it could not run. */
  const runners: Array<{ name: string, run: (dst: string) => Promise<Measured | string> }> = []
  const variants = [
    ['riftmesh fast path', 'riftmesh-fast', true, undefined, true, 1, true],
    ['riftmesh fast path, no fsync', 'riftmesh-fast', false, undefined, true, 1, true],
    ['riftmesh fast path, through the page cache (sync.directIo off)', 'riftmesh-fast', true, undefined, false, 1, true],
    ['riftmesh fast path, batches received in C, sent in JavaScript', 'riftmesh-fast-js', true, undefined, true, 1, true],
    ['riftmesh fast path, batches in JavaScript at both ends (sync.nativeBatch off)', 'riftmesh-fast-js', true, undefined, true, 1, false],
    [`riftmesh fast path, sync jobs of ${SYNC_JOB_FILES} one at a time`, 'riftmesh-fast', true, SYNC_JOB_FILES, true, 1, true],
    [`riftmesh fast path, sync jobs of ${SYNC_JOB_FILES} one at a time, batches in JavaScript (sync.nativeBatch off)`, 'riftmesh-fast-js', true, SYNC_JOB_FILES, true, 1, false],
    [`riftmesh fast path, sync jobs of ${SYNC_JOB_FILES} two at a time (sync.maxSyncJobsPerNode=2)`, 'riftmesh-fast', true, SYNC_JOB_FILES, true, 2, true],
    ['riftmesh fast path sealed (AES-GCM)', 'riftmesh-sealed', true, undefined, true, 1, true],
    ['riftmesh libp2p stream only', 'riftmesh-stream', true, undefined, true, 1, true]
  ] as const
  const small = bytes / count <= DEFAULT_BATCH_MAX_FILE_BYTES
  // direct writes apply to single GETs of 1 MiB or more only: the page-cache variant is the same run for small files;
  // only small files go in batches: the JavaScript-batch variants are the same run for large ones
  for (const [name, mode, fsync, jobFiles, directIo, jobsAtOnce, nativeReceive] of variants.filter(v => (v[4] || bytes / count >= DIRECT_IO_MIN_BYTES) && ((v[6] && v[1] !== 'riftmesh-fast-js') || small))) {
    runners.push({
      name,
      run: async dst => {
        const holder = await startHolder(mode, src, swarmKey)
        try {
          const r = await pullRiftmesh(holder, dst, swarmKey, fsync, jobFiles, directIo, jobsAtOnce, nativeReceive)
          if (mode !== 'riftmesh-stream' && r.viaFast !== count) throw new Error(`only ${r.viaFast} of ${count} files took the fast path`)
          listMs = r.listMs
          return r
        } finally {
          await stopHolder(holder)
        }
      }
    })
  }
  runners.push({
    name: 'raw TCP (node:net)',
    run: async dst => {
      const rawHolder = await startHolder('tcp', src, swarmKey)
      try {
        return await pullRaw(rawHolder, paths, dst)
      } finally {
        await stopHolder(rawHolder)
      }
    }
  })
  runners.push({ name: 'rsync daemon', run: async dst => await pullRsync(src, dst, work, false) })
  runners.push({ name: 'rsync daemon --fsync', run: async dst => await pullRsync(src, dst, work, true) })
  runners.push({ name: 'rsync -az over ssh (as the original)', run: async dst => await pullRsyncSsh(src, dst, work) })
  const chosen = runners.filter(r => wanted(r.name))
  /** Why a variant has no figure. */
  const notRun = new Map(runners.filter(r => !wanted(r.name)).map(r => [r.name, 'not run (RIFTMESH_BENCH_TRANSFER_ONLY)']))
  // ROUNDS rounds, the order rotated by one each round, so no variant always runs first
  // (after the source tree was written) or last; each figure is the median round
  const samples = new Map<string, Measured[]>()
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < chosen.length; i++) {
      const r = chosen[(i + round) % chosen.length] as typeof chosen[number]
      const dst = await fresh()
      if (process.env.RIFTMESH_BENCH_DEBUG === '1') process.stderr.write(`variant start: ${r.name}\n`)
      const m = await r.run(dst)
      if (typeof m === 'string') {
        notRun.set(r.name, m)
        continue
      }
      await check(dst, r.name)
      samples.set(r.name, [...(samples.get(r.name) ?? []), m])
    }
  }
  const measured: Record<string, Measured> = {}
  const byRound: Record<string, string> = {}
  for (const [name, ms] of samples) {
    const sorted = [...ms].sort((a, b) => a.ms - b.ms)
    measured[name] = sorted[Math.floor((sorted.length - 1) / 2)] as Measured
    // every round's figure in round order: a host hiccup shows as one round that is off for
    // every variant, a variant's own spread as one that is off alone
    if (ms.length > 1) byRound[name] = `; by round ${ms.map(m => fmt(rate(bytes, m.ms))).join(' · ')}`
  }
  const values: Record<string, number | string> = { 'files × size': `${count} × ${fmt(bytes / count / 1024)} KiB = ${fmt(bytes / MiB)} MiB` }
  const GiB = bytes / 1024 ** 3
  for (const [k, m] of Object.entries(measured)) {
    values[`${k} MiB/s`] = `${fmt(rate(bytes, m.ms))}  (${(m.ms / 1000).toFixed(2)} s; CPU ${(m.cpuMs / 1000 / GiB).toFixed(1)} s/GiB${byRound[k] ?? ''})`
  }
  const mibs = (k: string): number => measured[k] !== undefined ? rate(bytes, (measured[k] as Measured).ms) : Number.NaN
  /** a / b as a ratio, or why one of them has no figure. */
  const vs = (a: string, b: string): string => notRun.get(a) ?? notRun.get(b) ?? ratio(mibs(a), mibs(b))
  const fast = 'riftmesh fast path'
  const fastNoSync = 'riftmesh fast path, no fsync'
  const raw = 'raw TCP (node:net)'
  const ssh = 'rsync -az over ssh (as the original)'
  values['riftmesh fast path / raw TCP'] = vs(fast, raw)
  values['riftmesh libp2p stream / raw TCP'] = vs('riftmesh libp2p stream only', raw)
  values['riftmesh fast path / rsync daemon --fsync (both durable)'] = vs(fast, 'rsync daemon --fsync')
  values['riftmesh fast path, no fsync / rsync daemon (neither durable)'] = vs(fastNoSync, 'rsync daemon')
  values['riftmesh fast path / rsync daemon'] = vs(fast, 'rsync daemon')
  if (bytes / count >= DIRECT_IO_MIN_BYTES) values['riftmesh fast path, O_DIRECT / through the page cache'] = vs(fast, 'riftmesh fast path, through the page cache (sync.directIo off)')
  if (small) {
    values['riftmesh fast path, batches in C / in JavaScript'] = vs(fast, 'riftmesh fast path, batches in JavaScript at both ends (sync.nativeBatch off)')
    values['riftmesh fast path, batches received in C / in JavaScript (both sent in JavaScript)'] = vs('riftmesh fast path, batches received in C, sent in JavaScript', 'riftmesh fast path, batches in JavaScript at both ends (sync.nativeBatch off)')
    values[`riftmesh fast path, sync jobs of ${SYNC_JOB_FILES}: batches in C / in JavaScript`] = vs(`riftmesh fast path, sync jobs of ${SYNC_JOB_FILES} one at a time`, `riftmesh fast path, sync jobs of ${SYNC_JOB_FILES} one at a time, batches in JavaScript (sync.nativeBatch off)`)
  }
  values['riftmesh fast path / rsync -az over ssh'] = vs(fast, ssh)
  values['riftmesh fast path, no fsync / rsync -az over ssh (neither durable)'] = vs(fastNoSync, ssh)
  values['LIST of the manifest (not in the times)'] = `${fmt(listMs)} ms`
  const rsyncs = runners.map(r => r.name).filter(n => n.startsWith('rsync'))
  Object.assign(values, verdicts(mibs, notRun, { fast, raw, original: ssh, rsyncs }))
  return { result: { name: `transfer: ${count} files over loopback (holder in its own process)`, values }, runs }
}

export async function transfer (): Promise<SizeResult[]> {
  const totalBytes = Number(process.env.RIFTMESH_BENCH_TRANSFER_MB ?? 1024) * MiB
  const counts = (process.env.RIFTMESH_BENCH_TRANSFER_FILES ?? '100,10000').split(',').map(Number)
  const out: SizeResult[] = []
  /** Trees kept until every count has run (see keepTrees); deleted last. */
  const deferred: Array<() => Promise<void>> = []
  /** Whether inodes were freed since the last quietInodes (trees deleted between counts). */
  let freedInodes = true
  try {
    for (const [k, count] of counts.entries()) {
      if (freedInodes) await quietInodes()
      freedInodes = false
      const { dir: work, cleanup } = await tempDir('riftmesh-bench-xfer-')
      let keep = false
      try {
        const { result, runs } = await measureCount(work, count, totalBytes)
        out.push(result)
        keep = keepTrees(work, (runs + ROUNDS) * totalBytes, counts.length - k - 1)
        if (!keep) result.values['trees deleted before the next count'] = 'not enough free disk to keep them: the next count\'s first runs may pay ext4\'s scan past recently deleted inodes'
      } finally {
        if (keep) deferred.push(cleanup)
        else {
          await cleanup()
          freedInodes = true
        }
      }
    }
  } finally {
    for (const cleanup of deferred) await cleanup()
  }
  return out
}

/**
 * The targets as yes/no lines, so a run answers them without arithmetic: riftmesh (the
 * default, durable fast path) at least half of raw TCP, faster than rsync as the original system
 * ran it, and — stricter — faster than every rsync variant measured (naming the closest).
 */
function verdicts (mibs: (name: string) => number, notRun: ReadonlyMap<string, string>, v: { fast: string, raw: string, original: string, rsyncs: readonly string[] }): Record<string, string> {
  const answer = (ok: boolean, detail: string): string => `${ok ? 'yes' : 'NO'} (${detail})`
  const out: Record<string, string> = {}
  const f = mibs(v.fast)
  if (Number.isNaN(f)) return out
  if (!notRun.has(v.raw)) out['target: riftmesh ≥ 50 % of raw TCP'] = answer(f >= 0.5 * mibs(v.raw), ratio(f, mibs(v.raw)))
  if (!notRun.has(v.original)) out['target: riftmesh faster than rsync as the original ran it'] = answer(f > mibs(v.original), ratio(f, mibs(v.original)))
  const ran = v.rsyncs.filter(n => !notRun.has(n) && !Number.isNaN(mibs(n)))
  if (ran.length > 1) {
    const best = ran.reduce((a, b) => mibs(b) > mibs(a) ? b : a)
    out['stricter: riftmesh faster than every rsync variant'] = answer(f > mibs(best), `${ratio(f, mibs(best))} against the fastest, ${best}`)
  }
  return out
}

/**
 * Whether a count's trees can stay until every count has run, so that no count starts right after
 * thousands of inodes were freed: ext4 without a journal skips a free inode deleted less than 60 s
 * ago — 360 s while its inode-table block is dirty, which every file created in that block makes
 * it again — and scans past such inodes one by one for every new file (see quietInodes).
 * Measured here with the trees deleted between counts: the small-file runs that did not fsync
 * spent up to a quarter of their CPU time in that scan (`recently_deleted`), while durable ones,
 * whose syncfs cleaned the blocks, mostly escaped it — the order of the counts decided figures.
 * `perCount`: bytes one more count writes at most; room is kept for `remaining` of them plus 2 GiB.
 */
function keepTrees (dir: string, perCount: number, remaining: number): boolean {
  if (remaining === 0) return true
  try {
    const st = statfsSync(dir)
    return st.bavail * st.bsize >= remaining * perCount + 2 * 1024 ** 3
  } catch {
    return false
  }
}

if (process.argv[2] === 'holder' && resolve(process.argv[1] ?? '') === THIS_FILE) {
  const [, , , mode, dir, key] = process.argv
  runHolder(mode as HolderMode, dir as string, key as string).catch((err: unknown) => {
    process.stderr.write(`holder failed: ${String(err)}\n`)
    process.exit(1)
  })
}
