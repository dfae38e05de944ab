import { describe, expect, it } from 'vitest'
import { gatherSummary, renderSummary, type ClusterSummary } from '../../../src/repl/status-view.js'

const summary = (over: Partial<ClusterSummary> = {}): ClusterSummary => ({
  self: 'node-a',
  cluster: 'lab',
  leader: { nodeId: 'node-b', epoch: 3, isLeader: false, role: 'follower', leaseRemainingMs: 1_500, mode: 'majority', voters: ['node-a', 'node-b', 'node-c'], highestEpoch: 3 },
  nodes: [
    { nodeId: 'node-a', host: 'h1', gpu: 'none', gpuScore: 0, cpuScore: 16, role: 'voter', health: 'ALIVE', load: 12.5, cpuPercent: 30, jobs: 1 },
    { nodeId: 'node-b', host: 'h2', gpu: '1x H100', gpuScore: 2_000, cpuScore: 32, role: 'leader', health: 'SUSPECT', load: 40, cpuPercent: 80, jobs: 0 }
  ],
  runningJobs: [{ jobId: 'e3-x-1', type: 'selfplay', config: 'hex8_2p', node: 'node-a', state: 'RUNNING', attempt: 1 }],
  jobsByState: { RUNNING: 1, COMPLETE: 4 },
  sync: { state: 'SYNCED', lastError: null, totals: { filesReceived: 2, bytesReceived: 2_048 } },
  documents: { totalBytes: 4_096, byDoc: { control: 1_000, manifests: 3_096 } },
  drops: 0,
  loops: [{ name: 'sync', state: 'idle', runs: 3, failures: 0, lastError: null }],
  training: null,
  selfplay: null,
  mesh: null,
  notStanding: null,
  ...over
})

