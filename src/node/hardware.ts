/**
 * This machine's durable hardware facts for its NodeInfo, from node:os and the data dir's file
 * system. (GPU detection through systeminformation comes with the managers; until then a node
 * reports no GPU.)
 */
import { cpus, totalmem } from 'node:os'
import { statfs } from 'node:fs/promises'
import type { Hardware } from '../state/schema.js'

const GIB = 1024 ** 3
const round1 = (v: number): number => Math.round(v * 10) / 10

export async function detectBasicHardware (dataDir: string): Promise<Hardware> {
  let diskFreeGb = 0
  let diskTotalGb = 0
  try {
    const s = await statfs(dataDir)
    diskFreeGb = round1((s.bavail * s.bsize) / GIB)
    diskTotalGb = round1((s.blocks * s.bsize) / GIB)
  } catch {
    // unreadable file system: report zero free space, which keeps work away from this node
  }
  return {
    cpuCount: Math.max(1, cpus().length),
    memoryGb: round1(totalmem() / GIB),
    diskFreeGb,
    diskTotalGb,
    hasGpu: false,
    gpuName: '',
    gpuCount: 0,
    gpuMemoryGb: 0
  }
}
