/**
 * Emulated hosts for tests. Each host is a Linux network namespace whose one veth (`eth0`) is a
 * port of a bridge living in the lab's own "switch" namespace, so hosts reach each other over
 * IPv4 while the root namespace never holds an address or route of the lab's subnet. Faults
 * (partitions, one-way cuts, random loss) are nftables rules inside each host's namespace;
 * `heal` flushes them and `destroy` removes the namespaces with everything in them.
 *
 * Needs root, iproute2 (`ip netns`) and nftables; `labSupport()` tells why not otherwise.
 *
 * Per host namespace, table `inet rmlab`: base chains `input`/`output` (filter hooks, priority 0,
 * policy accept) jump to the regular chains `block_in`/`block_out` (partition, cut) and
 * `loss_in`/`loss_out` (loss). Every rule matches the other hosts' addresses, so loopback traffic
 * inside a host is never touched.
 *
 * NAT sites (`LabOptions.nat`): a host behind its own router. The router is a namespace
 * `rmlab-<tag>-r<k>` with `eth0` on the bridge (the lab's "internet", address `.201`, `.202`, ...)
 * and `lan0` to the host's namespace, which has `192.168.<100+k>.2/24` and a default route via the
 * router. Table `ip rmnat` in the router masquerades what leaves `eth0` and lets nothing new in
 * (forward and input policy drop; established/related accepted; nothing unasked is answered with a
 * reset) — except, for a `portmap` site, the published port: `eth0` tcp `externalPort` is DNATed
 * to the host's `internalPort`. The masquerade keeps source ports where it can (no `random`,
 * `fully-random` or `persistent`), so one source port has one mapping for every destination.
 * Partitions, cuts and loss match lab addresses and are meant for the bridge hosts.
 *
 * Leftovers: each lab's owner (pid and its start time) is written to `/run/rmlab/<tag>.pid`
 * before any namespace exists; `sweepStaleLabs()` (run by every `createLab`) removes the labs
 * whose owner is gone, and a process `exit` hook removes the live labs of this process.
 */
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes, randomInt } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { release } from 'node:os'
import { setTimeout as delay } from 'node:timers/promises'

/** Every namespace a lab creates is named `rmlab-<tag>-sw` or `rmlab-<tag>-h<n>`. */
export const LAB_PREFIX = 'rmlab-'
/** Where each lab's owner file `<tag>.pid` lives: `<pid> <start ticks> <subnet>`. */
export const OWNER_DIR = '/run/rmlab'
/** How long any one command may run before it is killed. */
export const COMMAND_TIMEOUT_MS = 10_000
const MAX_OUTPUT_BYTES = 4 * 1024 * 1024
const MIN_HOSTS = 2
const MAX_HOSTS = 16
/** h1 gets `.11`, h2 `.12`, ... */
const FIRST_HOST_OCTET = 11
const MAX_SUBNET_TRIES = 64
const MAX_TAG_TRIES = 8
/** Rounds of list-and-SIGKILL while emptying a namespace, and the pause between them. */
const KILL_ROUNDS = 40
const KILL_POLL_MS = 50
/** How often a process waiting for a machine lock looks again. */
const LOCK_POLL_MS = 200
/** Loss is drawn out of this many buckets, so percentages have two decimals. */
const LOSS_BUCKETS = 10_000
const NETNS_DIR = '/run/netns'
const TABLE = 'inet rmlab'
const BRIDGE = 'br0'
const HOST_IFACE = 'eth0'
const NAME_PATTERN = /^rmlab-([0-9a-f]{6})-(sw|h\d+|r\d+)$/
/** Router k's address on the bridge: `.201`, `.202`, ... */
const FIRST_ROUTER_OCTET = 201
const MAX_NAT_SITES = 8
const NAT_TABLE = 'ip rmnat'
const PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']

export interface Host {
  /** 'h1', 'h2', ... */
  name: string
  /** The host's network namespace. */
  ns: string
  /** The host's IPv4 address on its `eth0` (a /24; behind NAT, its private address). */
  ip: string
  /** Set for a host behind a NAT router. */
  nat?: NatInfo
}

/**
 * A host behind its own router: masquerade, no inbound; `portmap` publishes one TCP port.
 * `randomPorts`: the masquerade picks a random source port for every connection (`fully-random`,
 * as carrier-grade NATs do), which defeats hole punching.
 */
export type NatSite = { mode: 'masquerade', randomPorts?: boolean } | { mode: 'portmap', externalPort: number, internalPort: number }

