/**
 * The harness's NAT sites, checked with plain TCP: a masquerading router lets its host out
 * (under the router's address) and nothing in; a port-mapping router also forwards its published
 * port to the host; destroying the lab removes the routers too.
 *
 * Also what a TCP hole punch needs of the NAT, and why riftmesh's TCP cannot punch anyway: the
 * masquerade keeps a host's source port and uses one mapping for every destination (endpoint-
 * independent mapping), and lets in only replies to what went out (address- and port-dependent
 * filtering). Two NATed hosts that dial each other at the same time from fixed ports therefore
 * connect (TCP simultaneous open); from ephemeral ports, as @libp2p/tcp dials, they never do.
 * Node cannot dial from the port its own server listens on (no SO_REUSEPORT for client sockets),
 * which is what libp2p's DCUtR over TCP would need (docs/OPERATIONS.md §11).
 */
import { existsSync } from 'node:fs'
import { createServer, connect as tcpConnect, type Server } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLab, labSupport, type Host, type Lab } from './netns.js'

const support = labSupport()
const PORT = 4100
const MAPPED = 41_000
/** Bound on the listening helper and on each connect. */
const SERVER_MS = 6_000
const CONNECT_MS = 1_500
/** The fixed ports of the hole-punch checks, and how long each side keeps trying. */
const SOURCE_PORT = 4200
const PUNCH_PORT = 4300
const PUNCH_MS = 6_000

/** argv: port, ms; prints each peer address on its own line, exits after ms. */
const SERVER = `
const [port, ms] = process.argv.slice(1)
require('node:net').createServer(s => { process.stdout.write(s.remoteAddress.replace('::ffff:', '') + '\\n'); s.end() }).listen(Number(port), () => process.stdout.write('ready\\n'))
setTimeout(() => process.exit(0), Number(ms))
`
/** argv: ip, port, ms; prints 'connected', 'refused', 'unreachable' or 'timeout'. */
const CONNECT = `
const [ip, port, ms] = process.argv.slice(1)
const s = require('node:net').connect({ host: ip, port: Number(port), timeout: Number(ms) })
const done = r => { process.stdout.write(r); s.destroy(); process.exit(0) }
s.on('connect', () => done('connected'))
s.on('timeout', () => done('timeout'))
s.on('error', e => done(e.code === 'ECONNREFUSED' ? 'refused' : /UNREACH/.test(e.code) ? 'unreachable' : e.code))
`
/** argv: port, ms; prints '<address>:<port>' of each peer on its own line, exits after ms. */
const SERVER_PORTS = `
const [port, ms] = process.argv.slice(1)
require('node:net').createServer(s => { process.stdout.write(s.remoteAddress.replace('::ffff:', '') + ':' + s.remotePort + '\\n'); s.end() }).listen(Number(port))
setTimeout(() => process.exit(0), Number(ms))
`
/**
 * argv: ip, port, localPort ('0': an ephemeral one), ms. Dials until connected or ms is over (a
 * SYN dropped by the other side's router is sent again by the kernel); prints 'connected' or the
 * last failure. Never listens: the socket that connects is the dialling one.
 */
const PUNCH = `
const [ip, port, localPort, ms] = process.argv.slice(1)
const end = Date.now() + Number(ms)
let last = 'timeout'
const attempt = () => {
  if (Date.now() >= end) { process.stdout.write(last); process.exit(0) }
  const opts = { host: ip, port: Number(port), timeout: Math.max(1, end - Date.now()) }
  if (localPort !== '0') opts.localPort = Number(localPort)
  const s = require('node:net').connect(opts)
  s.on('connect', () => { process.stdout.write('connected'); s.destroy(); setTimeout(() => process.exit(0), 200) })
  s.on('timeout', () => { last = 'timeout'; s.destroy(); attempt() })
  s.on('error', e => { last = e.code; s.destroy(); setTimeout(attempt, 100) })
}
attempt()
`

