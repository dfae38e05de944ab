/**
 * The simulator's invariant checks (sim/checks.ts) over any node that exposes its index, whether
 * it is up and its ClusterState — so real-mode nodes are judged by the same rules as the model's.
 * Keep in step with sim/checks.ts.
 */
import * as Y from 'yjs'
import type { ClusterState } from '../../src/state/cluster-state.js'
import type { AckedWrite } from '../checks.js'

export interface CheckedNode {
  readonly index: number
  readonly isUp: boolean
  readonly state: ClusterState
}

/** Every live node holds the same documents, with equal snapshots and equal JSON. */
export function checkConvergenceOf (nodes: readonly CheckedNode[]): string | null {
  const live = nodes.filter(n => n.isUp)
  if (live.length < 2) return null
  const ref = live[0] as CheckedNode
  const refNames = ref.state.docs.names().join(',')
  const refJson = JSON.stringify(ref.state.toJSON())
  for (const n of live.slice(1)) {
    const names = n.state.docs.names().join(',')
    if (names !== refNames) return `node ${n.index} holds documents [${names}], node ${ref.index} holds [${refNames}]`
    for (const name of ref.state.docs.names()) {
      const a = ref.state.docs.get(name) as Y.Doc
      const b = n.state.docs.get(name) as Y.Doc
      if (!Y.equalSnapshots(Y.snapshot(a), Y.snapshot(b))) return `document ${name} differs between node ${ref.index} and node ${n.index} (snapshots)`
    }
    if (JSON.stringify(n.state.toJSON()) !== refJson) return `node ${n.index} and node ${ref.index} have equal snapshots but different JSON`
  }
  return null
}

/** Every write a node acknowledged (durable) is in every live node's state. */
export function checkAckedWritesOf (nodes: readonly CheckedNode[], acked: readonly AckedWrite[]): string | null {
  for (const n of nodes.filter(x => x.isUp)) {
    const settings = n.state.settings()
    for (const w of acked) {
      if (settings.get(w.name) !== w.value) return `write ${w.name}=${w.value} acknowledged by node ${w.node} at ${w.atMs.toFixed(0)} ms is missing on node ${n.index}`
    }
  }
  return null
}