export interface NatInfo {
  /** The router's namespace. */
  router: string
  /** The router's address on the bridge: what the others see as this host's address. */
  externalIp: string
  site: NatSite
}

export type LabSupport = { ok: true } | { ok: false, reason: string }

export interface LabOptions {
  /** Number of hosts, 2..16. */
  hosts: number
  /** A private /24 such as '10.213.0.0/24'. @default a random free /24 in 10.64.0.0–10.254.255.0 */
  subnet?: string
  /** Hosts behind NAT routers, after the bridge hosts (h<hosts+1>, ...). At most 8. @default [] */
  nat?: NatSite[]
}

export interface ExecOptions {
  /** @default COMMAND_TIMEOUT_MS */
  timeoutMs?: number
  signal?: AbortSignal
  /** Written to the command's stdin, which is then closed. */
  input?: string
}

export type CutDirection = 'both' | 'inbound' | 'outbound'

export interface Lab {
  readonly hosts: readonly Host[]
  /** The lab's /24, e.g. '10.213.0.0/24'. */
  readonly subnet: string
  /** Every namespace of the lab: the switch first, then the hosts. */
  readonly namespaces: readonly string[]
  /** argv prefix that runs a command inside host h's namespace: ['ip','netns','exec',ns]. */
  wrap (h: Host): string[]
  /** Run a command inside the namespace; resolve stdout, reject (LabCommandError, with stderr) on failure. */
  exec (h: Host, argv: string[], options?: ExecOptions): Promise<string>
  /** Drop all traffic between the groups (both directions). Hosts not named stay connected to all. */
  partition (groups: Host[][]): Promise<void>
  /** Cut h off from the other hosts: everything ('both'), only what arrives ('inbound') or only what it sends ('outbound'). */
  cut (h: Host, direction: CutDirection): Promise<void>
  /** Drop `percent` % (0..100) of the packets each given host (default all) receives from and sends to other hosts; replaces their earlier loss, 0 removes it. */
  loss (percent: number, hosts?: Host[]): Promise<void>
  /** Remove every partition, cut and loss rule; the lab stays up. */
  heal (): Promise<void>
  /** Kill every process in the lab's namespaces and remove them (bridge, veths, tables go with them). Idempotent; never throws. */
  destroy (): Promise<void>
}

/** A command that failed: non-zero exit, killed (timeout) or not started. */
export class LabCommandError extends Error {
  override name = 'LabCommandError'
  constructor (readonly argv: readonly string[], readonly stderr: string, reason: string) {
    super(`${argv.join(' ')}: ${reason}${stderr.trim() !== '' ? `: ${stderr.trim()}` : ''}`)
  }
}

/** The harness cannot run on this machine. */
export class LabUnsupportedError extends Error {
  override name = 'LabUnsupportedError'
}

// ---- commands ----

/** Run argv (no shell) with a kill timer; resolve stdout on exit code 0. */
export async function runCommand (argv: readonly string[], options: ExecOptions = {}): Promise<string> {
  const [cmd, ...args] = argv
  if (cmd === undefined) throw new TypeError('runCommand needs a command')
  const timeout = AbortSignal.timeout(options.timeoutMs ?? COMMAND_TIMEOUT_MS)
  const signal = options.signal !== undefined ? AbortSignal.any([timeout, options.signal]) : timeout
  return await new Promise<string>((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], signal, killSignal: 'SIGKILL' })
    const out: Buffer[] = []
    const err: Buffer[] = []
    let bytes = 0
    let failure: string | undefined
    const collect = (into: Buffer[]) => (d: Buffer): void => {
      bytes += d.length
      if (bytes <= MAX_OUTPUT_BYTES) into.push(d)
      else if (failure === undefined) {
        failure = `output over ${MAX_OUTPUT_BYTES} bytes`
        child.kill('SIGKILL')
      }
    }
    child.stdout.on('data', collect(out))
    child.stderr.on('data', collect(err))
    // a grandchild holding the pipes must not keep 'close' from firing once the command is killed
    const dropPipes = (): void => { child.stdout.destroy(); child.stderr.destroy() }
    signal.addEventListener('abort', dropPipes, { once: true })
    child.on('error', e => {
      failure ??= e.name === 'AbortError' ? (timeout.aborted ? `timed out after ${options.timeoutMs ?? COMMAND_TIMEOUT_MS} ms` : 'aborted') : e.message
    })
    child.stdin.on('error', () => { /* the command exited without reading its input: its exit status tells */ })
    child.on('close', (code, sig) => {
      signal.removeEventListener('abort', dropPipes)
      const stderr = Buffer.concat(err).toString()
      if (failure === undefined && code === 0) resolve(Buffer.concat(out).toString())
      else reject(new LabCommandError(argv, stderr, failure ?? (sig !== null ? `killed by ${sig}` : `exit code ${String(code)}`)))
    })
    child.stdin.end(options.input)
  })
}

