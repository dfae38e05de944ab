/**
 * Five riftmesh nodes on five emulated hosts (network namespaces on a private /24), started as
 * the README says — default listen address, `--bootstrap` the first host — with the default
 * network and timing profile. Beside them, a host with another swarm key and a host whose
 * bootstrap address leads nowhere. Checks the full mesh, isolation warnings, the bootstrap host
 * cut off, the leader cut off (both ways and inbound only) and a 2|3 partition with jobs running.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHash } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { sleep, SystemClock } from '../../src/core/clock.js'
import { writeSwarmKey } from '../../src/mesh/keys.js'
import { DEFAULT_ELECTION_BACKOFF_MAX_MS, DEFAULT_LEASE_MS } from '../../src/config/defaults.js'
import { tempDir } from '../helpers.js'
import { createLab, labSupport, type Host, type Lab } from './netns.js'
import { HostCluster, TRAINER, WORKLOAD, type JobRow } from './cluster.js'

const support = labSupport()
const clock = new SystemClock()
const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex')

/** One lease plus the longest election back-off of the default profile. */
const LEASE_PLUS_BACKOFF_MS = DEFAULT_LEASE_MS + DEFAULT_ELECTION_BACKOFF_MAX_MS

let lab: Lab
let root: string
let cleanup: () => Promise<void>
let c: HostCluster
let h: Host[] // h[0..4] the cluster, h[5] another swarm key, h[6] an unreachable bootstrap
let five: Host[]

const nameOf = (id: string): string => five.find(x => c.node(x).peerId === id)?.name ?? id

