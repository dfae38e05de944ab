/** Node views for manager tests. */
import type { Health } from '../../../src/mesh/health.js'
import type { LoadSample } from '../../../src/mesh/heartbeat.js'
import type { NodeView } from '../../../src/managers/scores.js'
import type { Capability, Hardware, NodeInfo } from '../../../src/state/schema.js'
import { sampleNodeInfo } from '../../helpers.js'

export const IDLE: LoadSample = { cpuPercent: 0, memoryPercent: 0, diskPercent: 0, gpuPercent: 0, gpuMemoryPercent: 0, selfplayJobs: 0, trainingJobs: 0 }

export function load (over: Partial<LoadSample> = {}): LoadSample {
  return { ...IDLE, ...over }
}

export function gpuHw (gpuName: string, over: Partial<Hardware> = {}): Hardware {
  return { cpuCount: 32, memoryGb: 256, diskFreeGb: 1000, diskTotalGb: 2000, hasGpu: true, gpuName, gpuCount: 1, gpuMemoryGb: 80, ...over }
}

export function cpuHw (over: Partial<Hardware> = {}): Hardware {
  return { cpuCount: 16, memoryGb: 64, diskFreeGb: 500, diskTotalGb: 1000, hasGpu: false, gpuName: '', gpuCount: 0, gpuMemoryGb: 0, ...over }
}

export const GPU_CAPS: Capability[] = ['selfplay', 'training', 'gauntlet', 'tournament', 'export']
export const CPU_CAPS: Capability[] = ['selfplay', 'export', 'gauntlet']

export interface ViewOpts {
  hw?: Hardware
  health?: Health
  load?: LoadSample | undefined
  caps?: Capability[]
  retired?: boolean
  info?: Partial<NodeInfo>
}

export function view (id: string, o: ViewOpts = {}): NodeView {
  const hw = o.hw ?? cpuHw()
  const info = sampleNodeInfo(id, {
    hardware: hw,
    capabilities: o.caps ?? (hw.hasGpu ? GPU_CAPS : CPU_CAPS),
    flags: { voter: false, retired: o.retired ?? false, leaderEligible: true },
    ...o.info
  })
  return { info, health: o.health ?? 'ALIVE', load: 'load' in o ? o.load : IDLE }
}