/** Run argv synchronously with a kill timer (for the support probe, the sweep and the exit hook). */
function runSync (argv: readonly string[]): { ok: true, stdout: string } | { ok: false, reason: string } {
  const [cmd, ...args] = argv
  if (cmd === undefined) throw new TypeError('runSync needs a command')
  const r = spawnSync(cmd, args, { timeout: COMMAND_TIMEOUT_MS, killSignal: 'SIGKILL', encoding: 'utf8', maxBuffer: MAX_OUTPUT_BYTES })
  if (r.error !== undefined) return { ok: false, reason: `${argv.join(' ')}: ${r.error.message}` }
  if (r.status !== 0) return { ok: false, reason: `${argv.join(' ')}: ${r.signal !== null ? `killed by ${r.signal}` : `exit code ${String(r.status)}`}: ${r.stderr.trim()}` }
  return { ok: true, stdout: r.stdout }
}

function warn (message: string): void {
  process.stderr.write(`[netns lab] ${message}\n`)
}

// ---- support ----

let support: LabSupport | undefined

/** Whether labs can run here: Linux, root, `ip netns` works, nftables usable. Probed once. */
export function labSupport (): LabSupport {
  support ??= probeSupport()
  return support
}

function probeSupport (): LabSupport {
  if (process.platform !== 'linux') return { ok: false, reason: `network namespaces need Linux, this is ${process.platform}` }
  if (process.getuid?.() !== 0) return { ok: false, reason: 'network namespaces need root' }
  for (const argv of [['ip', 'netns', 'list'], ['nft', 'list', 'tables']]) {
    const r = runSync(argv)
    if (!r.ok) return { ok: false, reason: r.reason }
  }
  return { ok: true }
}

// ---- addresses ----

interface Prefix { base: number, len: number }

function parseIpv4 (s: string): number | undefined {
  const parts = s.split('.')
  if (parts.length !== 4 || !parts.every(p => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0)
}

function formatIpv4 (n: number): string {
  return [24, 16, 8, 0].map(shift => (n >>> shift) & 255).join('.')
}

/** 'a.b.c.d/len', or a bare address as a /32. */
function parsePrefix (s: string): Prefix | undefined {
  const [addr = '', lenText] = s.split('/')
  const base = parseIpv4(addr)
  const len = lenText === undefined ? 32 : Number(lenText)
  if (base === undefined || !Number.isInteger(len) || len < 0 || len > 32) return undefined
  return { base, len }
}

function overlaps (a: Prefix, b: Prefix): boolean {
  const len = Math.min(a.len, b.len)
  if (len === 0) return true
  const mask = (~0 << (32 - len)) >>> 0
  return ((a.base & mask) >>> 0) === ((b.base & mask) >>> 0)
}

/** A private /24 with zero host bits, or a RangeError. */
function parseSubnet (subnet: string): Prefix {
  const p = parsePrefix(subnet)
  const inside = (r: string): boolean => { const q = parsePrefix(r); return q !== undefined && p !== undefined && overlaps(p, q) && p.len >= q.len }
  if (p === undefined || p.len !== 24 || (p.base & 255) !== 0 || !PRIVATE_RANGES.some(inside)) {
    throw new RangeError(`subnet must be a private /24 such as 10.213.0.0/24, got '${subnet}'`)
  }
  return p
}

interface RootEntry { prefix: Prefix, what: string }

/** The root namespace's IPv4 addresses and routes (all tables), default routes left out. */
async function rootEntries (): Promise<RootEntry[]> {
  const [routesJson, addrsJson] = await Promise.all([
    runCommand(['ip', '-4', '-j', 'route', 'show', 'table', 'all']),
    runCommand(['ip', '-4', '-j', 'addr', 'show'])
  ])
  const entries: RootEntry[] = []
  for (const r of JSON.parse(routesJson) as Array<{ dst?: string, dev?: string, type?: string }>) {
    const prefix = parsePrefix(r.dst ?? '')
    if (prefix !== undefined && prefix.len > 0) entries.push({ prefix, what: `route ${r.type ?? 'unicast'} ${r.dst ?? ''} dev ${r.dev ?? '?'}` })
  }
  for (const link of JSON.parse(addrsJson) as Array<{ ifname?: string, addr_info?: Array<{ local?: string }> }>) {
    for (const a of link.addr_info ?? []) {
      const prefix = parsePrefix(a.local ?? '')
      if (prefix !== undefined) entries.push({ prefix, what: `address ${a.local ?? ''} on ${link.ifname ?? '?'}` })
    }
  }
  return entries
}

/** What in the root namespace (addresses, routes other than default) overlaps `subnet`; [] when clean. */
export async function rootOverlaps (subnet: string): Promise<string[]> {
  const p = parseSubnet(subnet)
  return (await rootEntries()).filter(e => overlaps(e.prefix, p)).map(e => e.what)
}

/** A random /24 in 10.64–10.254 that neither the root namespace nor another live lab uses. */
export async function pickFreeSubnet (): Promise<string> {
  const [root, taken] = await Promise.all([rootEntries(), subnetsInUse()])
  for (let i = 0; i < MAX_SUBNET_TRIES; i++) {
    const subnet = `10.${randomInt(64, 255)}.${randomInt(0, 256)}.0/24`
    const p = parseSubnet(subnet)
    if (!taken.has(subnet) && !root.some(e => overlaps(e.prefix, p))) return subnet
  }
  throw new LabUnsupportedError(`no free /24 in 10.64.0.0/10 after ${MAX_SUBNET_TRIES} tries`)
}

// ---- owners and stale labs ----

interface Owner { pid: number, startTicks: number, subnet: string }

function ownerFile (tag: string): string {
  return `${OWNER_DIR}/${tag}.pid`
}

function parseOwner (text: string): Owner | undefined {
  const [pid, startTicks, subnet = ''] = text.trim().split(/\s+/)
  const owner = { pid: Number(pid), startTicks: Number(startTicks), subnet }
  return Number.isInteger(owner.pid) && Number.isInteger(owner.startTicks) ? owner : undefined
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks), so a reused pid is told apart. */
function processStartTicks (pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19])
  } catch {
    return undefined // no such process
  }
}