describe.skipIf(!support.ok)(`five emulated hosts, default flags${support.ok ? '' : ` (skipped: ${support.reason})`}`, () => {
  beforeAll(async () => {
    ({ dir: root, cleanup } = await tempDir('riftmesh-hosts-'))
    lab = await createLab({ hosts: 7 })
    h = [...lab.hosts]
    five = h.slice(0, 5)
    c = new HostCluster(lab, root)
    await c.init()
    const key = ['--swarm-key', c.keyFile]
    await c.starting(async () => {
      const boot = await c.start(h[0] as Host, key, WORKLOAD)
      expect(boot.addr).toBe(`/ip4/${(h[0] as Host).ip}/tcp/4100/p2p/${boot.peerId}`) // the first address printed is the host's, not loopback
      const joinArgs = ['--bootstrap', boot.addr]
      const otherKey = `${root}/other.key`
      await writeSwarmKey(otherKey)
      await Promise.all([
        ...h.slice(1, 5).map(async (x, i) => await c.start(x, [...key, ...joinArgs], i === 1 ? TRAINER : WORKLOAD)),
        c.start(h[5] as Host, ['--swarm-key', otherKey, ...joinArgs], WORKLOAD),
        c.start(h[6] as Host, [...key, '--bootstrap', `/ip4/${lab.subnet.replace(/\.0\/24$/, '.250')}/tcp/4100/p2p/${boot.peerId}`], WORKLOAD)
      ])
    })
  }, 300_000) // waiting for other host files' starts, then two rounds of node starts

  afterAll(async () => {
    await c?.stop()
    await lab?.destroy()
    await cleanup?.()
  }, 60_000)

  it('every host connects to every other within 20 s, advertising only its host address, and status --json shows it', async () => {
    await c.fullMesh(five, 20_000)
    const doc = await c.node(h[1] as Host).request('doc') as { control?: { nodes?: Record<string, { addrs: string[] }> } }
    for (const x of five) {
      expect(doc.control?.nodes?.[c.node(x).peerId]?.addrs).toEqual([`/ip4/${x.ip}/tcp/4100/p2p/${c.node(x).peerId}`])
    }
    await expect.poll(async () => (await c.statusJson(h[2] as Host)).mesh.summary, { timeout: 10_000 }).toBe('connected to 4 of 4 alive member(s)')
    const s = await c.statusJson(h[2] as Host)
    expect(s.mesh.peers.map(p => p.addr?.replace(/\/tcp\/\d+.*$/, ''))).toEqual(expect.arrayContaining(five.filter(x => x !== h[2]).map(x => `/ip4/${x.ip}`)))
  })

  it('a host with another swarm key and a host with an unreachable bootstrap each warn within 10 s with the cause, show it in status --json, and neither elects itself', async () => {
    for (const [x, cause] of [[h[5] as Host, /^swarm-key$/], [h[6] as Host, /^(unreachable|timeout)$/]] as const) {
      await expect.poll(async () => (await c.status(x)).mesh.bootstrap[0]?.lastError?.cause, { timeout: 10_000 }).toMatch(cause)
      const s = await c.statusJson(x)
      expect(s.mesh.isolated).toBe(true)
      // the warning names the cause of the latest dial (a loaded bootstrap host may first answer too slowly: timeout)
      if (x === h[5]) expect(s.mesh.warning).toMatch(/another swarm key/)
      expect(s.mesh.warning).toMatch(/^isolated: this node is connected to no peer; none of the 1 bootstrap address\(es\) answered/)
      expect(s.leader.nodeId).toBeNull()
      expect(s.notStanding).toMatch(/has not reached any peer/)
      const warned = c.logLine(x, /^isolated: /)
      expect(warned).toBeDefined()
      // within 10 s of the node's start (its first log line; spawning the process on a loaded machine is not the node's time)
      expect((warned?.time ?? Infinity) - (c.firstLogTime(x) ?? Infinity)).toBeLessThanOrEqual(10_000)
      expect(c.node(x).stderr()).not.toMatch(/became leader|standing for election/)
    }
  })

  it('the bootstrap host cut off: a leader within one lease + back-off, a file produced on one host is synced to another (sha256), a job dispatched meanwhile completes, a restarted host rejoins without --bootstrap', async () => {
    await c.configureJobs(h[0] as Host, five.map(x => c.node(x).peerId), 8_000)
    const before = await c.agreedLeader(five, 30_000)
    const rest = five.slice(1)
    const wasLeader = before.nodeId === c.node(h[0] as Host).peerId
    await lab.cut(h[0] as Host, 'both')
    const cutAt = clock.nowMs()
    const t0 = clock.monoMs()
    // if the bootstrap host led, the others elect a new leader; if not, the leader stays
    const after = await c.agreedLeader(rest, LEASE_PLUS_BACKOFF_MS + 4_000, wasLeader ? before.epoch : before.epoch - 1)
    const gapMs = clock.monoMs() - t0
    console.log(`bootstrap host cut off (it was ${wasLeader ? '' : 'not '}the leader): ${nameOf(after.nodeId)} leads epoch ${after.epoch} for the other four ${gapMs} ms after the cut (lease + back-off ${LEASE_PLUS_BACKOFF_MS} ms)`)
    expect(after.nodeId).not.toBe(c.node(h[0] as Host).peerId)
    // a file produced on h2 reaches the training host h3, verified
    const rel = 'selfplay/hex8_2p/after-cut.jsonl'
    const text = Array.from({ length: 30 }, (_, i) => JSON.stringify({ config: 'hex8_2p', game: i, moves: [i, i + 1], winner: i % 2 })).join('\n') + '\n'
    await mkdir(dirname(join(c.dataDir(h[1] as Host), rel)), { recursive: true })
    await writeFile(join(c.dataDir(h[1] as Host), rel), text)
    await expect.poll(async () => await readFile(join(c.dataDir(h[2] as Host), rel)).then(b => sha(b), () => null), { timeout: 45_000, interval: 500 }).toBe(sha(text))
    // a job dispatched after the cut completes
    await expect.poll(async () => (await c.jobs(h[1] as Host)).some(j => j.createdAt > cutAt && j.state === 'COMPLETE' && !j.leaderless), { timeout: 60_000, interval: 500 }).toBe(true)
    // h5 restarted with no --bootstrap rejoins through the peers it cached (its bootstrap host is still cut off)
    const h5 = h[4] as Host
    await c.node(h5).stop('SIGTERM')
    await c.start(h5, ['--swarm-key', c.keyFile], WORKLOAD)
    await expect.poll(async () => (await c.status(h5)).mesh.peers.filter(p => p.connected).length, { timeout: 20_000, interval: 250 }).toBe(3)
    await lab.heal()
    await expect.poll(async () => (await Promise.all(five.map(async x => await c.status(x)))).every(s => s.mesh.peers.filter(p => p.connected).length === 4), { timeout: 30_000, interval: 250 }).toBe(true)
  }, 150_000)

  for (const direction of ['both', 'inbound'] as const) {
    it(`the leader cut off (${direction}): a new leader at a higher epoch; the old one stops dispatching before the new one starts; after the heal one leader and equal documents`, async () => {
      const old = await c.agreedLeader(five, 30_000)
      const oldHost = five.find(x => c.node(x).peerId === old.nodeId) as Host
      const others = five.filter(x => x !== oldHost)
      await lab.cut(oldHost, direction)
      const next = await c.agreedLeader(others, 30_000, old.epoch)
      expect(next.epoch).toBeGreaterThan(old.epoch)
      expect(next.nodeId).not.toBe(old.nodeId)
      const nextSeenAt = clock.nowMs()
      await sleep(clock, 12_000) // let both sides try to dispatch (selfplay every 10 s by default)
      await lab.heal()
      const healed = await c.agreedLeader(five, 30_000)
      expect(healed.epoch).toBeGreaterThanOrEqual(next.epoch)
      await c.converged(five, 30_000)
      const jobs = await c.jobs(h[1] as Host)
      const byOld = jobs.filter(j => j.epoch === old.epoch && j.dispatchedBy === old.nodeId && !j.leaderless)
      const byNext = jobs.filter(j => j.epoch === next.epoch && j.dispatchedBy === next.nodeId)
      const firstNext = Math.min(nextSeenAt, ...byNext.map(j => j.createdAt))
      console.log(`leader ${nameOf(old.nodeId)} cut (${direction}): ${nameOf(next.nodeId)} leads epoch ${next.epoch}; ${byOld.length} dispatch(es) of epoch ${old.epoch}, ${byNext.length} of epoch ${next.epoch}`)
      for (const j of byOld) expect(j.createdAt).toBeLessThan(firstNext)
    }, 120_000)
  }

  it('a 2|3 partition for 60 s with jobs running: the minority makes no leader dispatch, no job id runs twice, and after the heal every host has equal documents', async () => {
    const leader = await c.agreedLeader(five, 30_000)
    const lh = five.find(x => c.node(x).peerId === leader.nodeId) as Host
    const minority = [lh, five.find(x => x !== lh) as Host]
    const majority = five.filter(x => !minority.includes(x))
    await expect.poll(async () => (await c.jobs(lh)).some(j => j.state === 'RUNNING' && minority.some(x => c.node(x).peerId === j.node)), { timeout: 30_000, interval: 500 }).toBe(true)
    await lab.partition([minority, majority])
    const partAt = clock.nowMs()
    const t0 = clock.monoMs()
    const minorityLeaderAt: number[] = []
    while (clock.monoMs() - t0 < 60_000) {
      const ls = await Promise.all(minority.map(async x => await c.status(x).then(s => s.election.isLeader, () => false)))
      if (ls.some(Boolean)) minorityLeaderAt.push(clock.monoMs() - t0)
      await sleep(clock, 500)
    }
    const healAt = clock.nowMs()
    await lab.heal()
    // the old leader may hold its lease for at most one lease after the cut, never later
    expect(minorityLeaderAt.filter(t => t > DEFAULT_LEASE_MS + 1_000)).toEqual([])
    await c.agreedLeader(five, 30_000)
    await c.converged(five, 60_000)
    const jobs: JobRow[] = await c.jobs(h[1] as Host)
    const minorityIds = new Set(minority.map(x => c.node(x).peerId))
    const fromMinority = jobs.filter(j => minorityIds.has(j.dispatchedBy) && !j.leaderless && j.createdAt > partAt + DEFAULT_LEASE_MS && j.createdAt < healAt)
    expect(fromMinority).toEqual([])
    const twice = [...(await c.ledgerStarts())].filter(([, n]) => n > 1)
    expect(twice).toEqual([])
    console.log(`2|3 partition for 60 s: ${jobs.filter(j => j.createdAt > partAt && j.createdAt < healAt).length} job(s) dispatched during it, ${jobs.filter(j => j.leaderless).length} leaderless; minority leader seen until ${Math.max(0, ...minorityLeaderAt)} ms`)
  }, 180_000)
})
