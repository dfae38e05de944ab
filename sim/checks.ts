/**
 * Invariant checks over the nodes of a run — simulated (SimNode) or real-mode ones alike. Pure
 * functions of what the omniscient observer sees; each returns null when it holds, or a
 * description of the first violation.
 */
import * as Y from 'yjs'
import type { ClusterState } from '../src/state/cluster-state.js'

/** What a check needs of a node: its index, whether it is up, and its state. */
export interface CheckedNode {
  readonly index: number
  readonly isUp: boolean
  readonly state: ClusterState
}

/** Every live node holds the same documents, with equal snapshots and equal JSON. */
export function checkConvergence (nodes: readonly CheckedNode[]): string | null {
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

export interface AckedWrite { name: string, value: number, node: number, atMs: number }

/** Every write a node acknowledged (durable) is in every live node's state. */
export function checkAckedWrites (nodes: readonly CheckedNode[], acked: readonly AckedWrite[]): string | null {
  for (const n of nodes.filter(x => x.isUp)) {
    const settings = n.state.settings()
    for (const w of acked) {
      if (settings.get(w.name) !== w.value) return `write ${w.name}=${w.value} acknowledged by node ${w.node} at ${w.atMs.toFixed(0)} ms is missing on node ${n.index}`
    }
  }
  return null
}
