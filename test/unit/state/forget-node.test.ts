import { describe, expect, it } from 'vitest'
import { OwnershipError } from '../../../src/core/errors.js'
import { REMOTE_ORIGIN } from '../../../src/state/docs.js'
import { makeState, nodeId, sampleNodeInfo } from '../../helpers.js'
import type { ClusterState } from '../../../src/state/cluster-state.js'

/** Bring `to` up to date with `from` on both documents forgetNode touches. */
function sync (from: ClusterState, to: ClusterState): void {
  for (const doc of ['control', 'manifests'] as const) to.docs.apply(doc, from.docs.diff(doc, to.docs.stateVector(doc)), REMOTE_ORIGIN)
}

describe('ClusterState.forgetNode', () => {
  it('removes a node\'s entry and manifest on every replica; the node writing again brings it back', () => {
    const [a, b, gone] = [makeState(1), makeState(2), makeState(3)]
    gone.setNodeInfo(sampleNodeInfo(nodeId(3)))
    gone.setManifest({ v: 1, nodeId: nodeId(3), generatedAt: 1, totalFiles: 0, totalBytes: 0, summary: {}, files: {}, truncated: false })
    a.setNodeInfo(sampleNodeInfo(nodeId(1)))
    sync(gone, a)
    sync(a, b)
    expect(b.nodes().map(n => n.nodeId).sort()).toEqual([nodeId(1), nodeId(3)])
    expect(b.manifest(nodeId(3))).toBeDefined()

    a.forgetNode(nodeId(3))
    sync(a, b)
    expect(a.nodes().map(n => n.nodeId)).toEqual([nodeId(1)])
    expect(b.nodes().map(n => n.nodeId)).toEqual([nodeId(1)])
    expect(b.manifest(nodeId(3))).toBeUndefined()

    // it comes back and writes its entry again (it had not seen the delete, or had): the entry stands
    gone.setNodeInfo(sampleNodeInfo(nodeId(3), { startedAt: 2_000 }))
    sync(gone, b)
    sync(b, a)
    expect(a.node(nodeId(3))?.startedAt).toBe(2_000)
    expect(b.node(nodeId(3))?.startedAt).toBe(2_000)
    for (const s of [a, b, gone]) s.destroy()
  })

  it('refuses to forget this node itself', () => {
    const a = makeState(1)
    expect(() => a.forgetNode(nodeId(1))).toThrow(OwnershipError)
    a.destroy()
  })
})
