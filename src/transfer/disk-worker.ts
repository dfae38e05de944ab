/**
 * A disk worker thread (started by DiskPool): runs `disk-ops` jobs with synchronous system calls
 * and answers each with its outcomes. Read data goes back as transferred ArrayBuffers (no copy).
 */
import { writeFileSync } from 'node:fs'
import { parentPort, workerData } from 'node:worker_threads'
import { readListed, writeVerified } from './disk-ops.js'
import type { DiskJob, DiskReply, DiskWorkerData } from './disk-pool.js'
import { loadFsSync } from './fs-sync.js'

/** The thread's name in `top -H`, `perf` and the transfer bench's CPU split (Linux). */
const DISK_THREAD_NAME = 'riftmesh-disk'

const port = parentPort
if (port === null) throw new Error('disk-worker.js runs only as a worker thread (DiskPool starts it)')
const { rootReal, syncfsAddon } = workerData as DiskWorkerData
const loaded = syncfsAddon !== undefined ? loadFsSync(syncfsAddon) : undefined
/** The pool loaded the addon before starting us; should this thread fail to, it fsyncs per file. */
const syncfs = loaded !== undefined && 'syncfs' in loaded ? loaded.syncfs : undefined
try {
  writeFileSync('/proc/thread-self/comm', DISK_THREAD_NAME)
} catch {
  // no /proc (not Linux): the thread keeps the process's name, nothing else changes
}

port.on('message', (job: DiskJob) => {
  let reply: DiskReply
  const transfer: ArrayBuffer[] = []
  try {
    if (job.op === 'read') {
      const outcomes = job.items.map(item => readListed(item, rootReal))
      for (const o of outcomes) if (o.ok) transfer.push(o.data.buffer as ArrayBuffer)
      // memory lent for reads that failed (or did not fit) goes home too
      const returned = job.items.flatMap(item => item.into !== undefined && !transfer.includes(item.into) ? [item.into] : [])
      transfer.push(...returned)
      reply = { id: job.id, op: 'read', outcomes, returned }
    } else {
      reply = { id: job.id, op: 'write', outcomes: writeVerified(job.items, job.fsync, syncfs) }
      // the data buffers go home, to be reused for the next frames
      for (const item of job.items) {
        const ab = item.data.buffer as ArrayBuffer
        if (!transfer.includes(ab)) transfer.push(ab)
      }
      reply.returned = transfer
    }
  } catch (err) {
    reply = { id: job.id, op: 'failed', message: err instanceof Error ? err.message : String(err) }
  }
  port.postMessage(reply, transfer)
})
