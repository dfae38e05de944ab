import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  createLab, labSupport, LAB_PREFIX, namespacePids, OWNER_DIR, pickFreeSubnet, rootOverlaps, runCommand, sweepStaleLabs,
  type Host, type Lab
} from './netns.js'

/** A port nothing listens on: a refusal (RST) proves the round trip as well as an accept would. */
const PROBE_PORT = 9
const UDP_PORT = 7001
/** How long a probe waits for an answer before calling the path cut. */
const PROBE_WAIT_MS = 700
/** How long a UDP receiver waits for a datagram before saying none came. */
const SILENCE_MS = 700
/** Bound on any background helper process. */
const HELPER_TIMEOUT_MS = 10_000

/** argv: port, waitMs, ip...; prints {ip: reachable}. */
const PROBE_SCRIPT = `
const net = require('node:net')
const [port, waitMs, ...ips] = process.argv.slice(1)
Promise.all(ips.map(ip => new Promise(resolve => {
  const s = net.connect({ host: ip, port: Number(port), timeout: Number(waitMs) })
  const done = ok => { s.destroy(); resolve([ip, ok]) }
  s.on('timeout', () => done(false))
  s.on('connect', () => done(true))
  s.on('error', e => done(e.code === 'ECONNREFUSED'))
}))).then(r => process.stdout.write(JSON.stringify(Object.fromEntries(r))))
`

/** argv: ip, port, waitMs; prints 'ready', then 'got <text>' or 'none'. */
const RECEIVE_SCRIPT = `
const dgram = require('node:dgram')
const [ip, port, waitMs] = process.argv.slice(1)
const s = dgram.createSocket('udp4')
s.on('message', m => { process.stdout.write('got ' + m.toString() + '\\n'); process.exit(0) })
s.bind(Number(port), ip, () => {
  process.stdout.write('ready\\n')
  // the silence is counted from when the sender is done (a line on stdin), not from 'ready':
  // on a loaded machine starting the sender's process alone took longer than the window
  process.stdin.once('data', () => setTimeout(() => { process.stdout.write('none\\n'); process.exit(0) }, Number(waitMs)))
})
`

/** argv: ip, port, text; a send refused by the local firewall (EPERM) is not an error here. */
const SEND_SCRIPT = `
const dgram = require('node:dgram')
const [ip, port, text] = process.argv.slice(1)
const s = dgram.createSocket('udp4')
s.send(text, Number(port), ip, err => { process.stdout.write(err ? 'refused ' + err.code : 'sent'); s.close() })
`

/** Which other hosts (and addresses) `from` reaches over TCP. */
async function reachable (lab: Lab, from: Host, ips: string[]): Promise<string[]> {
  const out = await lab.exec(from, [process.execPath, '-e', PROBE_SCRIPT, String(PROBE_PORT), String(PROBE_WAIT_MS), ...ips])
  const result = JSON.parse(out) as Record<string, boolean>
  return ips.filter(ip => result[ip] === true)
}

/** For each host, the names of the other hosts it reaches (all probes in parallel). */
async function reachMatrix (lab: Lab): Promise<Record<string, string[]>> {
  const rows = await Promise.all(lab.hosts.map(async h => {
    const others = lab.hosts.filter(o => o !== h)
    const ok = await reachable(lab, h, others.map(o => o.ip))
    return [h.name, others.filter(o => ok.includes(o.ip)).map(o => o.name)] as const
  }))
  return Object.fromEntries(rows)
}

function fullMesh (lab: Lab): Record<string, string[]> {
  return Object.fromEntries(lab.hosts.map(h => [h.name, lab.hosts.filter(o => o !== h).map(o => o.name)]))
}

/** Start `argv` in h's namespace in the background, killed at the latest after HELPER_TIMEOUT_MS. */
function spawnIn (lab: Lab, h: Host, argv: string[]): ChildProcess {
  const [cmd = 'ip', ...args] = [...lab.wrap(h), ...argv]
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], signal: AbortSignal.timeout(HELPER_TIMEOUT_MS), killSignal: 'SIGKILL' })
  child.stdin?.on('error', () => { /* the helper exited before reading: its output tells */ })
  child.on('error', () => { /* the abort (timeout) kill; the test sees the missing output */ })
  return child
}

/** Whether one UDP datagram sent by `from` reaches `to`. */
async function udpDelivered (lab: Lab, from: Host, to: Host): Promise<boolean> {
  const receiver = spawnIn(lab, to, [process.execPath, '-e', RECEIVE_SCRIPT, to.ip, String(UDP_PORT), String(SILENCE_MS)])
  const lines = createInterface({ input: receiver.stdout! })[Symbol.asyncIterator]()
  expect((await lines.next()).value).toBe('ready')
  await lab.exec(from, [process.execPath, '-e', SEND_SCRIPT, to.ip, String(UDP_PORT), `from-${from.name}`])
  receiver.stdin?.write('sent\n')
  const verdict = (await lines.next()).value as string | undefined
  expect(['got', 'none']).toContain(verdict?.split(' ')[0])
  return verdict === `got from-${from.name}`
}

async function namespaceList (): Promise<string> {
  return await runCommand(['ip', 'netns', 'list'])
}

const support = labSupport()

