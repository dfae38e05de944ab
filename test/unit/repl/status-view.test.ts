import { describe, expect, it } from 'vitest'
import { gatherSummary, renderSummary as render80, type ClusterSummary } from '../../../src/repl/status-view.js'

/** The content checks read whole lines: wide enough that nothing wraps (the 80-column layout has tests of its own). */
const renderSummary = (s: ClusterSummary): string => render80(s, { width: 400 })

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
    expect(text).toMatch(/^cluster lab, seen from node-a\nleader: node-b \(epoch 3, lease 1\.5s left\)\nelection: majority mode, 3 voter\(s\); this node is follower\nnodes: 2 \(1 alive\)/)
    expect(text).toMatch(/node-b\s+h2\s+1x H100\s+leader\s+SUSPECT\s+40\s+80\s+0/)
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
    expect(text).toContain('leader: none known\nelection: epoch mode, 0 voter(s); this node is candidate')
    expect(text).toContain('sync: off')
    expect(text).toContain('loops failing: training (2: boom)')
    expect(text).toContain('training readiness (follower):\n  hex8_2p 12 games needs 500 games')
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
    expect(text).toContain('\n  hex8_2p 2500 games in-flight (training attempt 1 FAILED; no other training node: retry on gpu-1 in 40 s)')
    expect(text).toContain('\n  square8_2p 3000 games duplicate (same data as a recent dispatch; last training failed: training failed on 3 attempts (last: LOST))')
  })

  it('says why there is no leader when the quorum is lost: "leader: none — 1 of 3 voters alive, 2 needed"', () => {
    const leader = { nodeId: null, epoch: null, isLeader: false, role: 'follower', leaseRemainingMs: null, mode: 'majority', voters: ['node-a', 'node-b', 'node-c'], highestEpoch: 3 }
    const lost = renderSummary(summary({ leader: { ...leader, quorum: { voters: 3, alive: 1 } }, notStanding: 'this node has not reached any peer' }))
    expect(lost).toContain('\nleader: none — 1 of 3 voters alive, 2 needed\nelection: majority mode, 3 voter(s); this node is follower\n')
    expect(lost).not.toContain('none known')
    expect(lost).toContain('WARNING not standing for leader: this node has not reached any peer')
    // from a node older than noLeader: a quorum but no leader yet, or no verdict: none known
    expect(renderSummary(summary({ leader: { ...leader, quorum: { voters: 3, alive: 2 } } }))).toContain('\nleader: none known\n')
    expect(renderSummary(summary({ leader: { ...leader, quorum: null } }))).toContain('\nleader: none known\n')
    // the node's own reason wins
    const standing = { ...leader, quorum: { voters: 3, alive: 3 }, noLeader: { cause: 'others-standing' as const, text: 'election in progress: node-c stands for epoch 4' } }
    expect(renderSummary(summary({ leader: standing }))).toContain('\nleader: none — election in progress: node-c stands for epoch 4\n')
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
    expect(up).toMatch(/node-b\s+ALIVE\s+(yes|direct)\s+\/ip4\/10\.0\.0\.2\/tcp\/4100 \(out\)/)
    expect(up).not.toContain('WARNING')
    expect(text).toContain('WARNING not standing for leader: this node has not reached any peer')
  })

  it('warns on its own line, right under the leader, whenever the cluster runs in epoch mode', () => {
    const epoch = (voters: string[]): string[] => renderSummary(summary({ leader: { ...summary().leader, mode: 'epoch', voters } })).split('\n')
    const lines = epoch(['node-a'])
    expect(lines[2]).toMatch(/^election: epoch mode, 1 voter\(s\)/)
    expect(lines[3]).toBe('WARNING epoch mode (1 voter(s), fewer than 3): no split-brain protection, each side of a network partition may elect its own leader; ' +
      'name 3 or 5 voters: riftmesh settings set voters \'["<peer id>", …]\'')
    expect(epoch(['node-a', 'node-b', 'node-c'])[3]).toMatch(/^WARNING epoch mode \(election\.mode is epoch\): no split-brain protection/)
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

describe('renderSummary at 80 columns', () => {
  const id = (tail: string): string => `12D3KooW${tail}${'x'.repeat(44 - tail.length)}`
  const [a, b, c] = [id('AbCdE1'), id('AbZz9'), id('Qr7')]
  const wide = (): ClusterSummary => summary({
    self: a,
    cluster: 'production-east',
    leader: { nodeId: b, epoch: 12, isLeader: false, role: 'follower', leaseRemainingMs: 2_100, mode: 'epoch', voters: [a], highestEpoch: 12 },
    nodes: [a, b, c].map((n, i) => ({
      nodeId: n, host: `gpu-worker-${i}.rack-7.datacenter.example.internal`, gpu: '8x NVIDIA H100 80GB HBM3', gpuScore: 16_000, cpuScore: 192,
      role: i === 1 ? 'leader' : 'follower', health: 'ALIVE', load: 55.25, cpuPercent: 61.5, jobs: 12
    })),
    runningJobs: [{ jobId: 'e12-0193a7b2c4d5e6f7-selfplay-hexagonal_4p-000042', type: 'selfplay', config: 'hexagonal_4p', node: c, state: 'RUNNING', attempt: 3 }],
    mesh: {
      connectedPeers: 2, members: 2, aliveMembers: 2, connectedAliveMembers: 2, summary: 'connected to 2 of 2 alive member(s)', everConnected: true, isolated: false, warning: null, bootstrap: [],
      peers: [b, c].map(n => ({ nodeId: n, connected: true, addr: `/ip4/10.20.30.40/tcp/4100/p2p/${n}`, direction: 'outbound' as const, health: 'ALIVE', lastError: null }))
    },
    notStanding: 'this node has not reached any peer since it started, and a node alone must not lead a cluster it cannot see',
    training: {
      role: 'leader',
      decisions: [
        { config: 'hexagonal_4p', ready: false, reason: 'in-flight', games: 123_456, why: 'training attempt 2 FAILED; no other training node: retry on 12D3KooWAbZz9xxxxxxxxxxxxxxxxxx in 40 s' },
        { config: 'square19_2p', ready: true, reason: null, games: 9_999 }
      ]
    },
    selfplay: { active: true, cause: '123456 untrained games ≥ 100000 (scheduler.maxUntrainedGames; most in hexagonal_4p: 120000)', untrainedGames: 123_456, maxUntrainedGames: 100_000 }
  })

  it('fits every line in 80 columns: tables narrow their text columns, other lines wrap', () => {
    const text = render80(wide())
    if (process.env.SHOW_STATUS !== undefined) console.log(text)
    const long = text.split('\n').filter(l => l.length > 80)
    expect(long).toEqual([])
    expect(text).toMatch(/\nNODE\s+HOST\s+GPU\s+ROLE\s+HEALTH\s+LOAD\s+CPU\s+JOBS\n/)
    expect(text).toContain('training readiness (leader):\n  hexagonal_4p 123456 games in-flight')
    expect(render80(wide(), { width: 60 }).split('\n').filter(l => l.length > 60)).toEqual([])
  })

  it('names peers by their shortest unique prefixes among the ids shown', () => {
    const text = render80(wide())
    expect(text).toContain('leader: 12D3KooWAbZz… (epoch 12')
    const rows = text.split('\n').filter(l => /^12D3KooW\S*…\s+gpu-worker/.test(l)).map(l => l.split(/\s+/)[0])
    expect(rows).toEqual(['12D3KooWAbCd…', '12D3KooWAbZz…', '12D3KooWQr7x…'])
    expect(text).toMatch(/\ne12-\S+\s+selfplay\s+hexagonal_4p\s+12D3KooWQr7x…\s+RUNNING\s+3\n/)
    expect(text).toMatch(/\n12D3KooWQr7x…\s+ALIVE\s+/) // the mesh table too
    expect(text).not.toContain(b) // no full id but this node's own
  })

  it('says under the table why an alive node gets no new work', () => {
    const s = wide()
    s.nodes = s.nodes.map((n, i) => i === 2 ? { ...n, unfit: 'disk 74 % used (limit 70 %)' } : { ...n, unfit: null })
    expect(render80(s)).toMatch(/\n12D3KooWQr7x…\s+gpu-worker-\S*\s+.*\nno new work for 12D3KooWQr7x…: disk 74 % used \(limit 70 %\)\n/)
    expect(render80(wide())).not.toContain('no new work')
  })

  it('names peers by their prefixes inside the node\'s own reasons too', () => {
    const s = wide()
    s.leader = { ...s.leader, nodeId: null, epoch: null, noLeader: { cause: 'others-standing', text: `election in progress: ${c} stands for epoch 13` } }
    s.training = { role: 'leader', decisions: [{ config: 'hex8_2p', ready: false, reason: 'in-flight', games: 1, why: `no other training node: retry on ${b} in 40 s` }] }
    const text = render80(s)
    expect(text).toContain('\nleader: none — election in progress: 12D3KooWQr7x… stands for epoch 13\n')
    expect(text).toMatch(/retry on 12D3KooWAbZz…\s+in\s+40 s/)
    for (const id of [a, b, c]) expect(text).not.toContain(id)
  })

  it('labels empty lists instead of leaving a blank', () => {
    const text = render80(summary({ runningJobs: [], jobsByState: {}, nodes: [] }))
    expect(text).toContain('\njobs: none\nrunning jobs: none\n')
    expect(text).toContain('\nnodes: 0 (0 alive)\n')
    expect(text).not.toContain('(none)')
    expect(render80(summary({ training: { role: 'follower', decisions: [] } }))).toContain('\ntraining readiness (follower): no config decided yet')
  })
})