describe('renderSummary', () => {
  it('shows the leader with its lease, a row per node, the active jobs, sync and document size', () => {
    const text = renderSummary(summary())
    expect(text).toMatch(/^cluster lab, seen from node-a\nleader: node-b \(epoch 3, lease 1\.5s left\); this node is follower; majority mode, 3 voter\(s\)\nnodes: 2 \(1 alive\)/)
    expect(text).toMatch(/node-b\s+h2\s+1x H100\s+2000\s+32\s+leader\s+SUSPECT/)
    expect(text).toContain('jobs: 1 RUNNING, 4 COMPLETE')
    expect(text).toMatch(/e3-x-1\s+selfplay\s+hex8_2p/)
    expect(text).toContain('sync: SYNCED; received 2 file(s), 2.0 KiB')
    expect(text).toContain('documents: 4.0 KiB in 2 doc(s); 0 dropped message(s)')
    expect(text).toContain('loops: 1 healthy')
  })

  it('shows a sync pass in progress (riftmesh status --watch follows long transfers)', () => {
    const text = renderSummary(summary({ sync: { state: 'SYNCING', lastError: null, current: { done: 12, planned: 50, bytesDone: 3 * 1024 * 1024 }, totals: { filesReceived: 40, bytesReceived: 1024 } } }))
    expect(text).toContain('sync: SYNCING; pulling 12/50 file(s), 3.0 MiB so far; received 40 file(s), 1.0 KiB')
  })

  it('says when no leader is known, sync is off, loops fail and training waits', () => {
    const text = renderSummary(summary({
      self: 'node-b',
      leader: { nodeId: null, epoch: null, isLeader: false, role: 'candidate', leaseRemainingMs: null, mode: 'epoch', voters: [], highestEpoch: 0 },
      sync: null,
      loops: [{ name: 'training', state: 'idle', runs: 4, failures: 2, lastError: 'boom' }],
      training: { role: 'follower', decisions: [{ config: 'hex8_2p', ready: false, reason: 'needs 500 games', games: 12 }] }
    }))
    expect(text).toContain('leader: none known; this node is candidate')
    expect(text).toContain('sync: off')
    expect(text).toContain('loops failing: training (2: boom)')
    expect(text).toContain('training readiness (follower): hex8_2p 12 games needs 500 games')
  })

  it('says why a config does not train: a retry waiting for its back-off, a given-up training', () => {
    const text = renderSummary(summary({
      training: {
        role: 'leader',
        decisions: [
          { config: 'hex8_2p', ready: false, reason: 'in-flight', games: 2500, why: 'training attempt 1 FAILED; no other training node: retry on gpu-1 in 40 s' },
          { config: 'square8_2p', ready: false, reason: 'duplicate', games: 3000, why: 'same data as a recent dispatch; last training failed: training failed on 3 attempts (last: LOST)' }
        ]
      }
    }))
    expect(text).toContain('hex8_2p 2500 games in-flight (training attempt 1 FAILED; no other training node: retry on gpu-1 in 40 s)')
    expect(text).toContain('square8_2p 3000 games duplicate (same data as a recent dispatch; last training failed: training failed on 3 attempts (last: LOST))')
  })

  it('says why there is no leader when the quorum is lost: "no leader: 1 of 3 voters alive, 2 needed"', () => {
    const leader = { nodeId: null, epoch: null, isLeader: false, role: 'follower', leaseRemainingMs: null, mode: 'majority', voters: ['node-a', 'node-b', 'node-c'], highestEpoch: 3 }
    const lost = renderSummary(summary({ leader: { ...leader, quorum: { voters: 3, alive: 1 } }, notStanding: 'this node has not reached any peer' }))
    expect(lost).toContain('\nno leader: 1 of 3 voters alive, 2 needed; this node is follower; majority mode, 3 voter(s)\n')
    expect(lost).not.toContain('none known')
    expect(lost).toContain('WARNING not standing for leader: this node has not reached any peer')
    // a quorum but no leader yet (an election under way), or no verdict: none known
    expect(renderSummary(summary({ leader: { ...leader, quorum: { voters: 3, alive: 2 } } }))).toContain('\nleader: none known; this node is follower')
    expect(renderSummary(summary({ leader: { ...leader, quorum: null } }))).toContain('\nleader: none known; this node is follower')
  })

  it('shows the mesh line, the isolation warning and each member not connected with its last dial error', () => {
    const text = renderSummary(summary({
      mesh: {
        connectedPeers: 0, members: 2, aliveMembers: 0, connectedAliveMembers: 0, summary: 'connected to 0 of 0 alive member(s)',
        everConnected: false, isolated: true, warning: 'isolated: this node is connected to no peer',
        bootstrap: [],
        peers: [{ nodeId: 'node-b', connected: false, addr: null, direction: null, health: 'DEAD', lastError: { error: 'read ECONNRESET', cause: 'swarm-key', hint: 'h', atMs: 1 } }]
      },
      notStanding: 'this node has not reached any peer'
    }))
    expect(text).toContain('mesh: connected to 0 of 0 alive member(s)')
    expect(text).toContain('WARNING isolated: this node is connected to no peer')
    expect(text).toMatch(/node-b\s+DEAD\s+no\s+swarm-key: read ECONNRESET/)
    const up = renderSummary(summary({
      mesh: {
        connectedPeers: 1, members: 1, aliveMembers: 1, connectedAliveMembers: 1, summary: 'connected to 1 of 1 alive member(s)', everConnected: true, isolated: false, warning: null, bootstrap: [],
        peers: [{ nodeId: 'node-b', connected: true, addr: '/ip4/10.0.0.2/tcp/4100/p2p/node-b', direction: 'outbound', health: 'ALIVE', lastError: null }]
      }
    }))
    expect(up).toMatch(/node-b\s+ALIVE\s+yes\s+\/ip4\/10\.0\.0\.2\/tcp\/4100 \(out\)/)
    expect(up).not.toContain('WARNING')
    expect(text).toContain('WARNING not standing for leader: this node has not reached any peer')
  })

  it('warns on its own line, right under the leader, whenever the cluster runs in epoch mode', () => {
    const epoch = (voters: string[]): string[] => renderSummary(summary({ leader: { ...summary().leader, mode: 'epoch', voters } })).split('\n')
    const lines = epoch(['node-a'])
    expect(lines[1]).toMatch(/; epoch mode, 1 voter\(s\)$/)
    expect(lines[2]).toBe('WARNING epoch mode (1 voter(s), fewer than 3): no split-brain protection, each side of a network partition may elect its own leader; ' +
      'name 3 or 5 voters: riftmesh settings set voters \'["<peer id>", …]\'')
    expect(epoch(['node-a', 'node-b', 'node-c'])[2]).toMatch(/^WARNING epoch mode \(election\.mode is epoch\): no split-brain protection/)
    expect(renderSummary(summary())).not.toContain('epoch mode')
  })

  it('shows "selfplay: paused — <cause>" while backpressure holds, else the backlog and its limit', () => {
    const cause = 'paused by the operator (setting selfplayPaused; unset it to resume)'
    const paused = renderSummary(summary({ selfplay: { active: true, cause, untrainedGames: 10, maxUntrainedGames: 100_000 } })).split('\n')
    expect(paused).toContain(`selfplay: paused — ${cause}`)
    expect(paused.indexOf(`selfplay: paused — ${cause}`)).toBe(paused.findIndex(l => l.startsWith('jobs: ')) - 1)
    expect(renderSummary(summary({ selfplay: { active: false, cause: null, untrainedGames: 1_200, maxUntrainedGames: 100_000 } })))
      .toContain('\nselfplay: running; 1200 untrained game(s) of 100000 before backpressure\n')
    expect(renderSummary(summary({ selfplay: null }))).not.toContain('selfplay:')
  })

  it('carries the node\'s backpressure into the summary (status --json prints it as is)', async () => {
    const bp = { active: true, cause: 'x', signals: ['paused'], untrainedGames: 3, maxUntrainedGames: 9 }
    const replies: Record<string, unknown> = {
      status: { peerId: 'node-a', cluster: 'lab', drops: { total: 0 }, docBytes: {}, managers: { loops: [], training: null, selfplay: bp } },
      nodes: [],
      lease: { leader: null, epoch: null, isLeader: false, role: 'follower', leaseRemainingMs: null, mode: 'majority', voters: [], highestEpoch: 0 },
      jobs: [],
      sync: null
    }
    const call = async (op: string): Promise<unknown> => replies[op]
    const s = await gatherSummary(call)
    expect(JSON.parse(JSON.stringify(s)).selfplay).toEqual({ active: true, cause: 'x', untrainedGames: 3, maxUntrainedGames: 9 })
    replies.status = { ...(replies.status as object), managers: { loops: [], training: null } } // a node older than backpressure
    expect((await gatherSummary(call)).selfplay).toBeNull()
  })
})
