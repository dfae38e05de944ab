/**
 * The failure detector's rule, shared by every node so they agree on who is dead (the original
 * system's per-node timeouts made nodes disagree). Pure functions over the last heartbeat time
 * seen on the local clock and the peer's last reported CPU load.
 */

export type Health = 'ALIVE' | 'SUSPECT' | 'DEAD'

export interface HealthRule {
  suspectAfterMs: number
  deadAfterMs: number
  /** CPU % at or above which `deadAfterMs` is stretched by `stretchHigh`. */
  cpuHighPercent: number
  cpuCriticalPercent: number
  stretchHigh: number
  stretchCritical: number
}

/** `deadAfterMs` for a peer, stretched when it last reported a busy CPU (it may be slow to send). */
export function effectiveDeadAfterMs (rule: HealthRule, lastCpuPercent: number | undefined): number {
  const cpu = lastCpuPercent ?? 0
  if (cpu >= rule.cpuCriticalPercent) return rule.deadAfterMs * rule.stretchCritical
  if (cpu >= rule.cpuHighPercent) return rule.deadAfterMs * rule.stretchHigh
  return rule.deadAfterMs
}

/** ALIVE while the last heartbeat is younger than suspectAfter; SUSPECT until deadAfter; DEAD after. */
export function healthOf (rule: HealthRule, lastHeartbeatMs: number, nowMs: number, lastCpuPercent?: number): Health {
  const elapsed = nowMs - lastHeartbeatMs
  if (elapsed < rule.suspectAfterMs) return 'ALIVE'
  if (elapsed < effectiveDeadAfterMs(rule, lastCpuPercent)) return 'SUSPECT'
  return 'DEAD'
}
