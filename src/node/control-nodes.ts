/**
 * `riftmesh nodes forget ID`: remove a node that is gone for good from the node table. Any
 * operator who can reach a node's control socket (the node's own user: the socket is 0600) may
 * do it, on any node, and the deletion replicates; but only for a node that node sees DEAD, that
 * is not itself and not a voter. A forgotten node that comes back writes its entry again.
 */
import { ControlError, type ControlHandler } from '../repl/control.js'
import type { Health } from '../mesh/health.js'
import type { Parts } from './node.js'
import type { Logger } from '../core/logger.js'

export interface ForgetCheck {
  target: string
  self: string
  voters: readonly string[]
  /** The target's health on this node; undefined when not heard from since this node started. */
  health: Health | undefined
  /** How long this node has listened for heartbeats. */
  listeningMs: number
  deadAfterMs: number
}

/** Why `target` may not be forgotten now, or null when it may (pure). */
export function forgetRefusal (c: ForgetCheck): string | null {
  if (c.target === c.self) return `${c.target} is this node: a running node cannot forget itself (stop it, then forget it from another node)`
  if (c.voters.includes(c.target)) {
    return `${c.target} is a voter: take it out of voters first (riftmesh settings set voters '[…]' without it), then forget it`
  }
  if (c.health === 'ALIVE' || c.health === 'SUSPECT') return `${c.target} is ${c.health} (its heartbeats arrive): only a DEAD node can be forgotten; stop it first`
  if (c.health === undefined && c.listeningMs < c.deadAfterMs) {
    return `this node has listened for heartbeats for ${Math.floor(c.listeningMs / 1000)} s only and cannot tell yet whether ${c.target} is dead; try again in ${Math.ceil((c.deadAfterMs - c.listeningMs) / 1000)} s`
  }
  return null
}

/** A node of the table named by its id or a unique suffix of it. */
function resolveNode (p: Parts, name: string): string {
  const ids = p.state.nodes().map(n => n.nodeId)
  if (ids.includes(name)) return name
  const matches = ids.filter(id => id.endsWith(name))
  if (matches.length === 1) return matches[0] as string
  throw new ControlError(matches.length === 0 ? `no node ${name} in the node table` : `${matches.length} nodes end in ${name}; give more of the id`)
}

export function nodesControlHandlers (p: Parts, init: { deadAfterMs: number, logger: Logger }): Record<string, ControlHandler> {
  const log = init.logger.child({ component: 'nodes' })
  return {
    forgetNode: async args => {
      const raw = args.nodeId
      if (typeof raw !== 'string' || raw.length === 0 || raw.length > 128) throw new ControlError('forgetNode needs a nodeId (a peer id or a unique end of one)')
      const target = resolveNode(p, raw)
      const refusal = forgetRefusal({
        target, self: p.mesh.selfId, voters: p.election.voters(), health: p.heartbeat.health(target),
        listeningMs: p.heartbeat.listeningForMs(), deadAfterMs: init.deadAfterMs
      })
      if (refusal !== null) throw new ControlError(`cannot forget ${target}: ${refusal}`)
      p.state.forgetNode(target)
      p.heartbeat.forget(target)
      await p.tables.peerCache.del(target).catch((err: unknown) => log.warn({ err, peer: target }, 'could not drop the forgotten node from the peer cache'))
      await p.store.flush()
      log.warn({ peer: target }, 'forgot a dead node: removed from the node table on every node')
      return { nodeId: target, nodes: p.state.nodes().length }
    }
  }
}
