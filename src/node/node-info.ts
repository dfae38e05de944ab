/**
 * This node's entry in the node table: what it writes for each run (start time, addresses,
 * hardware, capabilities), and the watch that writes it again when a peer forgot it.
 */
import type { Clock } from '../core/clock.js'
import type { Logger } from '../core/logger.js'
import type { RiftmeshConfig } from '../config/index.js'
import type { ClusterState } from '../state/cluster-state.js'
import type { Hardware, NodeInfo } from '../state/schema.js'
import { defaultCapabilities } from '../managers/hardware.js'
import { startLimitsField } from '../managers/admission.js'

export const RIFTMESH_VERSION = '0.1.0'

/** Most addresses written in a NodeInfo. */
export const MAX_NODE_INFO_ADDRS = 64
/** Longest host name written in a NodeInfo. */
export const MAX_HOST_CHARS = 256

export interface NodeInfoRun {
  selfId: string
  host: string
  startedAt: number
  addrs: readonly string[]
  hardware: Hardware
}

/** The NodeInfo this node writes for one run, from its config. Pure. */
export function nodeInfoOf (cfg: RiftmeshConfig, run: NodeInfoRun): NodeInfo {
  const info: NodeInfo = {
    v: 1,
    nodeId: run.selfId,
    host: run.host.slice(0, MAX_HOST_CHARS),
    addrs: run.addrs.slice(0, MAX_NODE_INFO_ADDRS),
    version: RIFTMESH_VERSION,
    startedAt: run.startedAt,
    hardware: run.hardware,
    capabilities: [...(cfg.node.capabilities ?? defaultCapabilities(run.hardware, cfg.scheduler.largeBoardMinVramGb))],
    flags: { voter: cfg.election.voters.includes(run.selfId), retired: false, leaderEligible: cfg.node.leaderEligible }
  }
  if (cfg.node.cpuPowerMultiplier !== 1) info.cpuPowerMultiplier = cfg.node.cpuPowerMultiplier
  // what its worker admits, for the dispatchers; only off the defaults (older nodes skip a NodeInfo with it)
  const admission = startLimitsField({ maxProcesses: cfg.jobs.maxProcessesPerNode, spawnRatePerMinute: cfg.jobs.spawnRatePerMinute })
  if (admission !== undefined) info.admission = admission
  return info
}

/**
 * Write our NodeInfo again when it disappears from the document (`riftmesh nodes forget` on a
 * node that thought this one dead, during a partition): a live node stays in the table.
 * Returns the function that stops the watch.
 */
export function keepNodeInfo (state: ClusterState, clock: Clock, logger: Logger, publish: () => void): () => void {
  let pending: ReturnType<Clock['setTimer']> | undefined
  const off = state.onUpdate(u => {
    if (u.doc !== 'control' || pending !== undefined || state.node(state.selfId) !== undefined) return
    pending = clock.setTimer(() => {
      pending = undefined
      if (state.node(state.selfId) !== undefined) return
      logger.warn('this node was forgotten by a peer while running; writing its entry in the node table again')
      publish()
    }, 0)
  })
  return () => {
    off()
    clock.clearTimer(pending)
  }
}
