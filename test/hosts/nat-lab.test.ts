/**
 * The harness's NAT sites, checked with plain TCP: a masquerading router lets its host out
 * (under the router's address) and nothing in; a port-mapping router also forwards its published
 * port to the host; destroying the lab removes the routers too.
 */
import { existsSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLab, labSupport, type Host, type Lab } from './netns.js'

const support = labSupport()
const PORT = 4100
const MAPPED = 41_000
/** Bound on the listening helper and on each connect. */
const SERVER_MS = 6_000
const CONNECT_MS = 1_500

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

describe.skipIf(!support.ok)(`NAT sites of the emulated hosts${support.ok ? '' : ` (skipped: ${support.reason})`}`, () => {
  let lab: Lab
  let pub: Host
  let masq: Host
  let mapped: Host

  beforeAll(async () => {
    lab = await createLab({ hosts: 2, nat: [{ mode: 'masquerade' }, { mode: 'portmap', externalPort: MAPPED, internalPort: PORT }] })
    ;[pub, , masq, mapped] = lab.hosts as [Host, Host, Host, Host]
  }, 60_000)

  afterAll(async () => {
    await lab?.destroy()
  }, 60_000)

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

  it('destroy removes the routers with the hosts', async () => {
    const routers = lab.hosts.flatMap(h => h.nat === undefined ? [] : [h.nat.router])
    expect(routers).toHaveLength(2)
    await lab.destroy()
    for (const ns of [...lab.namespaces, ...routers]) expect(existsSync(`/run/netns/${ns}`), ns).toBe(false)
  })
})
