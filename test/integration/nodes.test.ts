/**
 * The node table and identities on a real cluster (issue 24 §5): `riftmesh nodes forget` removes a
 * dead node on every node and refuses a live one or the node itself; a node forgotten while it
 * runs (a peer that thought it dead during a partition) writes its entry again; a node whose
 * identity.key was deleted refuses to start with one line, and `--new-identity` makes it a new
 * node, whose old id can then be forgotten.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { FAST_ELECTION, FAST_TIMINGS, startNodeProcess, type NodeProcess } from '../support/node-process.js'
import { riftmeshCli } from '../support/cli.js'
import { nodesRoot, startInProcessNode, type InProcessNode } from '../support/in-process-node.js'

const QUIET = [...FAST_TIMINGS, ...FAST_ELECTION, '--set', 'jobs.selfplayDispatchIntervalMs=600000', '--set', 'training.readinessIntervalMs=600000']
const POLL = { timeout: 20_000, interval: 100 }

let root: string
let keyFile: string
let cleanup: () => Promise<void>
let a: NodeProcess
let b: NodeProcess
let p: InProcessNode
const running: NodeProcess[] = []

const table = async (n: { request: (op: string) => Promise<unknown> }): Promise<Record<string, string>> =>
  Object.fromEntries(((await n.request('nodes')) as Array<{ nodeId: string, health: string }>).map(x => [x.nodeId, x.health]))
const oneLine = (stderr: string): string => {
  const lines = stderr.split('\n').filter(l => l !== '')
  expect(lines, stderr).toHaveLength(1)
  return lines[0] as string
}

beforeAll(async () => {
  ({ dir: root, keyFile, cleanup } = await nodesRoot('riftmesh-nodes-'))
  a = await startNodeProcess(join(root, 'a'), ['--swarm-key', keyFile, ...QUIET])
  running.push(a)
  b = await startNodeProcess(join(root, 'b'), ['--swarm-key', keyFile, ...QUIET, '--bootstrap', a.addr])
  running.push(b)
  p = await startInProcessNode(join(root, 'p'), keyFile, { 'node.bootstrap': [a.addr] })
  await vi.waitFor(async () => expect(await table(a)).toEqual({ [a.peerId]: 'ALIVE', [b.peerId]: 'ALIVE', [p.node.peerId]: 'ALIVE' }), POLL)
}, 60_000)

afterAll(async () => {
  await Promise.all(running.map(async n => await n.stop('SIGKILL')))
  await p?.stop()
  await cleanup?.()
})

describe('riftmesh nodes forget', () => {
  it('refuses a live node and the node itself, with one line, and changes nothing', async () => {
    const live = await riftmeshCli('nodes', 'forget', b.peerId, '--data-dir', a.dataDir)
    expect(live.code).toBe(1)
    expect(oneLine(live.stderr)).toBe(`riftmesh nodes: cannot forget ${b.peerId}: ${b.peerId} is ALIVE (its heartbeats arrive): only a DEAD node can be forgotten; stop it first`)
    const self = await riftmeshCli('nodes', 'forget', a.peerId.slice(-12), '--data-dir', a.dataDir)
    expect(self.code).toBe(1)
    expect(oneLine(self.stderr)).toMatch(/is this node: a running node cannot forget itself/)
    const unknown = await riftmeshCli('nodes', 'forget', 'NoSuchNode', '--data-dir', a.dataDir)
    expect(oneLine(unknown.stderr)).toBe('riftmesh nodes: no node NoSuchNode in the node table')
    expect(Object.keys(await table(a))).toHaveLength(3)
  })

  it('a node forgotten while it runs (by a peer that thought it dead) writes its entry again', async () => {
    p.node.state.forgetNode(b.peerId) // what a partitioned peer's forget does, without the CLI's check
    expect(p.node.state.node(b.peerId)).toBeUndefined()
    await vi.waitFor(async () => {
      expect((await table(p))[b.peerId]).toBe('ALIVE')
      expect((await table(a))[b.peerId]).toBe('ALIVE')
    }, POLL)
    expect(b.stderr()).toMatch(/this node was forgotten by a peer while running; writing its entry in the node table again/)
  })

  it('a deleted identity.key is refused with one line; --new-identity makes a new node; the old one is forgotten on every node', { timeout: 90_000 }, async () => {
    const oldId = b.peerId
    expect(await b.stop('SIGTERM')).toBe(0)
    running.splice(running.indexOf(b), 1)
    await rm(join(b.dataDir, 'identity.key'))
    const refused = await riftmeshCli('node', '--data-dir', b.dataDir, '--listen', '/ip4/127.0.0.1/tcp/0', '--swarm-key', keyFile, ...QUIET, '--bootstrap', a.addr)
    expect(refused.code).toBe(1)
    expect(oneLine(refused.stderr)).toBe(`riftmesh node: identity key ${join(b.dataDir, 'identity.key')} is missing, but the data dir holds the state of the node it belonged to ` +
      `(incarnation.json of peer ${oldId}); restore identity.key from a backup to keep that peer id (and its place in voters), or start once with --new-identity ` +
      'to make this a new node (then remove the old one from the node table: riftmesh nodes forget <old peer id>)')

    b = await startNodeProcess(b.dataDir, ['--swarm-key', keyFile, ...QUIET, '--bootstrap', a.addr, '--new-identity'])
    running.push(b)
    expect(b.peerId).not.toBe(oldId)
    await vi.waitFor(async () => expect(await table(a)).toMatchObject({ [b.peerId]: 'ALIVE', [oldId]: 'DEAD' }), POLL)
    expect((await riftmeshCli('status', '--data-dir', a.dataDir)).stdout).toMatch(/^nodes: 4 \(3 alive\)$/m)

    const forgot = await riftmeshCli('nodes', 'forget', oldId.slice(-8), '--data-dir', a.dataDir)
    expect(forgot.code, forgot.stderr).toBe(0)
    expect(forgot.stdout).toBe(`forgot ${oldId}; 3 node(s) left in the table (the change reaches every node)\n`)
    for (const n of [a, b, p]) {
      await vi.waitFor(async () => expect(Object.keys(await table(n)).sort()).toEqual([a.peerId, b.peerId, p.node.peerId].sort()), POLL)
    }
    expect((await riftmeshCli('status', '--data-dir', a.dataDir)).stdout).toMatch(/^nodes: 3 \(3 alive\)$/m)
    const listed = await riftmeshCli('nodes', '--data-dir', p.dataDir)
    expect(listed.stdout).toMatch(/^3 node\(s\)$/m)
    expect(listed.stdout).not.toContain(oldId)
  })
})