/**
 * Run `fn` holding a lock shared by every process of this machine (a file in OWNER_DIR, created
 * exclusively, naming its holder; a holder that is gone is replaced). Waits at most `waitMs`,
 * then runs `fn` anyway: the lock spreads load out, it does not guard correctness.
 */
export async function withMachineLock<T> (name: string, waitMs: number, fn: () => Promise<T>): Promise<T> {
  await mkdir(OWNER_DIR, { recursive: true })
  const file = `${OWNER_DIR}/${name}.lock`
  const me = `${process.pid} ${String(processStartTicks(process.pid))} -\n`
  const deadline = Date.now() + waitMs
  let held = false
  while (!held && Date.now() < deadline) {
    try {
      await writeFile(file, me, { flag: 'wx' })
      held = true
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const holder = parseOwner(await readFile(file, 'utf8').catch(() => ''))
      if (!ownerAlive(holder)) await rm(file, { force: true })
      else await delay(LOCK_POLL_MS)
    }
  }
  try {
    return await fn()
  } finally {
    if (held) await rm(file, { force: true })
  }
}

function ownerAlive (owner: Owner | undefined): boolean {
  return owner !== undefined && processStartTicks(owner.pid) === owner.startTicks
}

async function subnetsInUse (): Promise<Set<string>> {
  const files = await readdir(OWNER_DIR).catch(() => [])
  const owners = await Promise.all(files.map(async f => parseOwner(await readFile(`${OWNER_DIR}/${f}`, 'utf8').catch(() => ''))))
  return new Set(owners.filter((o): o is Owner => ownerAlive(o)).map(o => o.subnet))
}