describe.skipIf(!support.ok)(`NAT sites of the emulated hosts${support.ok ? '' : ` (skipped: ${support.reason})`}`, () => {
  let lab: Lab
  let pub: Host
  let pub2: Host
  let masq: Host
  let masq2: Host
  let mapped: Host
  let random: Host

  beforeAll(async () => {
    lab = await createLab({ hosts: 2, nat: [{ mode: 'masquerade' }, { mode: 'masquerade' }, { mode: 'portmap', externalPort: MAPPED, internalPort: PORT }, { mode: 'masquerade', randomPorts: true }] })
    ;[pub, pub2, masq, masq2, mapped, random] = lab.hosts as [Host, Host, Host, Host, Host, Host]
  }, 60_000)

  afterAll(async () => {
    await lab?.destroy()
  }, 60_000)

  /** Until something listens on h's PORT (bounded). */
  async function waitListening (h: Host): Promise<void> {
    for (let i = 0; i < 40; i++) {
      if (await lab.exec(h, [process.execPath, '-e', CONNECT, '127.0.0.1', String(PORT), '200']) === 'connected') return
    }
    throw new Error(`nothing listens on ${h.name}:${PORT}`)
  }

  /** Run a server on h for SERVER_MS while `probe` runs; the addresses it saw. */
  async function serving (h: Host, probe: () => Promise<string[]>): Promise<{ seen: string[], results: string[] }> {
    let ready!: () => void
    const isReady = new Promise<void>(resolve => { ready = resolve })
    const server = lab.exec(h, [process.execPath, '-e', SERVER, String(PORT), String(SERVER_MS)], { timeoutMs: SERVER_MS + 4_000 })
    // the server prints 'ready' first; exec resolves only at exit, so poll the port instead
    for (let i = 0; i < 40; i++) {
      const r = await lab.exec(h, [process.execPath, '-e', CONNECT, '127.0.0.1', String(PORT), '200'])
      if (r === 'connected') { ready(); break }
    }
    await isReady
    const results = await probe()
    const seen = (await server).split('\n').filter(l => l !== '' && l !== 'ready' && l !== '127.0.0.1')
    return { seen, results }
  }

  const connect = async (from: Host, ip: string, port: number): Promise<string> =>
    await lab.exec(from, [process.execPath, '-e', CONNECT, ip, String(port), String(CONNECT_MS)])

  it('a host behind a masquerading router reaches the bridge under the router\'s address', async () => {
    const { seen, results } = await serving(pub, async () => [await connect(masq, pub.ip, PORT)])
    expect(results).toEqual(['connected'])
    expect(seen).toEqual([masq.nat?.externalIp])
  })

  it('nothing gets in to a masqueraded host: not its private address, not the router\'s', async () => {
    const { seen, results } = await serving(masq, async () => [await connect(pub, masq.ip, PORT), await connect(pub, masq.nat?.externalIp ?? '', PORT)])
    expect(results[0]).toBe('unreachable')
    expect(results[1]).not.toBe('connected')
    expect(seen).toEqual([])
  })

  it('a port-mapping router forwards its published port to the host\'s listen port', async () => {
    const { seen, results } = await serving(mapped, async () => [await connect(pub, mapped.nat?.externalIp ?? '', MAPPED), await connect(pub, mapped.nat?.externalIp ?? '', PORT)])
    expect(results[0]).toBe('connected')
    expect(results[1]).not.toBe('connected')
    expect(seen).toEqual([pub.ip])
  })

  it('the masquerade keeps the host\'s source port and uses one mapping for every destination', async () => {
    const servers = [pub, pub2].map(h => lab.exec(h, [process.execPath, '-e', SERVER_PORTS, String(PORT), String(SERVER_MS)], { timeoutMs: SERVER_MS + 4_000 }))
    await waitListening(pub)
    await waitListening(pub2)
    // two connections from one source port to two destinations, the first still open
    const results = await Promise.all([pub, pub2].map(async h => await lab.exec(masq, [process.execPath, '-e', PUNCH, h.ip, String(PORT), String(SOURCE_PORT), String(CONNECT_MS)])))
    expect(results).toEqual(['connected', 'connected'])
    const seen = (await Promise.all(servers)).flatMap(out => out.split('\n').filter(l => l !== '' && !l.startsWith('127.0.0.1:')))
    expect(seen).toEqual([`${masq.nat?.externalIp ?? ''}:${SOURCE_PORT}`, `${masq.nat?.externalIp ?? ''}:${SOURCE_PORT}`])
  })

  it('two masqueraded hosts dialling each other at once from fixed ports connect (TCP simultaneous open: the NAT lets a hole punch through)', async () => {
    const results = await Promise.all([[masq, masq2], [masq2, masq]].map(async ([from, to]) =>
      await lab.exec(from as Host, [process.execPath, '-e', PUNCH, to?.nat?.externalIp ?? '', String(PUNCH_PORT), String(PUNCH_PORT), String(PUNCH_MS)], { timeoutMs: PUNCH_MS + 4_000 })))
    expect(results).toEqual(['connected', 'connected'])
  })

  it('from ephemeral source ports, as libp2p\'s TCP transport dials, the same simultaneous dials never connect', async () => {
    const results = await Promise.all([[masq, masq2], [masq2, masq]].map(async ([from, to]) =>
      await lab.exec(from as Host, [process.execPath, '-e', PUNCH, to?.nat?.externalIp ?? '', String(PUNCH_PORT), '0', String(PUNCH_MS)], { timeoutMs: PUNCH_MS + 4_000 })))
    expect(results).not.toContain('connected')
  })

  it('a port-randomising masquerade picks another source port, and a fixed-port punch through it never connects', async () => {
    const server = lab.exec(pub, [process.execPath, '-e', SERVER_PORTS, String(PORT), String(SERVER_MS)], { timeoutMs: SERVER_MS + 4_000 })
    await waitListening(pub)
    expect(await lab.exec(random, [process.execPath, '-e', PUNCH, pub.ip, String(PORT), String(SOURCE_PORT), String(CONNECT_MS)])).toBe('connected')
    const seen = (await server).split('\n').filter(l => l !== '' && !l.startsWith('127.0.0.1:'))
    expect(seen).toHaveLength(1)
    expect(seen[0]).toMatch(new RegExp(`^${random.nat?.externalIp ?? ''}:\\d+$`))
    expect(seen[0]).not.toBe(`${random.nat?.externalIp ?? ''}:${SOURCE_PORT}`)
    const results = await Promise.all([[masq, random], [random, masq]].map(async ([from, to]) =>
      await lab.exec(from as Host, [process.execPath, '-e', PUNCH, to?.nat?.externalIp ?? '', String(PUNCH_PORT), String(PUNCH_PORT), String(PUNCH_MS)], { timeoutMs: PUNCH_MS + 4_000 })))
    expect(results).not.toContain('connected')
  })

  it('destroy removes the routers with the hosts', async () => {
    const routers = lab.hosts.flatMap(h => h.nat === undefined ? [] : [h.nat.router])
    expect(routers).toHaveLength(4)
    await lab.destroy()
    for (const ns of [...lab.namespaces, ...routers]) expect(existsSync(`/run/netns/${ns}`), ns).toBe(false)
  })
})

