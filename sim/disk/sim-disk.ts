/**
 * A node's disk in the simulator: the live database (memory-level) plus a mirror of what is
 * durable. A write with `sync: true` makes everything written before it durable too (one
 * LevelDB log); other writes reach the mirror when the OS flushes them, after `flushDelayMs`.
 * A process crash keeps every write (the OS has them); a power loss keeps only the mirror.
 */
import { MemoryLevel } from 'memory-level'
import type { RootDb } from '../../src/store/level.js'
import type { Scheduler } from '../core/scheduler.js'

type Op = { type: 'put', key: string, value: Uint8Array } | { type: 'del', key: string }

async function copyInto (from: MemoryLevel<string, Uint8Array>, to: MemoryLevel<string, Uint8Array>): Promise<void> {
  await to.clear()
  const ops: Op[] = []
  for await (const [key, value] of from.iterator()) ops.push({ type: 'put', key, value })
  if (ops.length > 0) await to.batch(ops)
}

const newDb = (): MemoryLevel<string, Uint8Array> => new MemoryLevel<string, Uint8Array>({ keyEncoding: 'utf8', valueEncoding: 'view' })

export class SimDisk {
  private live = newDb()
  private readonly durable = newDb()
  private pending: Op[] = []
  /** Writes lost to power failures so far. */
  lostWrites = 0

  constructor (private readonly sched: Scheduler, private readonly node: number, private readonly flushDelayMs = 500) {}

  /** Open the live database for a (re)started node. */
  async open (): Promise<RootDb> {
    await this.live.open()
    await this.durable.open()
    return this.wrap()
  }

  /** The node crashed. `power`: unsynced writes are lost. */
  async crash (mode: 'process' | 'power'): Promise<void> {
    if (mode === 'process') {
      await this.flushPending()
    } else {
      this.lostWrites += this.pending.length
      this.pending = []
      const fresh = newDb()
      await fresh.open()
      await copyInto(this.durable, fresh)
      await this.live.close()
      this.live = fresh
    }
  }

  private async flushPending (): Promise<void> {
    const ops = this.pending
    this.pending = []
    if (ops.length > 0) await this.durable.batch(ops)
  }

  private async record (ops: Op[], sync: boolean): Promise<void> {
    this.pending.push(...ops)
    if (sync) {
      await this.flushPending()
    } else {
      const batch = ops
      this.sched.after(this.flushDelayMs, 'disk-flush', () => {
        const i = this.pending.indexOf(batch[0] as Op)
        if (i < 0) return
        const flushed = this.pending.splice(0, i + batch.length)
        this.durable.batch(flushed).catch(() => undefined)
      }, this.node)
    }
  }

  /** The live db, with writes recorded for the durability model. */
  private wrap (): RootDb {
    const live = this.live
    const record = this.record.bind(this)
    return new Proxy(live, {
      get (target, prop, receiver) {
        if (prop === 'put') {
          return async (key: string, value: Uint8Array, options?: { sync?: boolean }) => {
            await target.put(key, value)
            await record([{ type: 'put', key, value }], options?.sync === true)
          }
        }
        if (prop === 'del') {
          return async (key: string, options?: { sync?: boolean }) => {
            await target.del(key)
            await record([{ type: 'del', key }], options?.sync === true)
          }
        }
        if (prop === 'batch') {
          return async (ops: Op[], options?: { sync?: boolean }) => {
            await target.batch(ops)
            await record(ops.map(o => (o.type === 'put' ? { type: 'put', key: o.key, value: o.value } : { type: 'del', key: o.key })), options?.sync === true)
          }
        }
        const v = Reflect.get(target, prop, receiver) as unknown
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
      }
    }) as unknown as RootDb
  }
}