/** Write the owner file of a fresh tag (exclusive create), and return the tag. */
async function claimTag (subnet: string): Promise<string> {
  await mkdir(OWNER_DIR, { recursive: true })
  const startTicks = processStartTicks(process.pid)
  if (startTicks === undefined || Number.isNaN(startTicks)) throw new LabUnsupportedError('cannot read this process\'s start time from /proc')
  const owner = `${process.pid} ${startTicks} ${subnet}\n`
  for (let i = 0; i < MAX_TAG_TRIES; i++) {
    const tag = randomBytes(3).toString('hex')
    if (existsSync(`${NETNS_DIR}/${LAB_PREFIX}${tag}-sw`)) continue
    try {
      await writeFile(ownerFile(tag), owner, { flag: 'wx' })
      return tag
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
  }
  throw new LabUnsupportedError(`no free lab tag after ${MAX_TAG_TRIES} tries`)
}

/** pids in a namespace (never this process), from `ip netns pids`. */
function parsePids (stdout: string): number[] {
  return stdout.split('\n').map(Number).filter(pid => Number.isInteger(pid) && pid > 1 && pid !== process.pid)
}

function killPids (pids: readonly number[]): void {
  for (const pid of pids) {
    try { process.kill(pid, 'SIGKILL') } catch { /* exited since it was listed */ }
  }
}

/** Kill what runs in the namespaces and delete them, synchronously; returns what failed. */
function removeNamespacesSync (namespaces: readonly string[]): string[] {
  const problems: string[] = []
  for (const ns of namespaces) {
    if (!existsSync(`${NETNS_DIR}/${ns}`)) continue
    const pids = runSync(['ip', 'netns', 'pids', ns])
    if (pids.ok) killPids(parsePids(pids.stdout))
    const del = runSync(['ip', 'netns', 'del', ns])
    if (!del.ok) problems.push(del.reason)
  }
  return problems
}

/**
 * Remove the labs (namespaces and owner files) whose owning process is gone, including
 * namespaces with the lab prefix and no owner file. Synchronous; logs what it removes.
 */
export function sweepStaleLabs (): void {
  const byTag = new Map<string, string[]>()
  const names = existsSync(NETNS_DIR) ? readdirSync(NETNS_DIR) : []
  for (const name of names) {
    const tag = NAME_PATTERN.exec(name)?.[1]
    if (tag !== undefined) byTag.set(tag, [...(byTag.get(tag) ?? []), name])
  }
  const ownerFiles = existsSync(OWNER_DIR) ? readdirSync(OWNER_DIR) : []
  for (const f of ownerFiles) {
    const tag = /^([0-9a-f]{6})\.pid$/.exec(f)?.[1]
    if (tag !== undefined && !byTag.has(tag)) byTag.set(tag, [])
  }
  for (const [tag, namespaces] of byTag) {
    let owner: Owner | undefined
    try { owner = parseOwner(readFileSync(ownerFile(tag), 'utf8')) } catch { owner = undefined }
    if (ownerAlive(owner)) continue
    if (namespaces.length > 0) warn(`sweeping stale lab ${tag} (owner ${owner !== undefined ? `pid ${owner.pid}` : 'unknown'} is gone): ${namespaces.join(' ')}`)
    for (const problem of removeNamespacesSync(namespaces)) warn(`could not remove: ${problem}`)
    rmSync(ownerFile(tag), { force: true })
  }
}

// ---- the lab ----

const liveLabs = new Set<NetnsLab>()
let exitHookInstalled = false

function installExitHook (): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.on('exit', () => {
    for (const lab of liveLabs) lab.destroySync()
  })
}

/** `ip netns pids ns` as numbers (never this process). */
export async function namespacePids (ns: string): Promise<number[]> {
  return parsePids(await runCommand(['ip', 'netns', 'pids', ns]))
}

/** SIGKILL every process in ns until none is left (bounded); returns what failed. */
async function emptyNamespace (ns: string): Promise<string[]> {
  for (let round = 0; round < KILL_ROUNDS; round++) {
    const pids = await namespacePids(ns)
    if (pids.length === 0) return []
    killPids(pids)
    await delay(KILL_POLL_MS)
  }
  return [`processes still running in ${ns}: ${(await namespacePids(ns)).join(' ')}`]
}

async function removeNamespace (ns: string): Promise<string[]> {
  if (!existsSync(`${NETNS_DIR}/${ns}`)) return []
  const problems = await emptyNamespace(ns).catch((err: Error) => [err.message])
  await runCommand(['ip', 'netns', 'del', ns]).catch((err: Error) => { problems.push(err.message) })
  return problems
}

/** The bridge netfilter switches are per namespace only since Linux 5.3; before, writing them would change the host's. */
function bridgeNetfilterKeys (): string[] {
  const [major = 0, minor = 0] = release().split('.').map(Number)
  if (major < 5 || (major === 5 && minor < 3)) return []
  return ['iptables', 'ip6tables', 'arptables'].map(k => `/proc/sys/net/bridge/bridge-nf-call-${k}`).filter(p => existsSync(p))
}

function dadKeys (): string[] {
  return ['all', 'default'].map(c => `/proc/sys/net/ipv6/conf/${c}/accept_dad`).filter(p => existsSync(p))
}

