/**
 * Fencing by epoch at workers: every dispatch and leader-only write carries the epoch it was made
 * under; a worker keeps the highest epoch it has accepted (fsync'd, so a restart cannot forget it)
 * and refuses anything from a lower one — a deposed leader that still believes it leads cannot
 * get work run (Kleppmann's fencing token).
 */
import type { LocalTables } from '../store/tables.js'

const FENCE_KEY = 'fenceEpoch'

export class EpochFence {
  private highest = 0
  private loaded = false

  constructor (private readonly tables: LocalTables) {}

  async load (): Promise<number> {
    const v = await this.tables.config.get(FENCE_KEY)
    this.highest = typeof v === 'number' ? v : 0
    this.loaded = true
    return this.highest
  }

  /** The highest epoch accepted so far. */
  get epoch (): number {
    return this.highest
  }

  /**
   * Accept `epoch` if it is not below the highest accepted one; a higher epoch is persisted
   * before this resolves. Returns false (refuse the action) for a lower epoch.
   */
  async admit (epoch: number): Promise<boolean> {
    if (!this.loaded) await this.load()
    if (epoch < this.highest) return false
    if (epoch > this.highest) {
      await this.tables.config.put(FENCE_KEY, epoch, { sync: true })
      this.highest = epoch
    }
    return true
  }
}
