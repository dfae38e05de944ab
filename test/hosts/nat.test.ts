/**
 * Beyond one subnet, on emulated hosts: two public hosts on the lab's bridge (its "internet"),
 * two hosts each behind its own NAT router (masquerade, nothing new gets in) and one behind a
 * router that publishes its port 4100 as 41000. Every node is started as docs/OPERATIONS.md says
 * for its situation: public and behind NAT with `--bootstrap` only (relaying is on by default),
 * the port-mapped one with `--announce`. The two NATed hosts reach each other through a relay,
 * then directly through riftmesh's hole punch. Then two hosts behind NATs that pick a new port
 * per connection, where the punch cannot connect and they stay relayed, and two hosts on one
 * bridge with `--mdns` and no bootstrap list (LAN only).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHash } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { sleep, SystemClock } from '../../src/core/clock.js'
import { DEFAULT_DEAD_AFTER_MS } from '../../src/config/defaults.js'
import { tempDir } from '../helpers.js'
import { createLab, labSupport, type Host, type Lab } from './netns.js'
import { HostCluster, TRAINER, WORKLOAD } from './cluster.js'
import { meshTable } from '../../src/repl/mesh-view.js'

const support = labSupport()
const clock = new SystemClock()
const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex')
const skipped = support.ok ? '' : ` (skipped: ${support.reason})`

const MAPPED_PORT = 41_000

interface NodeInfoDoc { control?: { nodes?: Record<string, { addrs: string[] }> } }

describe.skipIf(!support.ok)(`public, NATed and port-mapped hosts in one cluster${skipped}`, () => {
  let lab: Lab
  let root: string
  let cleanup: () => Promise<void>
  let c: HostCluster
  let pub: Host[] // h1 (bootstrap), h2
  let natted: Host[] // h3, h4: masquerade, no inbound
  let mapped: Host // h5: port 4100 published as 41000
  let all: Host[]
  let lastStartMono = 0
  const name = (id: string): string => all.find(x => c.node(x).peerId === id)?.name ?? id

  beforeAll(async () => {
    ({ dir: root, cleanup } = await tempDir('riftmesh-nat-'))
    lab = await createLab({ hosts: 2, nat: [{ mode: 'masquerade' }, { mode: 'masquerade' }, { mode: 'portmap', externalPort: MAPPED_PORT, internalPort: 4100 }] })
    all = [...lab.hosts]
    pub = all.slice(0, 2)
    natted = all.slice(2, 4)
    mapped = all[4] as Host
    c = new HostCluster(lab, root)
    await c.init()
    const key = ['--swarm-key', c.keyFile]
    await c.starting(async () => {
      const boot = await c.start(pub[0] as Host, key, WORKLOAD)
      const join = [...key, '--bootstrap', boot.addr]
      await Promise.all([
        c.start(pub[1] as Host, join, WORKLOAD),
        c.start(natted[0] as Host, join, WORKLOAD),
        c.start(natted[1] as Host, join, TRAINER),
        c.start(mapped, [...join, '--announce', `/ip4/${mapped.nat?.externalIp ?? ''}/tcp/${MAPPED_PORT}`], WORKLOAD)
      ])
    })
    lastStartMono = clock.monoMs()
  }, 300_000) // waiting for other host files' starts, then two rounds of node starts

  afterAll(async () => {
    await c?.stop()
    await lab?.destroy()
    await cleanup?.()
  }, 60_000)

  it('all five join from one bootstrap address; the NATed hosts reach each other through a relay, then directly through a punched hole; status shows direct or relayed per peer, and reachability', async () => {
    await c.fullMesh(all, 45_000)
    console.log(`NAT lab: every host connected to the 4 others ${clock.monoMs() - lastStartMono} ms after the last start`)
    const [h3, h4] = natted as [Host, Host]
    // h3 ↔ h4: relayed first, then the punch: a direct connection between the two routers' addresses
    let toH4: { path?: string | null, addr: string | null } | undefined
    await expect.poll(async () => {
      toH4 = (await c.status(h3)).mesh.peers.find(p => p.nodeId === c.node(h4).peerId)
      return toH4?.path
    }, { timeout: 30_000, interval: 250 }).toBe('direct')
    console.log(`NATed h3 → NATed h4 direct ${clock.monoMs() - lastStartMono} ms after the last start, on ${toH4?.addr ?? ''}`)
    expect(toH4?.addr).toMatch(new RegExp(`^/ip4/${h4.nat?.externalIp ?? ''}/tcp/\\d+`))
    const s3 = await c.status(h3)
    for (const p of pub) expect(s3.mesh.peers.find(x => x.nodeId === c.node(p).peerId)?.path).toBe('direct')
    await expect.poll(async () => (await c.status(natted[0] as Host)).mesh.reachability?.state, { timeout: 20_000 }).toBe('private')
    await expect.poll(async () => (await c.status(pub[0] as Host)).mesh.reachability?.state, { timeout: 20_000 }).toBe('public')
    // a NATed host advertises relayed addresses (two relays) beside its private one
    let addrs3: string[] = []
    const relaysOf = (addrs: string[]): Set<string> => new Set(addrs.filter(a => a.includes('/p2p-circuit')).map(a => /\/p2p\/([^/]+)\/p2p-circuit/.exec(a)?.[1] ?? ''))
    await expect.poll(async () => {
      const doc = await c.node(pub[1] as Host).request('doc') as NodeInfoDoc
      addrs3 = doc.control?.nodes?.[c.node(natted[0] as Host).peerId]?.addrs ?? []
      return relaysOf(addrs3).size
    }, { timeout: 20_000, interval: 250 }).toBeGreaterThanOrEqual(2)
    console.log(`h3 advertises ${addrs3.length} address(es), relayed through ${[...relaysOf(addrs3)].map(name).join(', ')}, ${clock.monoMs() - lastStartMono} ms after the last start`)
    // the table status prints
    const shown = meshTable((await c.statusJson(natted[0] as Host)).mesh)
    console.log(shown)
    expect(shown).toMatch(/reachability: private — /)
    expect(shown).toMatch(/direct/)
  }, 90_000)

  it('a restarted NATed host reaches a public member directly and the other NATed one through a relay, then directly (timed)', async () => {
    const [h3, h4] = natted as [Host, Host]
    await c.node(h4).stop('SIGTERM')
    await c.start(h4, ['--swarm-key', c.keyFile, '--bootstrap', c.node(pub[0] as Host).addr], TRAINER)
    const t0 = clock.monoMs()
    const reached = new Map<string, number>()
    const targets = new Map([[c.node(pub[1] as Host).peerId, 'public h2'], [c.node(h3).peerId, 'NATed h3']])
    await expect.poll(async () => {
      const s = await c.status(h4)
      for (const p of s.mesh.peers) {
        const what = targets.get(p.nodeId)
        if (what !== undefined && p.connected && p.path !== undefined && !reached.has(`${what} (${p.path})`)) reached.set(`${what} (${p.path})`, clock.monoMs() - t0)
      }
      return reached.has('public h2 (direct)') && reached.has('NATed h3 (direct)')
    }, { timeout: 30_000, interval: 100 }).toBe(true)
    console.log(`restarted NATed h4 reached ${[...reached].map(([w, ms]) => `${w} after ${ms} ms`).join(', ')} (from its start, status polled every 100 ms)`)
    expect((await c.status(h4)).mesh.peers.find(p => p.nodeId === c.node(h3).peerId)?.addr).toMatch(new RegExp(`^/ip4/${h3.nat?.externalIp ?? ''}/tcp/`))
  }, 60_000)

  it('the port-mapped host, given --announce, advertises only the published address and the others dial it there directly', async () => {
    const ext = `/ip4/${mapped.nat?.externalIp ?? ''}/tcp/${MAPPED_PORT}/p2p/${c.node(mapped).peerId}`
    const doc = await c.node(pub[0] as Host).request('doc') as NodeInfoDoc
    expect(doc.control?.nodes?.[c.node(mapped).peerId]?.addrs).toEqual([ext])
    // reachable: a peer dialled it back on the published address
    await expect.poll(async () => (await c.status(mapped)).mesh.reachability?.why, { timeout: 20_000 }).toMatch(new RegExp(`dialled back directly .* on /ip4/${mapped.nat?.externalIp ?? ''}/tcp/${MAPPED_PORT}`))
    // a public host that restarts dials it directly (outbound, on the published address)
    const p2 = pub[1] as Host
    await c.node(p2).stop('SIGTERM')
    await c.start(p2, ['--swarm-key', c.keyFile], WORKLOAD) // no --bootstrap: it dials the members it remembers
    await expect.poll(async () => {
      const link = (await c.status(p2)).mesh.peers.find(p => p.nodeId === c.node(mapped).peerId)
      return link?.connected === true ? `${link.path ?? ''} ${link.addr ?? ''}` : 'not connected'
    }, { timeout: 30_000, interval: 250 }).toMatch(new RegExp(`^direct /ip4/${mapped.nat?.externalIp ?? ''}/tcp/${MAPPED_PORT}/`))
  }, 90_000)

  it('a file produced on one NATed host is synced to the other (sha256) and a job dispatched to a NATed host completes', async () => {
    await c.configureJobs(pub[0] as Host, all.map(x => c.node(x).peerId), 3_000)
    const [from, to] = natted as [Host, Host]
    const rel = 'selfplay/hex8_2p/natted.jsonl'
    const text = Array.from({ length: 40 }, (_, i) => JSON.stringify({ config: 'hex8_2p', game: i, moves: [i, i + 2], winner: i % 2 })).join('\n') + '\n'
    await mkdir(dirname(join(c.dataDir(from), rel)), { recursive: true })
    const t0 = clock.monoMs()
    await writeFile(join(c.dataDir(from), rel), text)
    await expect.poll(async () => await readFile(join(c.dataDir(to), rel)).then(b => sha(b), () => null), { timeout: 60_000, interval: 500 }).toBe(sha(text))
    console.log(`file NATed h3 → NATed h4 synced, sha256 equal, ${clock.monoMs() - t0} ms after it was written`)
    const nattedIds = new Set(natted.map(x => c.node(x).peerId))
    const completed = await expect.poll(async () => (await c.jobs(pub[0] as Host)).some(j => nattedIds.has(j.node) && j.state === 'COMPLETE'), { timeout: 90_000, interval: 500 }).toBe(true).then(() => true, () => false)
    if (!completed) console.log((await c.jobs(pub[0] as Host)).map(j => `${j.jobId} ${name(j.node)} ${j.state} by ${name(j.dispatchedBy)}`).join('\n'))
    expect(completed).toBe(true)
  }, 180_000)

  it('a relay the NATed hosts use is stopped: they reserve on another and are never DEAD on the others beyond the failure-detection window', async () => {
    const h3 = natted[0] as Host
    const relayOf = async (x: Host): Promise<Set<string>> => {
      const doc = await c.node(pub[0] as Host).request('doc') as NodeInfoDoc
      const addrs = doc.control?.nodes?.[c.node(x).peerId]?.addrs ?? []
      return new Set(addrs.filter(a => a.includes('/p2p-circuit')).map(a => /\/p2p\/([^/]+)\/p2p-circuit/.exec(a)?.[1] as string))
    }
    const before = await relayOf(h3)
    console.log(`before the stop h3 relays through ${[...before].map(name).join(', ')}`)
    // stop a relay of h3 that is not the bootstrap host (the test reads documents through h1)
    const victim = all.find(x => x !== pub[0] && before.has(c.node(x).peerId))
    expect(victim, `h3 relays through ${[...before].map(name).join(', ')}`).toBeDefined()
    const stopped = c.node(victim as Host).peerId
    const t0 = clock.monoMs() // from the SIGTERM: the relay drops its reservations while it shuts down
    await c.node(victim as Host).stop('SIGTERM')
    const survivors = all.filter(x => x !== victim)
    const dead: string[] = []
    let rereservedMs: number | undefined
    // sample for 30 s: the NATed hosts' health on every survivor, and h3's relays
    while (clock.monoMs() - t0 < 30_000) {
      const ss = await Promise.all(survivors.map(async x => await c.status(x).then(s => ({ x, s }), () => undefined)))
      for (const r of ss) {
        if (r === undefined) continue
        for (const p of r.s.mesh.peers) {
          if (natted.some(n => c.node(n).peerId === p.nodeId) && p.health === 'DEAD') dead.push(`${name(p.nodeId)} DEAD on ${r.x.name} at ${clock.monoMs() - t0} ms`)
        }
      }
      if (rereservedMs === undefined) {
        const now = await relayOf(h3)
        if (!now.has(stopped) && now.size >= 2) rereservedMs = clock.monoMs() - t0
      }
      await sleep(clock, 500)
    }
    console.log(`relay ${(victim as Host).name} stopped: h3 reserved on another relay after ${String(rereservedMs)} ms; DEAD sightings: ${dead.length}`)
    expect(dead).toEqual([])
    expect(rereservedMs).toBeDefined()
    expect(DEFAULT_DEAD_AFTER_MS).toBeLessThan(30_000)
  }, 120_000)
})

describe.skipIf(!support.ok)(`behind NATs that pick a new port per connection${skipped}`, () => {
  let lab: Lab
  let root: string
  let cleanup: () => Promise<void>
  let c: HostCluster

  beforeAll(async () => {
    ({ dir: root, cleanup } = await tempDir('riftmesh-natrand-'))
    lab = await createLab({ hosts: 2, nat: [{ mode: 'masquerade', randomPorts: true }, { mode: 'masquerade', randomPorts: true }] })
    c = new HostCluster(lab, root)
    await c.init()
    const [p1, p2, n1, n2] = lab.hosts as [Host, Host, Host, Host]
    const key = ['--swarm-key', c.keyFile]
    await c.starting(async () => {
      const boot = await c.start(p1, key, WORKLOAD)
      const join = [...key, '--bootstrap', boot.addr]
      await Promise.all([c.start(p2, join, WORKLOAD), c.start(n1, join, WORKLOAD), c.start(n2, join, WORKLOAD)])
    })
  }, 300_000)

  afterAll(async () => {
    await c?.stop()
    await lab?.destroy()
    await cleanup?.()
  }, 60_000)

  it('the two NATed hosts try a hole punch, it finds nothing to connect to, and they stay relayed', async () => {
    const hosts = lab.hosts as Host[]
    await c.fullMesh(hosts, 45_000)
    const [n1, n2] = hosts.slice(2) as [Host, Host]
    const initiator = c.node(n1).peerId < c.node(n2).peerId ? n1 : n2
    await expect.poll(() => c.logLine(initiator, /^hole punch: no connection within the window/)?.msg, { timeout: 45_000, interval: 500 }).toBeDefined()
    const link = (await c.status(n1)).mesh.peers.find(p => p.nodeId === c.node(n2).peerId)
    expect(link?.connected).toBe(true)
    expect(link?.path).toBe('relayed')
    console.log(`port-randomising NATs: the punch failed and ${n1.name} ↔ ${n2.name} stayed relayed (${link?.addr ?? ''})`)
  }, 150_000)
})

describe.skipIf(!support.ok)(`LAN only: mDNS${skipped}`, () => {
  let lab: Lab
  let root: string
  let cleanup: () => Promise<void>
  let c: HostCluster

  beforeAll(async () => {
    ({ dir: root, cleanup } = await tempDir('riftmesh-mdns-'))
    lab = await createLab({ hosts: 2 })
    c = new HostCluster(lab, root)
    await c.init()
  }, 60_000)

  afterAll(async () => {
    await c?.stop()
    await lab?.destroy()
    await cleanup?.()
  }, 60_000)

  it('two hosts on one bridge with --mdns and no bootstrap list find each other', async () => {
    const [a, b] = lab.hosts as [Host, Host]
    await c.start(a, ['--swarm-key', c.keyFile, '--mdns'], WORKLOAD)
    await c.start(b, ['--swarm-key', c.keyFile, '--mdns'], WORKLOAD)
    const t0 = clock.monoMs()
    await expect.poll(async () => (await c.status(b)).connected.length, { timeout: 30_000, interval: 250 }).toBe(1)
    console.log(`mDNS: the second host connected ${clock.monoMs() - t0} ms after it started`)
    await expect.poll(async () => (await c.status(a)).mesh.summary, { timeout: 20_000, interval: 250 }).toBe('connected to 1 of 1 alive member(s)')
  }, 90_000)
})