const CHAINS_SCRIPT = [
  `add table ${TABLE}`,
  ...['block_in', 'block_out', 'loss_in', 'loss_out'].map(c => `add chain ${TABLE} ${c}`),
  `add chain ${TABLE} input { type filter hook input priority 0; policy accept; }`,
  `add chain ${TABLE} output { type filter hook output priority 0; policy accept; }`,
  `add rule ${TABLE} input jump block_in`,
  `add rule ${TABLE} input jump loss_in`,
  `add rule ${TABLE} output jump block_out`,
  `add rule ${TABLE} output jump loss_out`
].join('\n') + '\n'

const HEAL_SCRIPT = ['block_in', 'block_out', 'loss_in', 'loss_out'].map(c => `flush chain ${TABLE} ${c}`).join('\n') + '\n'

function ipSet (ips: readonly string[]): string {
  return `{ ${ips.join(', ')} }`
}

/** Rules dropping what h receives from `from` and what it sends to `to`. */
function blockScript (from: readonly string[], to: readonly string[]): string {
  const lines: string[] = []
  if (from.length > 0) lines.push(`add rule ${TABLE} block_in ip saddr ${ipSet(from)} counter drop`)
  if (to.length > 0) lines.push(`add rule ${TABLE} block_out ip daddr ${ipSet(to)} counter drop`)
  return lines.join('\n') + '\n'
}

function lossScript (buckets: number, others: readonly string[]): string {
  const lines = [`flush chain ${TABLE} loss_in`, `flush chain ${TABLE} loss_out`]
  if (buckets > 0 && others.length > 0) {
    // nft refuses a bound equal to the modulus, and 100 % needs no draw
    const draw = buckets < LOSS_BUCKETS ? `numgen random mod ${LOSS_BUCKETS} < ${buckets} ` : ''
    lines.push(`add rule ${TABLE} loss_in ip saddr ${ipSet(others)} ${draw}counter drop`)
    lines.push(`add rule ${TABLE} loss_out ip daddr ${ipSet(others)} ${draw}counter drop`)
  }
  return lines.join('\n') + '\n'
}

class NetnsLab implements Lab {
  readonly hosts: readonly Host[]
  readonly namespaces: readonly string[]
  private readonly switchNs: string
  private destroying: Promise<void> | undefined

  constructor (private readonly tag: string, readonly subnet: string, hostCount: number, nat: readonly NatSite[] = []) {
    const base = parseSubnet(subnet).base
    this.switchNs = `${LAB_PREFIX}${tag}-sw`
    const bridged: Host[] = Array.from({ length: hostCount }, (_, i) => ({
      name: `h${i + 1}`,
      ns: `${LAB_PREFIX}${tag}-h${i + 1}`,
      ip: formatIpv4(base + FIRST_HOST_OCTET + i)
    }))
    const natted: Host[] = nat.map((site, k) => ({
      name: `h${hostCount + k + 1}`,
      ns: `${LAB_PREFIX}${tag}-h${hostCount + k + 1}`,
      ip: `192.168.${100 + k + 1}.2`,
      nat: { router: `${LAB_PREFIX}${tag}-r${k + 1}`, externalIp: formatIpv4(base + FIRST_ROUTER_OCTET + k), site }
    }))
    this.hosts = [...bridged, ...natted]
    this.namespaces = [this.switchNs, ...this.hosts.map(h => h.ns), ...natted.map(h => h.nat?.router as string)]
  }

  /** Namespaces one by one (concurrent `ip netns add` can race on the first mount of /run/netns), then the rest in parallel. */
  async build (): Promise<void> {
    for (const ns of this.namespaces) await runCommand(['ip', 'netns', 'add', ns])
    // `tee` writes "0" into each sysctl file, inside the namespace: no shell, no quoting
    const zero = async (ns: string, keys: string[]): Promise<void> => {
      if (keys.length > 0) await runCommand(['ip', 'netns', 'exec', ns, 'tee', ...keys], { input: '0\n' })
    }
    // before the veths exist, so their IPv6 link-local address skips duplicate detection
    await Promise.all([zero(this.switchNs, bridgeNetfilterKeys()), ...this.hosts.map(async h => await zero(h.ns, dadKeys()))])
    const switchScript = [
      `link add ${BRIDGE} type bridge stp_state 0 mcast_snooping 0`,
      `link set ${BRIDGE} up`,
      ...this.hosts.filter(h => h.nat === undefined).flatMap(h => [
        `link add ${h.name} type veth peer name ${HOST_IFACE} netns ${h.ns}`,
        `link set ${h.name} master ${BRIDGE}`,
        `link set ${h.name} up`
      ])
    ]
    await runCommand(['ip', '-n', this.switchNs, '-batch', '-'], { input: switchScript.join('\n') + '\n' })
    await Promise.all(this.hosts.map(async h => {
      // a multicast route, as a LAN host's default route would give: mDNS sends to 224.0.0.251
      const hostScript = h.nat !== undefined ? ['link set lo up'] : ['link set lo up', `addr add ${h.ip}/24 dev ${HOST_IFACE}`, `link set ${HOST_IFACE} up`, `route add 224.0.0.0/4 dev ${HOST_IFACE}`]
      await runCommand(['ip', '-n', h.ns, '-batch', '-'], { input: hostScript.join('\n') + '\n' })
      await this.nft(h, CHAINS_SCRIPT)
    }))
    await Promise.all(this.hosts.map(async h => await this.buildNat(h)))
  }

