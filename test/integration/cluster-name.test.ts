/**
 * Two real nodes (libp2p on TCP 127.0.0.1, one swarm key) of different `node.clusterName`: the
 * one told to join the other connects, the sync exchange finds the other cluster's name, and
 * both hang up. Each says so once, naming both clusters and the fix, counts it, shows the cause
 * `cluster-name` for the bootstrap address and in its isolation warning, and does not redial.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import type { MeshReport } from '../../src/node/peer-manager.js'
import { nodesRoot, startInProcessNode, type InProcessNode } from '../support/in-process-node.js'

const POLL = { timeout: 15_000, interval: 100 }

let cleanup: (() => Promise<void>) | undefined
let red: InProcessNode | undefined
let blue: InProcessNode | undefined
const r = (): InProcessNode => red as InProcessNode
const b = (): InProcessNode => blue as InProcessNode

beforeAll(async () => {
  const root = await nodesRoot('riftmesh-cluster-name-')
  cleanup = root.cleanup
  red = await startInProcessNode(join(root.dir, 'red'), root.keyFile, { 'node.clusterName': 'red' })
  blue = await startInProcessNode(join(root.dir, 'blue'), root.keyFile, { 'node.clusterName': 'blue', 'node.bootstrap': [red.addr] })
}, 60_000)

afterAll(async () => {
  try {
    await blue?.stop()
    await red?.stop()
  } finally {
    await cleanup?.()
  }
}, 60_000)

const hangUpLines = (n: InProcessNode): Array<Record<string, unknown>> =>
  n.logs().filter(l => typeof l.msg === 'string' && l.msg.startsWith('hanging up on'))

describe('nodes of another clusterName', () => {
  it('are hung up on once their sync names the other cluster, with one warning naming both clusters and the fix', async () => {
    // blue reached red (the dial succeeded) and the sync exchange found the other cluster
    await expect.poll(() => hangUpLines(b()).length + hangUpLines(r()).length, POLL).toBeGreaterThan(0)
    await expect.poll(() => b().node.mesh.connectedPeers().length + r().node.mesh.connectedPeers().length, POLL).toBe(0)
    for (const [n, self, other] of [[b(), 'blue', 'red'], [r(), 'red', 'blue']] as const) {
      const lines = hangUpLines(n)
      if (lines.length === 0) continue // the other side may have hung up first
      expect(lines).toHaveLength(1)
      expect(lines[0]?.level).toBe(40) // warn
      expect(lines[0]?.msg).toContain(`the peer is in cluster "${other}", this node in "${self}"`)
      expect(lines[0]?.msg).toContain('give both the same node.clusterName')
    }
  })

  it('counts the refused exchange as a cluster-name drop', async () => {
    const drops = (n: InProcessNode): number => n.node.drops.byReason()['cluster-name'] ?? 0
    expect(drops(b()) + drops(r())).toBeGreaterThan(0)
    expect(b().node.drops.byReason().protocol ?? 0).toBe(0)
    expect(r().node.drops.byReason().protocol ?? 0).toBe(0)
  })

  it('shows the cause cluster-name for the bootstrap address, and the isolation warning names it', async () => {
    const mesh = async (): Promise<MeshReport> => await b().request('mesh') as MeshReport
    await expect.poll(async () => (await mesh()).bootstrap[0]?.lastError?.cause, POLL).toBe('cluster-name')
    const report = await mesh()
    expect(report.bootstrap[0]?.lastError?.error).toBe('the peer is in cluster "red", this node in "blue"')
    await expect.poll(async () => (await mesh()).warning ?? '', POLL).toContain('(cluster-name)')
    expect((await mesh()).warning).toContain('another cluster')
    // the logged isolation warning says the same
    const isolated = (): string[] => b().logs().map(l => String(l.msg)).filter(m => m.startsWith('isolated:'))
    await expect.poll(() => isolated().some(m => m.includes('(cluster-name)')), POLL).toBe(true)
  })

  it('neither side takes the other into its document, and the nodes stay apart', async () => {
    expect(r().node.state.nodes().map(n => n.nodeId)).toEqual([r().node.peerId])
    expect(b().node.state.nodes().map(n => n.nodeId)).toEqual([b().node.peerId])
    // the peer manager does not redial a peer it hung up on (for refusedRedialMs, 60 s)
    const hangUps = b().node.replicator.counters.foreignClusterHangUps + r().node.replicator.counters.foreignClusterHangUps
    await new Promise(resolve => setTimeout(resolve, 6_000)) // longer than a redial round (5 s)
    expect(b().node.mesh.connectedPeers()).toEqual([])
    expect(b().node.replicator.counters.foreignClusterHangUps + r().node.replicator.counters.foreignClusterHangUps).toBe(hangUps)
  })
})
