/**
 * Five riftmesh nodes on five emulated hosts with the default flags and timing profile, five
 * voters; then 5 % packet loss on every host (each way, nftables) for three minutes. The leader
 * must not change, and every settings change must reach every host: the time it takes is
 * reported as p50/p99.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sleep, SystemClock } from '../../src/core/clock.js'
import { DEFAULT_LEASE_MS } from '../../src/config/defaults.js'
import { tempDir } from '../helpers.js'
import { createLab, labSupport, type Host, type Lab } from './netns.js'
import { HostCluster, percentile } from './cluster.js'

const support = labSupport()
const clock = new SystemClock()
/** How long the loss lasts. */
const LOSS_MS = 180_000
/** Loss on every host, in each direction. */
const LOSS_PERCENT = 5
/** Longest a change may take to reach every host before the test fails. */
const MAX_PROPAGATION_MS = 30_000

let lab: Lab
let root: string
let cleanup: () => Promise<void>
let c: HostCluster
let five: Host[]

describe.skipIf(!support.ok)(`five emulated hosts under ${LOSS_PERCENT} % packet loss${support.ok ? '' : ` (skipped: ${support.reason})`}`, () => {
  beforeAll(async () => {
    ({ dir: root, cleanup } = await tempDir('riftmesh-loss-'))
    lab = await createLab({ hosts: 5 })
    five = [...lab.hosts]
    c = new HostCluster(lab, root)
    await c.init()
    await c.starting(async () => {
      const boot = await c.start(five[0] as Host, ['--swarm-key', c.keyFile])
      await Promise.all(five.slice(1).map(async x => await c.start(x, ['--swarm-key', c.keyFile, '--bootstrap', boot.addr])))
    })
  }, 300_000) // waiting for other host files' starts, then two rounds of node starts

  afterAll(async () => {
    await c?.stop()
    await lab?.destroy()
    await cleanup?.()
  }, 60_000)

  it(`keeps its leader through ${LOSS_MS / 60_000} minutes of ${LOSS_PERCENT} % loss, and every settings change reaches every host`, async () => {
    await expect.poll(async () => (await Promise.all(five.map(async x => await c.status(x)))).every(s => s.mesh.peers.filter(p => p.connected).length === 4),
      { timeout: 30_000, interval: 250 }).toBe(true)
    await c.setSetting(five[0] as Host, 'voters', five.map(x => c.node(x).peerId), true) // connected is not yet heard alive
    await expect.poll(async () => (await c.status(five[4] as Host)).election.mode, { timeout: 10_000 }).toBe('majority')
    await c.agreedLeader(five, 30_000)
    await sleep(clock, 2 * DEFAULT_LEASE_MS) // past the switch from epoch to majority mode
    const leader = await c.agreedLeader(five, 30_000)
    const epochs = async (): Promise<number[]> => await Promise.all(five.map(async x => (await c.status(x)).election.highestEpoch))
    expect(new Set(await epochs())).toEqual(new Set([leader.epoch]))
    await lab.loss(LOSS_PERCENT)
    const t0 = clock.monoMs()
    const samples: number[] = []
    let changes = 0
    while (clock.monoMs() - t0 < LOSS_MS) {
      const via = five[changes % five.length] as Host
      const value = { hex8_2p: changes % 100 }
      const sentAt = clock.monoMs()
      await c.setSetting(via, 'curriculumWeights', value)
      const pending = new Set(five.filter(x => x !== via))
      while (pending.size > 0 && clock.monoMs() - sentAt < MAX_PROPAGATION_MS) {
        await Promise.all([...pending].map(async x => {
          const all = await c.node(x).request('settings') as Record<string, unknown>
          if (JSON.stringify(all.curriculumWeights) === JSON.stringify(value)) {
            samples.push(clock.monoMs() - sentAt)
            pending.delete(x)
          }
        }))
        if (pending.size > 0) await sleep(clock, 20)
      }
      expect([...pending].map(x => x.name), `change ${changes} reached every host within ${MAX_PROPAGATION_MS} ms`).toEqual([])
      changes++
      await sleep(clock, Math.max(0, 5_000 - (clock.monoMs() - sentAt)))
    }
    await lab.heal()
    const after = await c.agreedLeader(five, 30_000)
    expect(after).toEqual(leader)
    expect(new Set(await epochs())).toEqual(new Set([leader.epoch]))
    samples.sort((a, b) => a - b)
    console.log(`${LOSS_PERCENT} % loss for ${LOSS_MS / 1000} s: leader unchanged (epoch ${leader.epoch}); ${changes} settings changes, ${samples.length} arrivals; propagation p50 ${percentile(samples, 50).toFixed(0)} ms, p99 ${percentile(samples, 99).toFixed(0)} ms, max ${(samples.at(-1) ?? NaN).toFixed(0)} ms`)
  }, LOSS_MS + 120_000)
})
