/**
 * What a directed link does to a message: latency (min + exponential tail), loss, duplication
 * and a bandwidth cap. Partitions, one-way cuts and held links are the network's state on top.
 */
import type { Rng } from '../../src/core/rng.js'

export interface LinkModel {
  /** Fixed part of the one-way latency. @default 1 */
  minLatencyMs: number
  /** Mean of the exponential extra latency (reordering comes from its variance). @default 4 */
  meanExtraLatencyMs: number
  /** Probability a gossip message is lost. Streams are reliable (TCP) but die with the link. @default 0 */
  loss: number
  /** Probability a gossip message is delivered twice. @default 0 */
  duplicate: number
  /** Bytes per ms a link carries (serialisation delay); 0 = unlimited. @default 0 */
  bytesPerMs: number
}

export const DEFAULT_LINK_MODEL: LinkModel = { minLatencyMs: 1, meanExtraLatencyMs: 4, loss: 0, duplicate: 0, bytesPerMs: 0 }

/** One draw of the one-way latency of a message of `bytes` bytes. */
export function drawLatencyMs (m: LinkModel, rng: Rng, bytes: number): number {
  const u = rng.next()
  const extra = m.meanExtraLatencyMs > 0 ? -Math.log(1 - u) * m.meanExtraLatencyMs : 0
  const serial = m.bytesPerMs > 0 ? bytes / m.bytesPerMs : 0
  return m.minLatencyMs + extra + serial
}
