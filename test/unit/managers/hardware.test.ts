import { statfsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { describe, expect, it, vi } from 'vitest'
import { VirtualClock } from '../../../src/core/clock.js'
import { ConfigError, NotStartedError } from '../../../src/core/errors.js'
import { createLogger, silentLogger } from '../../../src/core/logger.js'
import {
  DEFAULT_GPU_LOAD_REFRESH_MS, DEFAULT_HARDWARE_REFRESH_MS, HardwareMonitor, defaultCapabilities, detectHardware,
  detectHardwareDetailed, gpuLoadFromControllers, hardwareChanged, hardwareFromProbe, mergeDetection, readGpuLoad,
  type GpuController, type GpuLoad, type HardwareDetection, type HardwareProbe
} from '../../../src/managers/hardware.js'
import { diskUsePercent, OsLoadSource } from '../../../src/node/load.js'
import { hardwareSchema, type Hardware } from '../../../src/state/schema.js'
import { tempDir } from '../../helpers.js'

const GIB = 1024 ** 3

// ---- realistic systeminformation controller lists -------------------------------------------
const aspeed: GpuController = { vendor: 'ASPEED Technology, Inc.', model: 'ASPEED Graphics Family', busAddress: '03:00.0', vram: null }
const h100 = (bus: string, util?: number, usedMiB?: number): GpuController => ({
  vendor: 'NVIDIA Corporation', model: 'GH100 [H100 SXM5 80GB HBM3]', busAddress: bus, vram: 81559,
  name: 'NVIDIA H100 80GB HBM3', pciBus: `00000000:${bus}`, memoryTotal: 81559, memoryUsed: usedMiB, utilizationGpu: util
})
const eightH100 = [aspeed, ...['18:00.0', '2a:00.0', '3a:00.0', '5d:00.0', '9a:00.0', 'ab:00.0', 'ba:00.0', 'db:00.0'].map(b => h100(b))]
const intelIgpu: GpuController = { vendor: 'Intel Corporation', model: 'Raptor Lake-S GT1 [UHD Graphics 770]', busAddress: '00:02.0', vram: 256 }
const rtx4090: GpuController = {
  vendor: 'NVIDIA Corporation', model: 'AD102 [GeForce RTX 4090]', busAddress: '01:00.0', vram: 24564,
  name: 'NVIDIA GeForce RTX 4090', pciBus: '00000000:01:00.0', memoryTotal: 24564
}
const m2Max: GpuController = { vendor: 'Apple', vendorId: '0x05ac', model: 'Apple M2 Max', vram: null }
const radeonMac: GpuController = { vendor: 'AMD', model: 'AMD Radeon Pro 5500M', vram: 8192 }
const a100NoSmi = (bus?: string): GpuController => ({ vendor: 'NVIDIA Corporation', model: 'GA100 [A100 SXM4 80GB]', busAddress: bus, vram: null })
const a6000 = (bus?: string): GpuController => ({ vendor: 'NVIDIA Corporation', model: 'GA102GL [RTX A6000]', busAddress: bus, vram: 49140, name: 'NVIDIA RTX A6000', memoryTotal: 49140 })

const probe = (controllers: GpuController[], over: Partial<HardwareProbe> = {}): HardwareProbe =>
  ({ cpuCount: 64, mem: { total: 512 * GIB }, disk: { size: 2000 * GIB, available: 1500.04 * GIB }, controllers, ...over })

type GpuPart = Pick<Hardware, 'hasGpu' | 'gpuName' | 'gpuCount' | 'gpuMemoryGb'>
const noGpu: GpuPart = { hasGpu: false, gpuName: '', gpuCount: 0, gpuMemoryGb: 0 }

describe('hardwareFromProbe', () => {
  it.each<[string, GpuController[], GpuPart]>([
    ['8×H100 with a BMC display adapter', eightH100, { hasGpu: true, gpuName: 'NVIDIA H100 80GB HBM3', gpuCount: 8, gpuMemoryGb: 79.6 }],
    ['RTX 4090 next to an Intel iGPU (iGPU ignored)', [intelIgpu, rtx4090], { hasGpu: true, gpuName: 'NVIDIA GeForce RTX 4090', gpuCount: 1, gpuMemoryGb: 24 }],
    ['Apple M2 Max: unified memory is the VRAM', [m2Max], { hasGpu: true, gpuName: 'Apple M2 Max', gpuCount: 1, gpuMemoryGb: 512 }],
    ['no controller at all (container without lspci)', [], noGpu],
    ['Intel iGPU only', [intelIgpu], noGpu],
    ['Intel Mac with an AMD card', [intelIgpu, radeonMac], noGpu],
    ['NVIDIA without nvidia-smi, vram null: lspci bracket name, VRAM unknown', [a100NoSmi('17:00.0'), a100NoSmi('65:00.0')], { hasGpu: true, gpuName: 'A100 SXM4 80GB', gpuCount: 2, gpuMemoryGb: 0 }],
    ['NVIDIA with vram 0', [{ ...a100NoSmi('17:00.0'), vram: 0 }], { hasGpu: true, gpuName: 'A100 SXM4 80GB', gpuCount: 1, gpuMemoryGb: 0 }],
    ['H200 by lspci only is not read as H100 from its chip code', [{ vendor: 'NVIDIA Corporation', model: 'GH100 [H200 SXM 141GB]', vram: null }], { hasGpu: true, gpuName: 'H200 SXM 141GB', gpuCount: 1, gpuMemoryGb: 0 }],
    ['duplicated names on distinct buses are distinct GPUs', [a6000('17:00.0'), a6000('65:00.0')], { hasGpu: true, gpuName: 'NVIDIA RTX A6000', gpuCount: 2, gpuMemoryGb: 48 }],
    ['one device listed twice (same bus) counts once', [a6000('17:00.0'), { ...a6000(undefined), pciBus: '00000000:17:00.0' }], { hasGpu: true, gpuName: 'NVIDIA RTX A6000', gpuCount: 1, gpuMemoryGb: 48 }],
    ['duplicated names without bus addresses each count', [a6000(), a6000()], { hasGpu: true, gpuName: 'NVIDIA RTX A6000', gpuCount: 2, gpuMemoryGb: 48 }],
    ['mixed NVIDIA cards: name and VRAM of the largest, all counted', [{ vendor: 'NVIDIA', vendorId: '10DE', model: 'NVIDIA T400 4GB', vram: 4096 }, rtx4090], { hasGpu: true, gpuName: 'NVIDIA GeForce RTX 4090', gpuCount: 2, gpuMemoryGb: 24 }],
    ['Windows-style NVIDIA entry (vendor id only)', [{ vendor: '', vendorId: '0x10de', model: 'NVIDIA GeForce RTX 3090', vram: 24576 }], { hasGpu: true, gpuName: 'NVIDIA GeForce RTX 3090', gpuCount: 1, gpuMemoryGb: 24 }]
  ])('%s', (_name, controllers, want) => {
    const hw = hardwareFromProbe(probe(controllers))
    expect(hardwareSchema.parse(hw)).toEqual(hw)
    expect({ hasGpu: hw.hasGpu, gpuName: hw.gpuName, gpuCount: hw.gpuCount, gpuMemoryGb: hw.gpuMemoryGb }).toEqual(want)
  })

  it.each<[string, Partial<HardwareProbe>, Partial<Hardware>]>([
    ['sizes in GiB to one decimal', {}, { cpuCount: 64, memoryGb: 512, diskFreeGb: 1500, diskTotalGb: 2000 }],
    ['unreadable disk reads as none', { disk: undefined }, { diskFreeGb: 0, diskTotalGb: 0 }],
    ['at least one CPU', { cpuCount: 0 }, { cpuCount: 1 }],
    ['nonsense numbers read as 0', { mem: { total: Number.NaN }, disk: { size: -1, available: Number.POSITIVE_INFINITY } }, { memoryGb: 0, diskFreeGb: 0, diskTotalGb: 0 }]
  ])('%s', (_name, over, want) => {
    const hw = hardwareFromProbe(probe([], over))
    expect(hardwareSchema.safeParse(hw).success).toBe(true)
    expect(hw).toMatchObject(want)
  })
})

const hw = (over: Partial<Hardware> = {}): Hardware =>
  ({ cpuCount: 32, memoryGb: 128, diskFreeGb: 500, diskTotalGb: 1000, hasGpu: true, gpuName: 'NVIDIA H100', gpuCount: 1, gpuMemoryGb: 80, ...over })

describe('defaultCapabilities', () => {
  it.each<[string, Hardware, number | undefined, string[]]>([
    ['CPU node', hw({ ...noGpu }), undefined, ['selfplay', 'export', 'gauntlet']],
    ['GPU node with 24 GB', hw({ gpuMemoryGb: 24 }), undefined, ['selfplay', 'training', 'gauntlet', 'tournament', 'export']],
    ['GPU node with unknown VRAM', hw({ gpuMemoryGb: 0 }), undefined, ['selfplay', 'training', 'gauntlet', 'tournament', 'export']],
    ['GPU node with exactly 48 GB', hw({ gpuMemoryGb: 48 }), undefined, ['selfplay', 'training', 'gauntlet', 'tournament', 'export', 'large_boards']],
    ['GPU node with 80 GB', hw(), undefined, ['selfplay', 'training', 'gauntlet', 'tournament', 'export', 'large_boards']],
    ['threshold from config', hw({ gpuMemoryGb: 80 }), 96, ['selfplay', 'training', 'gauntlet', 'tournament', 'export']]
  ])('%s', (_name, h, threshold, want) => {
    expect(defaultCapabilities(h, threshold)).toEqual(want)
  })
})

describe('hardwareChanged', () => {
  it.each<[string, Partial<Hardware>, boolean]>([
    ['identical', {}, false],
    ['free disk down 0.9 GB', { diskFreeGb: 499.1 }, false],
    ['free disk down 1 GB', { diskFreeGb: 499 }, true],
    ['free disk up 1.5 GB', { diskFreeGb: 501.5 }, true],
    ['disk total', { diskTotalGb: 2000 }, true],
    ['GPU count', { gpuCount: 2 }, true],
    ['GPU lost', { ...noGpu }, true],
    ['memory', { memoryGb: 64 }, true],
    ['CPUs', { cpuCount: 16 }, true]
  ])('%s → %s', (_name, over, want) => {
    expect(hardwareChanged(hw(), hw(over))).toBe(want)
  })
})

const detection = (h: Hardware, over: Partial<HardwareDetection> = {}): HardwareDetection =>
  ({ hardware: h, gpuVendor: h.hasGpu ? 'nvidia' : null, gpuLoad: { gpuPercent: 0, gpuMemoryPercent: 0 }, gpuProbed: true, diskProbed: true, ...over })

describe('mergeDetection', () => {
  it.each<[string, HardwareDetection | undefined, HardwareDetection, Hardware]>([
    ['first detection is taken as is', undefined, detection(hw({ ...noGpu }), { gpuProbed: false }), hw({ ...noGpu })],
    ['a failed GPU probe keeps the previous GPU', detection(hw()), detection(hw({ ...noGpu, diskFreeGb: 400 }), { gpuProbed: false, gpuVendor: null }), hw({ diskFreeGb: 400 })],
    ['a failed disk probe keeps the previous disk', detection(hw()), detection(hw({ diskFreeGb: 0, diskTotalGb: 0, gpuCount: 2 }), { diskProbed: false }), hw({ gpuCount: 2 })],
    ['a GPU that really went away (probe answered) is gone', detection(hw()), detection(hw({ ...noGpu })), hw({ ...noGpu })]
  ])('%s', (_name, prev, next, want) => {
    expect(mergeDetection(prev, next).hardware).toEqual(want)
  })
})

describe('gpuLoadFromControllers', () => {
  it.each<[string, GpuController[], GpuLoad]>([
    ['8×H100, one busy (si leaves out the zero figures of the idle ones)',
      [aspeed, h100('18:00.0', 100, 40_000), ...['2a', '3a', '5d', '9a', 'ab', 'ba', 'db'].map(b => h100(`${b}:00.0`))],
      { gpuPercent: 12.5, gpuMemoryPercent: (100 * 40_000) / (8 * 81559) }],
    ['RTX 4090 + iGPU', [intelIgpu, { ...rtx4090, utilizationGpu: 63, memoryUsed: 12282 }], { gpuPercent: 63, gpuMemoryPercent: 50 }],
    ['NVIDIA without nvidia-smi data', [a100NoSmi('17:00.0')], { gpuPercent: 0, gpuMemoryPercent: 0 }],
    ['Apple silicon (no figures)', [m2Max], { gpuPercent: 0, gpuMemoryPercent: 0 }],
    ['no GPU', [], { gpuPercent: 0, gpuMemoryPercent: 0 }],
    ['out-of-range figures are clamped', [{ ...rtx4090, utilizationGpu: 250, memoryUsed: 99_999 }], { gpuPercent: 100, gpuMemoryPercent: 100 }]
  ])('%s', (_name, controllers, want) => {
    const load = gpuLoadFromControllers(controllers)
    expect(load.gpuPercent).toBeCloseTo(want.gpuPercent, 9)
    expect(load.gpuMemoryPercent).toBeCloseTo(want.gpuMemoryPercent, 9)
  })

  it('feeds a GPU load getter into heartbeat samples, clamped; none keeps them 0', () => {
    expect(new OsLoadSource('/nonexistent', undefined, () => ({ gpuPercent: 40, gpuMemoryPercent: 120 })).sample())
      .toMatchObject({ gpuPercent: 40, gpuMemoryPercent: 100 })
    expect(new OsLoadSource('/nonexistent').sample()).toMatchObject({ gpuPercent: 0, gpuMemoryPercent: 0 })
  })

  // blocks, bfree, bavail as statfs(2) reports them; the figure df's Use% column shows
  it.each([
    ['a VM disk with a large reserve (read off a CI machine): 21 %, not 68 %', { blocks: 66_053_021, bfree: 60_394_579, bavail: 20_939_286 }, 21.27],
    ['ext4 with the 5 % root reserve, half used', { blocks: 1000, bfree: 500, bavail: 450 }, 52.63],
    ['full for users while root still has its reserve', { blocks: 1000, bfree: 50, bavail: 0 }, 100],
    ['no reserve: used / size', { blocks: 1000, bfree: 250, bavail: 250 }, 75],
    ['empty', { blocks: 1000, bfree: 1000, bavail: 1000 }, 0],
    ['a pseudo file system without blocks', { blocks: 0, bfree: 0, bavail: 0 }, 0]
  ])('disk use as df shows it: %s', (_name, s, want) => {
    expect(diskUsePercent(s)).toBeCloseTo(want, 2)
  })

  it('samples the disk of the data dir with that formula', () => {
    const s = statfsSync(tmpdir())
    expect(new OsLoadSource(tmpdir()).sample().diskPercent).toBeCloseTo(diskUsePercent(s), 0)
  })
})

function capturingLogger (): { logger: ReturnType<typeof createLogger>, lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = []
  return { logger: createLogger({ level: 'debug', destination: { write: (s: string) => { lines.push(JSON.parse(s)) } } }), lines }
}

describe('detectHardware', () => {
  it('detects this machine as a valid Hardware', async () => {
    const { dir, cleanup } = await tempDir()
    try {
      const found = await detectHardware(dir, { logger: silentLogger(), timeoutMs: 30_000 })
      expect(hardwareSchema.parse(found)).toEqual(found)
      expect(found.cpuCount).toBeGreaterThanOrEqual(1)
      expect(found.memoryGb).toBeGreaterThan(0)
      expect(found.diskTotalGb).toBeGreaterThan(0)
    } finally {
      await cleanup()
    }
  })

  it('degrades to no GPU with a warning when the probe times out', async () => {
    const clock = new VirtualClock(0)
    const { logger, lines } = capturingLogger()
    const graphics = (): Promise<{ controllers: GpuController[] }> => {
      queueMicrotask(() => clock.advance(10_000))
      return new Promise(() => {})
    }
    const d = await detectHardwareDetailed('/', { logger, clock, timeoutMs: 10_000, graphics })
    expect(d).toMatchObject({ gpuProbed: false, diskProbed: true, hardware: { hasGpu: false, gpuCount: 0 } })
    expect(lines.some(l => l.level === 40 && /GPU detection/.test(String(l.msg)))).toBe(true)
    expect(clock.pendingTimers).toBe(0)
  })

  it('degrades to no GPU and no disk with warnings when probes fail, never throwing', async () => {
    const { logger, lines } = capturingLogger()
    const d = await detectHardwareDetailed('/nonexistent/riftmesh', { logger, clock: new VirtualClock(0), graphics: async () => { throw new Error('lspci exploded') } })
    expect(d).toMatchObject({ gpuProbed: false, diskProbed: false, hardware: { hasGpu: false, diskFreeGb: 0, diskTotalGb: 0 } })
    expect(hardwareSchema.safeParse(d.hardware).success).toBe(true)
    expect(lines.filter(l => l.level === 40)).toHaveLength(2)
  })

  it('reads the GPU load from the probe, 0 when the probe fails', async () => {
    const clock = new VirtualClock(0)
    expect(await readGpuLoad({ clock, graphics: async () => ({ controllers: [intelIgpu, { ...rtx4090, utilizationGpu: 10, memoryUsed: 6141 }] }) }))
      .toEqual({ gpuPercent: 10, gpuMemoryPercent: 25 })
    expect(await readGpuLoad({ clock, logger: silentLogger(), graphics: async () => { throw new Error('no nvidia-smi') } }))
      .toEqual({ gpuPercent: 0, gpuMemoryPercent: 0 })
  })
})

/** A detector fake: returns the queued detections in turn (the last one repeats). */
function fakeDetector (...queue: HardwareDetection[]): { detect: () => Promise<HardwareDetection>, calls: () => number } {
  let n = 0
  return {
    detect: async () => queue[Math.min(n++, queue.length - 1)] as HardwareDetection,
    calls: () => n
  }
}

describe('HardwareMonitor', () => {
  const make = (detect: () => Promise<HardwareDetection>, readLoad?: () => Promise<GpuLoad>): { clock: VirtualClock, m: HardwareMonitor } => {
    const clock = new VirtualClock(0)
    const m = new HardwareMonitor({ clock, logger: silentLogger(), detect, readGpuLoad: readLoad }, { dataDir: '/data' })
    return { clock, m }
  }

  it('detects at start, then on the slow interval; start and stop are idempotent', async () => {
    const f = fakeDetector(detection(hw()))
    const { clock, m } = make(f.detect)
    expect(() => m.current()).toThrow(NotStartedError)
    await Promise.all([m.start(), m.start()])
    expect(f.calls()).toBe(1)
    expect(m.current()).toEqual(hw())
    clock.advance(DEFAULT_HARDWARE_REFRESH_MS - 1)
    expect(f.calls()).toBe(1)
    clock.advance(1)
    await expect.poll(() => f.calls(), { timeout: 1_000 }).toBe(2)
    m.stop()
    m.stop()
    expect(clock.pendingTimers).toBe(0)
    clock.advance(10 * DEFAULT_HARDWARE_REFRESH_MS)
    expect(f.calls()).toBe(2)
  })

  it('tells listeners of real changes only, and not of a free disk drift under 1 GB', async () => {
    const f = fakeDetector(
      detection(hw()),
      detection(hw({ diskFreeGb: 499.5 })),
      detection(hw({ diskFreeGb: 499.2 })),
      detection(hw({ diskFreeGb: 498.9 })),
      detection(hw({ diskFreeGb: 498.9, gpuCount: 2 }))
    )
    const { clock, m } = make(f.detect)
    const seen: Array<[Hardware, Hardware]> = []
    m.onChange((next, prev) => seen.push([next, prev]))
    await m.start()
    for (let i = 2; i <= 5; i++) {
      clock.advance(DEFAULT_HARDWARE_REFRESH_MS)
      expect(f.calls()).toBe(i) // the timer started detection i ...
      await m.refresh() // ... and this joins it, so it is applied before we look
    }
    expect(seen.map(([next, prev]) => [prev.diskFreeGb, next.diskFreeGb, next.gpuCount])).toEqual([[500, 498.9, 1], [498.9, 498.9, 2]])
    m.stop()
  })

  it('keeps the GPU through one failed GPU probe', async () => {
    const f = fakeDetector(detection(hw()), detection(hw({ ...noGpu }), { gpuProbed: false, gpuVendor: null }))
    const { m } = make(f.detect)
    const listener = vi.fn()
    m.onChange(listener)
    await m.start()
    await m.refresh()
    expect(m.current()).toEqual(hw())
    expect(listener).not.toHaveBeenCalled()
    m.stop()
  })

  it('reads the GPU load on NVIDIA nodes only', async () => {
    const gpuNode = fakeDetector(detection(hw(), { gpuLoad: { gpuPercent: 5, gpuMemoryPercent: 6 } }))
    const readLoad = vi.fn(async () => ({ gpuPercent: 70, gpuMemoryPercent: 30 }))
    const a = make(gpuNode.detect, readLoad)
    await a.m.start()
    expect(a.m.gpuLoad()).toEqual({ gpuPercent: 5, gpuMemoryPercent: 6 }) // from the detection's own probe
    a.clock.advance(DEFAULT_GPU_LOAD_REFRESH_MS)
    await expect.poll(() => a.m.gpuLoad(), { timeout: 1_000 }).toEqual({ gpuPercent: 70, gpuMemoryPercent: 30 })
    a.m.stop()

    const cpuRead = vi.fn(async () => ({ gpuPercent: 70, gpuMemoryPercent: 30 }))
    const b = make(fakeDetector(detection(hw({ ...noGpu }))).detect, cpuRead)
    await b.m.start()
    b.clock.advance(3 * DEFAULT_GPU_LOAD_REFRESH_MS)
    await b.m.refresh()
    expect(cpuRead).not.toHaveBeenCalled()
    expect(b.m.gpuLoad()).toEqual({ gpuPercent: 0, gpuMemoryPercent: 0 })
    b.m.stop()
  })

  it('stops what it started when the first detection throws', async () => {
    const { clock, m } = make(async () => { throw new Error('detector bug') })
    await expect(m.start()).rejects.toThrow('detector bug')
    expect(clock.pendingTimers).toBe(0)
    expect(() => m.current()).toThrow(NotStartedError)
  })

  it.each([
    [{ refreshIntervalMs: 0 }, 'hardware.refreshIntervalMs'],
    [{ timeoutMs: -1 }, 'hardware.timeoutMs'],
    [{ gpuLoadIntervalMs: Number.NaN }, 'hardware.gpuLoadIntervalMs'],
    [{ minDiskFreeChangeGb: -1 }, 'hardware.minDiskFreeChangeGb'],
    [{ dataDir: '' }, 'hardware.dataDir']
  ])('rejects bad init %o naming %s', (over, key) => {
    const build = (): HardwareMonitor => new HardwareMonitor({ clock: new VirtualClock(0), logger: silentLogger() }, { dataDir: '/data', ...over })
    expect(build).toThrow(ConfigError)
    expect(build).toThrow(key)
  })
})
