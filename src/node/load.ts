/**
 * Volatile load of this machine for heartbeats, from node:os: CPU use as the busy share of CPU
 * time since the previous sample, memory use, disk use of the data dir. GPU figures come from an
 * optional getter (HardwareMonitor.gpuLoad: the last reading, since a heartbeat cannot wait for
 * a probe); without one they stay 0.
 */
import { cpus, freemem, totalmem } from 'node:os'
import { statfsSync } from 'node:fs'
import type { LoadSample, LoadSource } from '../mesh/heartbeat.js'

interface CpuTimes { busy: number, total: number }

function cpuTimes (): CpuTimes {
  let busy = 0
  let total = 0
  for (const c of cpus()) {
    const t = c.times
    const all = t.user + t.nice + t.sys + t.idle + t.irq
    total += all
    busy += all - t.idle
  }
  return { busy, total }
}

/** The GPU part of a load sample, 0..100 each. */
export interface GpuLoadFigures { gpuPercent: number, gpuMemoryPercent: number }
const NO_GPU = (): GpuLoadFigures => ({ gpuPercent: 0, gpuMemoryPercent: 0 })

const clampPercent = (v: number): number => Math.min(100, Math.max(0, Number.isFinite(v) ? v : 0))

/** The block counts of statfs(2) that disk use is computed from. */
export interface FsBlocks { blocks: number, bfree: number, bavail: number }

/**
 * Disk use in percent as `df` shows it: used / (used + available to unprivileged users). Blocks
 * that are free but not available (the root reserve of ext4, 5 % by default, or far more on some
 * virtual disks) count as neither, so a disk is 100 % full exactly when a job can no longer write.
 * Counting them as used (1 - bavail / blocks) reported a disk with 21 % in use as 68 %, which put
 * every node of a cluster over health.maxDiskPercentForWork (70) and stopped all work. Pure.
 */
export function diskUsePercent (s: FsBlocks): number {
  const used = s.blocks - s.bfree
  const total = used + s.bavail
  return total > 0 ? clampPercent((100 * used) / total) : 0
}

export class OsLoadSource implements LoadSource {
  private last: CpuTimes = cpuTimes()

  constructor (
    private readonly dataDir: string,
    private readonly jobs: () => { selfplay: number, training: number } = () => ({ selfplay: 0, training: 0 }),
    private readonly gpu: () => GpuLoadFigures = NO_GPU
  ) {}

  sample (): LoadSample {
    const now = cpuTimes()
    const dTotal = now.total - this.last.total
    const cpuPercent = dTotal > 0 ? (100 * (now.busy - this.last.busy)) / dTotal : 0
    this.last = now
    let diskPercent = 0
    try {
      const s = statfsSync(this.dataDir)
      diskPercent = diskUsePercent(s)
    } catch {
      diskPercent = 0 // data dir not there (yet): report no disk pressure rather than fail a heartbeat
    }
    const jobs = this.jobs()
    const gpu = this.gpu()
    return {
      cpuPercent: clampPercent(cpuPercent),
      memoryPercent: clampPercent(100 * (1 - freemem() / totalmem())),
      diskPercent: clampPercent(diskPercent),
      gpuPercent: clampPercent(gpu.gpuPercent),
      gpuMemoryPercent: clampPercent(gpu.gpuMemoryPercent),
      selfplayJobs: jobs.selfplay,
      trainingJobs: jobs.training
    }
  }
}
