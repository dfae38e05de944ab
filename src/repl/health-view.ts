/**
 * The lines `riftmesh status` shows about this node's own health: whether its store persists
 * (and what waits while it does not), and peers whose clocks are off.
 */
import { duration, shortId } from './format.js'
import type { ClockHealth, StoreHealth } from '../node/metrics-snapshot.js'

/** `store: persisting`, or a warning naming the cause, how long, and what waits in memory. */
export function storeLines (h: StoreHealth | null): string[] {
  if (h === null) return []
  if (h.persisting) return ['store: persisting']
  const waiting = h.pendingUpdates > 0
    ? `; ${h.pendingUpdates} document update(s) kept in memory, not durable yet${h.retryInMs === null ? '' : `, next try in ${duration(h.retryInMs)}`}`
    : ''
  return [`WARNING store: cannot persist (${h.code ?? 'error'}) for ${duration(h.failingForMs ?? 0)}${waiting}; ` +
    `free space in the data dir: persistence resumes by itself (${h.error ?? 'no detail'})`]
}

/** One warning per peer whose clock is further from ours than the bound (peers named by `name`, default their id's end). */
export function clockLines (c: ClockHealth | null, name: (id: string) => string = id => shortId(id)): string[] {
  if (c === null) return []
  return c.skewed.map(s => `WARNING clock: ${name(s.peer)} is ${duration(Math.abs(s.skewMs))} ${s.skewMs > 0 ? 'ahead of' : 'behind'} this node ` +
    `(more than health.maxClockSkewMs, ${duration(c.maxSkewMs)}); check NTP on both machines`)
}
