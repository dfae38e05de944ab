import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { writeSwarmKey } from '../../src/mesh/keys.js'
import { tempDir } from '../helpers.js'
import { FAST_ELECTION, FAST_TIMINGS, startNodeProcess, type NodeProcess } from '../support/node-process.js'
import { gatherSummary, renderSummary } from '../../src/repl/status-view.js'
import type { ElectionEventRecord } from '../../src/election/observer.js'

const events = async (n: NodeProcess): Promise<ElectionEventRecord[]> => await n.request('electionEvents', { limit: 256 }) as ElectionEventRecord[]
interface Status { peerId: string, election: { role: string, leader: { nodeId: string, epoch: number } | null, mode: string, voters: string[], highestEpoch: number } }

let root: string
let cleanup: () => Promise<void>
let keyFile: string
const running: NodeProcess[] = []

async function start (name: string, extra: string[] = []): Promise<NodeProcess> {
  // at info: the election events each node logs are checked below
  const n = await startNodeProcess(join(root, name), ['--swarm-key', keyFile, ...FAST_TIMINGS, ...FAST_ELECTION, ...extra], undefined, { logLevel: process.env.DEBUG_ELECTION !== undefined ? 'debug' : 'info' })
  running.push(n)
  return n
}
const status = async (n: NodeProcess): Promise<Status> => await n.request('status') as Status
const leaderOf = async (n: NodeProcess): Promise<string> => {
  const l = (await status(n)).election.leader
  return l === null ? 'none' : `${l.nodeId}@${l.epoch}`
}

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir('riftmesh-election-'))
  keyFile = join(root, 'swarm.key')
  await writeSwarmKey(keyFile)
})

afterAll(async () => {
  if (process.env.DEBUG_ELECTION !== undefined) for (const n of running) console.log(n.stderr().split('\n').filter(l => l.includes('election')).slice(-8).join('\n'))
  await Promise.all(running.map(async n => await n.stop('SIGKILL')))
  await cleanup()
})

describe('leader election across three riftmesh node processes', () => {
  const nodes: Record<string, NodeProcess> = {}
  let killed: { nodeId: string, epoch: number } | undefined
  let successor: { nodeId: string, epoch: number } | undefined

  it('elects one leader that every node knows, once three voters are set', async () => {
    nodes.a = await start('a')
    nodes.b = await start('b', ['--bootstrap', nodes.a.addr])
    nodes.c = await start('c', ['--bootstrap', nodes.a.addr])
    const ids = [nodes.a.peerId, nodes.b.peerId, nodes.c.peerId]
    await nodes.a.request('setSetting', { name: 'voters', value: ids, force: true }) // b and c may not be heard yet
    for (const n of Object.values(nodes)) {
      await expect.poll(async () => (await status(n)).election.mode, { timeout: 15_000 }).toBe('majority')
    }
    await expect.poll(async () => {
      const ls = await Promise.all(Object.values(nodes).map(leaderOf))
      return ls.every(l => l !== 'none' && l === ls[0]) ? ls[0] : 'disagree'
    }, { timeout: 20_000, interval: 200 }).not.toBe('disagree')
  })

  it('after kill -9 of the leader another node takes over under a higher epoch; the old one restarts as follower', async () => {
    const before = (await status(nodes.a!)).election.leader!
    const [oldName, old] = Object.entries(nodes).find(([, n]) => n.peerId === before.nodeId)!
    const others = Object.values(nodes).filter(n => n !== old)
    await old.stop('SIGKILL')
    running.splice(running.indexOf(old), 1)
    const killedAt = Date.now()
    let next = ''
    await expect.poll(async () => {
      const ls = await Promise.all(others.map(async n => (await status(n)).election.leader))
      if (process.env.DEBUG_ELECTION !== undefined) console.log(JSON.stringify(await Promise.all(others.map(async n => (await status(n)).election))))
      const agreed = ls.every(l => l !== null && l.nodeId === ls[0]?.nodeId && l.epoch === ls[0]?.epoch)
      if (agreed && ls[0]!.nodeId !== before.nodeId && ls[0]!.epoch > before.epoch) next = `${ls[0]!.nodeId}@${ls[0]!.epoch}`
      return next !== ''
    }, { timeout: 20_000, interval: 200 }).toBe(true)
    // lease 2 s + back-off ≤ 0.5 s + failure detection 1.5 s, with process scheduling slack
    expect(Date.now() - killedAt).toBeLessThan(15_000)
    killed = before
    successor = { nodeId: next.split('@')[0]!, epoch: Number(next.split('@')[1]) }

    const back = await start(oldName) // same data dir: same peer id, promises and epoch on disk
    nodes[oldName] = back
    expect(back.peerId).toBe(before.nodeId)
    await expect.poll(async () => await leaderOf(back), { timeout: 20_000, interval: 200 }).toBe(next)
    const s = await status(back)
    expect(s.election.role).toBe('follower')
    expect(s.election.highestEpoch).toBeGreaterThanOrEqual(before.epoch)
  })

  it('every survivor listed the killed leader\'s lease expiring and the next leader, with their epochs, and logged each once', async () => {
    const survivors = Object.values(nodes).filter(n => n.peerId !== killed!.nodeId)
    for (const n of survivors) {
      const seen = (await events(n)).map(e => `${e.type} ${e.node}@${e.epoch}`)
      const expired = seen.indexOf(`lease-expired ${killed!.nodeId}@${killed!.epoch}`)
      expect(expired, seen.join('\n')).toBeGreaterThanOrEqual(0)
      expect(seen.indexOf(`leader-elected ${killed!.nodeId}@${killed!.epoch}`)).toBeLessThan(expired)
      expect(seen.indexOf(`leader-elected ${successor!.nodeId}@${successor!.epoch}`)).toBeGreaterThan(expired)
      const logged = n.stderr().split('\n').filter(l => l.includes('"component":"election-events"') && l.includes(`lease expired: ${killed!.nodeId} (epoch ${killed!.epoch})`))
      expect(logged).toHaveLength(1)
      const now = (await n.request('metricsHistory', { limit: 1 }) as Array<{ values: Record<string, number> }>).at(-1)!
      expect(now.values.electionEvents).toBeGreaterThanOrEqual(3)
    }
  })

  it('a node left alone says quorum lost, and status says why there is no leader', async () => {
    const [alone, ...others] = Object.values(nodes)
    for (const n of others) {
      await n!.stop('SIGKILL')
      running.splice(running.indexOf(n!), 1)
    }
    await expect.poll(async () => (await events(alone!)).filter(e => e.type === 'quorum-lost').map(e => [e.node, e.detail]), { timeout: 20_000, interval: 200 })
      .toEqual([[alone!.peerId, '1 of 3 voters alive, 2 needed']])
    const call = async (op: string, args?: Record<string, unknown>): Promise<unknown> => await alone!.request(op, args)
    await expect.poll(async () => renderSummary(await gatherSummary(call)), { timeout: 20_000, interval: 200 })
      .toMatch(/\nleader: none — 1 of 3 voters alive, 2 needed\nelection: majority mode, 3 voter\(s\); this node is follower\n/)
    expect((await gatherSummary(call)).leader.noLeader).toEqual({ cause: 'no-quorum', text: '1 of 3 voters alive, 2 needed' })
    expect(alone!.stderr().split('\n').filter(l => l.includes('quorum lost: 1 of 3 voters alive, 2 needed'))).toHaveLength(1)
  })
})
