/**
 * The merged view the managers decide on: every node's document entry joined with what this
 * node's failure detector says of it (health, last reported load). This node itself is always
 * ALIVE with its own current load.
 */
import type { ClusterState } from '../state/cluster-state.js'
import type { LoadSample, PeerHealthView } from '../mesh/heartbeat.js'
import type { NodeView } from './scores.js'

/** What the heartbeat service tells about peers. */
export interface PeerHealthSource {
  peers(): PeerHealthView[]
}

export interface NodeViewSource {
  nodeViews(): NodeView[]
}

export interface ClusterViewsComponents {
  state: ClusterState
  health: PeerHealthSource
  /** This node's own load now. */
  selfLoad: () => LoadSample
}

/** Join NodeInfo entries with peer health; a node never heard from is DEAD (it gets no work). */
export function joinNodeViews (state: ClusterState, peers: readonly PeerHealthView[], selfLoad: LoadSample): NodeView[] {
  const byPeer = new Map(peers.map(p => [p.peer, p]))
  return state.nodes().map(info => {
    if (info.nodeId === state.selfId) return { info, health: 'ALIVE', load: selfLoad }
    const p = byPeer.get(info.nodeId)
    return p === undefined ? { info, health: 'DEAD', load: undefined } : { info, health: p.health, load: p.load }
  })
}

export class ClusterViews implements NodeViewSource {
  constructor (private readonly c: ClusterViewsComponents) {}

  nodeViews (): NodeView[] {
    return joinNodeViews(this.c.state, this.c.health.peers(), this.c.selfLoad())
  }
}

/** Training jobs pending or running per assigned node, from the jobs in the document. */
export function trainingJobsByNode (state: ClusterState): Map<string, number> {
  const out = new Map<string, number>()
  for (const j of state.jobs()) {
    if (j.dispatch.type !== 'training' || (j.state !== 'PENDING' && j.state !== 'RUNNING')) continue
    out.set(j.dispatch.assignedNode, (out.get(j.dispatch.assignedNode) ?? 0) + 1)
  }
  return out
}
