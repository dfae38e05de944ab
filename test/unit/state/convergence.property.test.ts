import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import * as Y from 'yjs'
import { SeededRng } from '../../../src/core/rng.js'
import type { ClusterState } from '../../../src/state/cluster-state.js'
import { REMOTE_ORIGIN, type DocName } from '../../../src/state/docs.js'
import { makeState, nodeId, sampleNodeInfo } from '../../helpers.js'

interface Msg { to: number, doc: DocName, update: Uint8Array }

/** One random local operation by replica `i`, of the kinds real nodes perform. */
function randomOp (s: ClusterState, i: number, n: number, rng: SeededRng, step: number): void {
  const self = nodeId(i)
  switch (rng.int(6)) {
    case 0: s.setNodeInfo(sampleNodeInfo(self, { startedAt: step, host: `h${step}` })); break
    case 1: s.setSetting(`s${rng.int(4)}`, rng.int(1000)); break
    case 2: s.dispatchJob({ type: 'selfplay', config: 'hex8_2p', engineMode: 'random', spec: { games: step }, assignedNode: nodeId(rng.int(n)), dispatchEpoch: 1 + rng.int(2), attempt: 0, previousJobId: null }); break
    case 3: {
      const mine = s.jobs().filter(j => j.dispatch.assignedNode === self)
      const j = rng.pick(mine)
      if (j !== undefined) {
        s.setJobStatus({ v: 1, jobId: j.jobId, node: self, state: rng.pick(['RUNNING', 'COMPLETE', 'FAILED'] as const)!, pid: step, startedAt: step, heartbeatAt: step, endedAt: null, exitCode: null, error: null, outputs: [], engineMode: null })
      }
      break
    }
    case 4: s.setCandidacy({ v: 1, nodeId: self, epoch: step, round: rng.int(3), sentAt: step, renounced: false }); break
    default: {
      const j = rng.pick(s.jobs())
      if (j !== undefined) s.addVerdict({ jobId: j.jobId, verdict: 'EXPIRED', epoch: 1, reason: 'test' })
    }
  }
}

function snapshotOf (s: ClusterState): { json: string, vectors: Record<string, string> } {
  const vectors: Record<string, string> = {}
  for (const name of s.docs.names()) vectors[name] = Buffer.from(Y.encodeStateVector(s.docs.get(name)!)).toString('hex')
  return { json: JSON.stringify(s.toJSON()), vectors }
}

describe('cluster document convergence', () => {
  it('replicas that receive the same updates in any order, with duplicates and delays, end identical', () => {
    fc.assert(fc.property(
      fc.integer({ min: 2, max: 5 }), fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 5, max: 60 }),
      (n, seed, steps) => {
        const rng = new SeededRng(seed)
        const replicas = Array.from({ length: n }, (_, i) => makeState(i, seed + i))
        const inflight: Msg[] = []
        replicas.forEach((s, i) => s.onUpdate(u => {
          if (u.origin !== 'local') return
          for (let to = 0; to < n; to++) {
            if (to === i) continue
            inflight.push({ to, doc: u.doc, update: u.update })
            if (rng.next() < 0.2) inflight.push({ to, doc: u.doc, update: u.update }) // duplicate
          }
        }))
        const deliver = (k: number): void => {
          const [m] = inflight.splice(k, 1)
          replicas[m!.to]!.docs.apply(m!.doc, m!.update, REMOTE_ORIGIN)
        }
        for (let step = 0; step < steps; step++) {
          const actor = rng.int(n)
          randomOp(replicas[actor]!, actor, n, rng, step)
          // deliver a random subset now; the rest is delayed
          const k = rng.int(Math.max(1, inflight.length))
          for (let d = 0; d < k && inflight.length > 0; d++) deliver(rng.int(inflight.length))
        }
        while (inflight.length > 0) deliver(rng.int(inflight.length))
        const first = snapshotOf(replicas[0]!)
        for (const r of replicas.slice(1)) expect(snapshotOf(r)).toEqual(first)
      }
    ), { numRuns: 150 })
  })
})