describe.skipIf(!support.ok)(`emulated hosts${support.ok ? '' : ` (skipped: ${support.reason})`}`, () => {
  let lab: Lab
  let h1: Host, h2: Host, h3: Host

  beforeAll(async () => {
    lab = await createLab({ hosts: 3 })
    ;[h1, h2, h3] = lab.hosts as [Host, Host, Host]
  })
  afterEach(async () => { await lab.heal() })
  afterAll(async () => { await lab?.destroy() })

  it('lets every host reach every other, and leaves the root namespace without the subnet', async () => {
    expect(lab.hosts.map(h => h.ip)).toEqual([11, 12, 13].map(n => lab.subnet.replace(/0\/24$/, String(n))))
    expect(await reachMatrix(lab)).toEqual(fullMesh(lab))
    expect(await rootOverlaps(lab.subnet)).toEqual([])
  })

  it('partitions groups from each other in both directions until healed', async () => {
    await lab.partition([[h1], [h2, h3]])
    expect(await reachMatrix(lab)).toEqual({ h1: [], h2: ['h3'], h3: ['h2'] })
    await lab.heal()
    expect(await reachMatrix(lab)).toEqual(fullMesh(lab))
  })

  it('cuts a host inbound only: what it sends arrives, nothing reaches it', async () => {
    await lab.cut(h1, 'inbound')
    expect(await reachable(lab, h2, [h1.ip])).toEqual([])
    expect(await udpDelivered(lab, h1, h2)).toBe(true)
    expect(await udpDelivered(lab, h2, h1)).toBe(false)
    expect(await reachable(lab, h2, [h3.ip])).toEqual([h3.ip])
  })

  it('cuts a host outbound only: it hears the others, they never hear it', async () => {
    await lab.cut(h1, 'outbound')
    expect(await udpDelivered(lab, h2, h1)).toBe(true)
    expect(await udpDelivered(lab, h1, h2)).toBe(false)
  })

  it('cuts a host off entirely without touching its loopback', async () => {
    await lab.cut(h1, 'both')
    expect(await reachMatrix(lab)).toEqual({ h1: [], h2: ['h3'], h3: ['h2'] })
    expect(await reachable(lab, h1, [h1.ip, '127.0.0.1'])).toEqual([h1.ip, '127.0.0.1'])
  })

  it('drops everything at 100 % loss, and nothing once loss is 0 or healed', async () => {
    await lab.loss(100)
    expect(await reachMatrix(lab)).toEqual({ h1: [], h2: [], h3: [] })
    await lab.loss(0)
    expect(await reachMatrix(lab)).toEqual(fullMesh(lab))
    await lab.loss(100, [h3])
    expect(await reachMatrix(lab)).toEqual({ h1: ['h2'], h2: ['h1'], h3: [] })
    await lab.heal()
    expect(await reachMatrix(lab)).toEqual(fullMesh(lab))
  })

  it('destroys every namespace and every process in them, and can be called again', async () => {
    const subnet = await pickFreeSubnet()
    expect(await rootOverlaps(subnet)).toEqual([])
    const other = await createLab({ hosts: 2, subnet })
    const [a] = other.hosts as [Host]
    const sleeper = spawnIn(other, a, ['sleep', '600'])
    try {
      await expect.poll(async () => await namespacePids(a.ns), { timeout: 5_000 }).toContain(sleeper.pid)
      expect(await rootOverlaps(subnet)).toEqual([])
      await other.destroy()
      await other.destroy()
      const list = await namespaceList()
      for (const ns of other.namespaces) expect(list).not.toContain(ns)
      await expect.poll(() => sleeper.signalCode, { timeout: 5_000 }).toBe('SIGKILL')
      expect(await rootOverlaps(subnet)).toEqual([])
    } finally {
      sleeper.kill('SIGKILL')
      await other.destroy()
    }
  })

  it('sweeps a lab whose owner process is gone', async () => {
    const tag = randomBytes(3).toString('hex')
    const ns = `${LAB_PREFIX}${tag}-h1`
    await mkdir(OWNER_DIR, { recursive: true })
    // this pid with another start time: the owner's pid now belongs to a different process
    await writeFile(`${OWNER_DIR}/${tag}.pid`, `${process.pid} -1 10.0.0.0/24\n`)
    await runCommand(['ip', 'netns', 'add', ns])
    const sleeper = spawn('ip', ['netns', 'exec', ns, 'sleep', '600'], { stdio: 'ignore', signal: AbortSignal.timeout(HELPER_TIMEOUT_MS), killSignal: 'SIGKILL' })
    sleeper.on('error', () => { /* the abort (timeout) kill */ })
    try {
      await expect.poll(async () => await namespacePids(ns), { timeout: 5_000 }).toContain(sleeper.pid)
      sweepStaleLabs()
      expect(await namespaceList()).not.toContain(ns)
      await expect.poll(() => sleeper.signalCode, { timeout: 5_000 }).toBe('SIGKILL')
    } finally {
      sleeper.kill('SIGKILL')
      await runCommand(['ip', 'netns', 'del', ns]).catch(() => { /* swept, as expected */ })
      await rm(`${OWNER_DIR}/${tag}.pid`, { force: true })
    }
  })
})