  /** h's router: a port of the bridge, a link to h, forwarding with masquerade and (portmap) one DNAT. */
  private async buildNat (h: Host): Promise<void> {
    const nat = h.nat
    if (nat === undefined) return
    const k = nat.router.slice(nat.router.lastIndexOf('-r') + 2)
    const lanIp = h.ip.replace(/\.2$/, '.1')
    await runCommand(['ip', 'netns', 'exec', nat.router, 'tee', '/proc/sys/net/ipv4/ip_forward'], { input: '1\n' })
    await runCommand(['ip', '-n', this.switchNs, '-batch', '-'], {
      input: [`link add r${k} type veth peer name ${HOST_IFACE} netns ${nat.router}`, `link set r${k} master ${BRIDGE}`, `link set r${k} up`].join('\n') + '\n'
    })
    await runCommand(['ip', '-n', nat.router, '-batch', '-'], {
      input: [
        'link set lo up', `addr add ${nat.externalIp}/24 dev ${HOST_IFACE}`, `link set ${HOST_IFACE} up`,
        `link add lan0 type veth peer name ${HOST_IFACE} netns ${h.ns}`, `addr add ${lanIp}/24 dev lan0`, 'link set lan0 up'
      ].join('\n') + '\n'
    })
    // the host's address goes on the veth that just arrived in its namespace
    await runCommand(['ip', '-n', h.ns, '-batch', '-'], {
      input: [`addr add ${h.ip}/24 dev ${HOST_IFACE}`, `link set ${HOST_IFACE} up`, `route add default via ${lanIp}`].join('\n') + '\n'
    })
    const site = nat.site
    const map = site.mode === 'portmap'
    await runCommand(['ip', 'netns', 'exec', nat.router, 'nft', '-f', '-'], {
      input: [
        `add table ${NAT_TABLE}`,
        `add chain ${NAT_TABLE} prerouting { type nat hook prerouting priority dstnat; policy accept; }`,
        `add chain ${NAT_TABLE} postrouting { type nat hook postrouting priority srcnat; policy accept; }`,
        `add chain ${NAT_TABLE} forward { type filter hook forward priority 0; policy drop; }`,
        // what arrives unasked for the router itself is dropped, not answered with a reset (a NAT
        // gateway's WAN side): a reset would end the other side's half of a TCP hole punch
        `add chain ${NAT_TABLE} input { type filter hook input priority 0; policy drop; }`,
        `add rule ${NAT_TABLE} input ct state established,related accept`,
        `add rule ${NAT_TABLE} input iifname != "${HOST_IFACE}" accept`,
        `add rule ${NAT_TABLE} postrouting oifname "${HOST_IFACE}" masquerade${site.mode === 'masquerade' && site.randomPorts === true ? ' fully-random' : ''}`,
        `add rule ${NAT_TABLE} forward ct state established,related accept`,
        `add rule ${NAT_TABLE} forward iifname "lan0" oifname "${HOST_IFACE}" accept`,
        ...(map ? [
          `add rule ${NAT_TABLE} prerouting iifname "${HOST_IFACE}" tcp dport ${site.externalPort} dnat to ${h.ip}:${site.internalPort}`,
          `add rule ${NAT_TABLE} forward iifname "${HOST_IFACE}" oifname "lan0" ct status dnat accept`
        ] : [])
      ].join('\n') + '\n'
    })
  }

  wrap (h: Host): string[] {
    return ['ip', 'netns', 'exec', this.own(h).ns]
  }

  async exec (h: Host, argv: string[], options: ExecOptions = {}): Promise<string> {
    this.assertUp()
    return await runCommand([...this.wrap(h), ...argv], options)
  }