describe('why libp2p\'s TCP transport cannot punch holes on Node', () => {
  let server: Server | undefined
  let target: Server | undefined

  afterAll(async () => {
    await Promise.all([server, target].map(async s => await new Promise<void>(resolve => s === undefined ? resolve() : s.close(() => resolve()))))
  })

  it('a socket cannot dial from the port its own server listens on, even with reusePort on the server (EADDRINUSE)', async () => {
    const listening = async (s: Server, opts: { port: number, host: string, reusePort?: boolean }): Promise<number> => await new Promise((resolve, reject) => {
      s.once('error', reject)
      s.listen(opts, () => resolve((s.address() as { port: number }).port))
    })
    target = createServer(c => c.end())
    const targetPort = await listening(target, { port: 0, host: '127.0.0.1' })
    server = createServer(c => c.end())
    const ownPort = await listening(server, { port: 0, host: '127.0.0.1', reusePort: true })
    const outcome = await new Promise<string>(resolve => {
      const s = tcpConnect({ host: '127.0.0.1', port: targetPort, localPort: ownPort })
      s.once('connect', () => { resolve('connected'); s.destroy() })
      s.once('error', e => resolve((e as NodeJS.ErrnoException).code ?? e.message))
    })
    expect(outcome).toBe('EADDRINUSE')
  })
})