  async partition (groups: Host[][]): Promise<void> {
    this.assertUp()
    const groupOf = new Map<string, number>()
    groups.forEach((group, g) => {
      for (const h of group) {
        if (groupOf.has(this.own(h).ns)) throw new RangeError(`host ${h.name} is in two partition groups`)
        groupOf.set(h.ns, g)
      }
    })
    await Promise.all(this.hosts.filter(h => groupOf.has(h.ns)).map(async h => {
      const apart = this.hosts.filter(o => groupOf.has(o.ns) && groupOf.get(o.ns) !== groupOf.get(h.ns)).map(o => o.ip)
      if (apart.length > 0) await this.nft(h, blockScript(apart, apart))
    }))
  }

  async cut (h: Host, direction: CutDirection): Promise<void> {
    this.assertUp()
    const others = this.othersOf(this.own(h))
    await this.nft(h, blockScript(direction === 'outbound' ? [] : others, direction === 'inbound' ? [] : others))
  }

  async loss (percent: number, hosts: Host[] = [...this.hosts]): Promise<void> {
    this.assertUp()
    if (!(percent >= 0 && percent <= 100)) throw new RangeError(`loss must be a percentage in 0..100, got ${percent}`)
    const buckets = Math.round(percent * LOSS_BUCKETS / 100)
    await Promise.all(hosts.map(async h => await this.nft(h, lossScript(buckets, this.othersOf(this.own(h))))))
  }

  async heal (): Promise<void> {
    this.assertUp()
    await Promise.all(this.hosts.map(async h => await this.nft(h, HEAL_SCRIPT)))
  }

  async destroy (): Promise<void> {
    this.destroying ??= this.teardown()
    await this.destroying
  }

  /** For the process exit hook: no waiting for the killed processes to be gone. */
  destroySync (): void {
    for (const problem of removeNamespacesSync(this.namespaces)) warn(`lab ${this.tag}: could not remove: ${problem}`)
    rmSync(ownerFile(this.tag), { force: true })
    liveLabs.delete(this)
  }

  private async teardown (): Promise<void> {
    try {
      const problems = (await Promise.all(this.namespaces.map(removeNamespace))).flat()
      for (const problem of problems) warn(`lab ${this.tag}: could not remove: ${problem}`)
      await rm(ownerFile(this.tag), { force: true })
    } catch (err) {
      warn(`lab ${this.tag}: teardown failed: ${(err as Error).message}`)
    } finally {
      liveLabs.delete(this)
    }
  }

  private async nft (h: Host, script: string): Promise<void> {
    await runCommand([...this.wrap(h), 'nft', '-f', '-'], { input: script })
  }

  private othersOf (h: Host): string[] {
    return this.hosts.filter(o => o.ns !== h.ns).map(o => o.ip)
  }

  private own (h: Host): Host {
    const mine = this.hosts.find(x => x.ns === h.ns)
    if (mine === undefined) throw new RangeError(`host ${h.name} (${h.ns}) is not in lab ${this.tag}`)
    return mine
  }

  private assertUp (): void {
    if (this.destroying !== undefined) throw new Error(`lab ${this.tag} is destroyed`)
  }
}

/** Sweep stale labs, then build a lab of `hosts` hosts on one bridge. On failure, removes what it built and rethrows. */
export async function createLab (options: LabOptions): Promise<Lab> {
  const count = options.hosts
  if (!Number.isInteger(count) || count < MIN_HOSTS || count > MAX_HOSTS) {
    throw new RangeError(`hosts must be an integer in ${MIN_HOSTS}..${MAX_HOSTS}, got ${count}`)
  }
  const s = labSupport()
  if (!s.ok) throw new LabUnsupportedError(s.reason)
  sweepStaleLabs()
  let subnet = options.subnet
  if (subnet !== undefined) {
    parseSubnet(subnet)
    const clash = await rootOverlaps(subnet)
    if (clash.length > 0) throw new RangeError(`subnet ${subnet} overlaps the root namespace: ${clash.join('; ')}`)
  } else {
    subnet = await pickFreeSubnet()
  }
  const nat = options.nat ?? []
  if (nat.length > MAX_NAT_SITES) throw new RangeError(`at most ${MAX_NAT_SITES} NAT sites, got ${nat.length}`)
  const lab = new NetnsLab(await claimTag(subnet), subnet, count, nat)
  liveLabs.add(lab)
  installExitHook()
  try {
    await lab.build()
  } catch (err) {
    await lab.destroy()
    throw err
  }
  return lab
}
