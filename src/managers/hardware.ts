/**
 * This machine's hardware for its NodeInfo (REFERENCE.md, NodeInfo): CPU count, memory, the data
 * dir's disk and the GPU — NVIDIA cards as systeminformation reports them, or Apple silicon,
 * whose GPU shares the machine's memory. Other graphics controllers (Intel/AMD integrated chips,
 * server BMC adapters) are not GPUs for this cluster.
 *
 * - `hardwareFromProbe` maps raw probe results to `Hardware` (pure).
 * - `detectHardware` probes this machine; it never throws: a failed or slow GPU probe reads as
 *   "no GPU", an unreadable data dir as no disk, each with a warning.
 * - `HardwareMonitor` detects at start and on a slow interval, keeps the last GPU load for
 *   heartbeats, and tells listeners when the hardware really changed.
 * - `defaultCapabilities` derives the work a node advertises from its hardware (pure).
 *
 * systeminformation runs `nvidia-smi` synchronously (execFileSync, no timeout of its own): the
 * timeout here bounds the wait for the asynchronous part only.
 */
import { availableParallelism, totalmem } from 'node:os'
import { statfs } from 'node:fs/promises'
import { graphics as siGraphics } from 'systeminformation'
import type { Systeminformation } from 'systeminformation'
import { SystemClock, timeoutSignal, type Clock, type TimerHandle } from '../core/clock.js'
import { ConfigError, NotStartedError, errorMessage } from '../core/errors.js'
import type { Logger } from '../core/logger.js'
import { OncePerCause, causeKey } from '../core/once-per-cause.js'
import { DEFAULT_LARGE_BOARD_MIN_VRAM_GB } from '../config/defaults.js'
import type { Capability, Hardware } from '../state/schema.js'

/** HardwareMonitorInit.refreshIntervalMs: hardware is re-detected this often. @default 300_000 (5 min) */
export const DEFAULT_HARDWARE_REFRESH_MS = 300_000
/** HardwareMonitorInit.timeoutMs / detectHardware's timeoutMs: longest wait for one GPU probe. @default 10_000 */
export const DEFAULT_HARDWARE_TIMEOUT_MS = 10_000
/** HardwareMonitorInit.gpuLoadIntervalMs: the GPU load is read this often (NVIDIA nodes only). @default 30_000 */
export const DEFAULT_GPU_LOAD_REFRESH_MS = 30_000
/** HardwareMonitorInit.minDiskFreeChangeGb: smaller changes of free disk are not a hardware change. @default 1 */
export const DEFAULT_MIN_DISK_FREE_CHANGE_GB = 1

/** GPU node capabilities (REFERENCE.md); `large_boards` is added when VRAM is large enough. */
export const GPU_CAPABILITIES: readonly Capability[] = ['selfplay', 'training', 'gauntlet', 'tournament', 'export']
/** CPU node capabilities (REFERENCE.md). */
export const CPU_CAPABILITIES: readonly Capability[] = ['selfplay', 'export', 'gauntlet']

// limits of hardwareSchema (src/state/schema.ts)
const MAX_CPU_COUNT = 4096
const MAX_GPU_COUNT = 64
const MAX_GPU_NAME_CHARS = 128
const MAX_MEMORY_GB = 1e6
const MAX_DISK_GB = 1e9
const MAX_GPU_MEMORY_GB = 1e5
const GIB = 1024 ** 3
const MIB_PER_GIB = 1024

/** The fields of a systeminformation graphics controller this module reads. */
export type GpuController = Pick<Systeminformation.GraphicsControllerData, 'vendor' | 'model'> &
Partial<Pick<Systeminformation.GraphicsControllerData,
'vendorId' | 'name' | 'vram' | 'busAddress' | 'pciBus' | 'memoryTotal' | 'memoryUsed' | 'utilizationGpu'>>

/** Raw facts of one machine, shaped like systeminformation's results. */
export interface HardwareProbe {
  /** Logical CPUs this process may use. */
  cpuCount: number
  /** Memory in bytes (`total` of si.mem()). */
  mem: { total: number }
  /** The data dir's file system in bytes (`size`/`available` of si.fsSize()); undefined when unreadable. */
  disk: { size: number, available: number } | undefined
  /** si.graphics().controllers. */
  controllers: readonly GpuController[]
}

export type GpuVendor = 'nvidia' | 'apple'

export interface GpuFacts {
  vendor: GpuVendor | null
  name: string
  count: number
  /** VRAM of one GPU in GiB (unified memory on Apple silicon); 0 when unknown. */
  memoryGb: number
}

/** Volatile GPU use for heartbeats, 0..100 each; 0 when unknown. */
export interface GpuLoad { gpuPercent: number, gpuMemoryPercent: number }
export const NO_GPU_LOAD: Readonly<GpuLoad> = Object.freeze({ gpuPercent: 0, gpuMemoryPercent: 0 })

const round1 = (v: number): number => Math.round(v * 10) / 10
const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v))
const positive = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0)
const gb = (bytes: unknown, max: number): number => clamp(round1(positive(bytes) / GIB), 0, max)

export function isNvidia (c: GpuController): boolean {
  return /nvidia/i.test(c.vendor ?? '') || /^(0x)?10de$/i.test(c.vendorId ?? '')
}

export function isAppleSilicon (c: GpuController): boolean {
  const model = c.model ?? ''
  return /\bapple m\d/i.test(model) || (/^apple/i.test(c.vendor ?? '') && /^m\d/i.test(model))
}

/**
 * A GPU's name for NodeInfo: nvidia-smi's name when known ("NVIDIA H100 80GB HBM3"), else the
 * marketing name in lspci's brackets ("GH100 [H100 SXM5 80GB HBM3]" → "H100 SXM5 80GB HBM3", so
 * the chip code never matches the wrong row of the GPU score table), else the model.
 */
export function gpuDisplayName (c: GpuController): string {
  const name = (c.name ?? '').trim()
  if (name !== '') return name.slice(0, MAX_GPU_NAME_CHARS)
  const model = (c.model ?? '').trim()
  const bracket = /\[([^\]]+)\]/.exec(model)
  return (bracket?.[1]?.trim() ?? model).slice(0, MAX_GPU_NAME_CHARS)
}

/** VRAM of one controller in MiB (nvidia-smi's total, else the PCI/driver figure); 0 when unknown. */
function vramMiB (c: GpuController): number {
  return positive(c.memoryTotal) || positive(c.vram)
}

/** Controllers with the same PCI address are one device listed twice; without an address each counts. */
function distinctDevices (controllers: readonly GpuController[]): GpuController[] {
  const seen = new Set<string>()
  const out: GpuController[] = []
  for (const c of controllers) {
    const addr = /([0-9a-f]{2}:[0-9a-f]{2}\.[0-9a-f])$/i.exec((c.busAddress ?? c.pciBus ?? '').trim())?.[1]?.toLowerCase()
    if (addr !== undefined) {
      if (seen.has(addr)) continue
      seen.add(addr)
    }
    out.push(c)
  }
  return out
}

/**
 * The GPU of a machine from its graphics controllers. NVIDIA cards win (integrated chips next to
 * them are ignored): the count is every distinct NVIDIA device, the name and VRAM are those of the
 * one with the most VRAM (first on ties). Else Apple silicon: one GPU whose memory is the
 * machine's memory. Else none.
 */
export function gpuFromControllers (controllers: readonly GpuController[], memoryGb: number): GpuFacts {
  const nvidia = distinctDevices(controllers.filter(isNvidia))
  const first = nvidia[0]
  if (first !== undefined) {
    const best = nvidia.reduce((a, c) => (vramMiB(c) > vramMiB(a) ? c : a), first)
    return {
      vendor: 'nvidia',
      name: gpuDisplayName(best) || 'NVIDIA GPU',
      count: Math.min(MAX_GPU_COUNT, nvidia.length),
      memoryGb: clamp(round1(vramMiB(best) / MIB_PER_GIB), 0, MAX_GPU_MEMORY_GB)
    }
  }
  const apple = controllers.find(isAppleSilicon)
  if (apple !== undefined) {
    return { vendor: 'apple', name: gpuDisplayName(apple) || 'Apple silicon', count: 1, memoryGb: clamp(memoryGb, 0, MAX_GPU_MEMORY_GB) }
  }
  return { vendor: null, name: '', count: 0, memoryGb: 0 }
}

/** `Hardware` (NodeInfo) from raw probe results; sizes in GiB to one decimal. Pure. */
export function hardwareFromProbe (probe: HardwareProbe): Hardware {
  const memoryGb = gb(probe.mem.total, MAX_MEMORY_GB)
  const gpu = gpuFromControllers(probe.controllers, memoryGb)
  return {
    cpuCount: clamp(Math.floor(positive(probe.cpuCount)), 1, MAX_CPU_COUNT),
    memoryGb,
    diskFreeGb: gb(probe.disk?.available, MAX_DISK_GB),
    diskTotalGb: gb(probe.disk?.size, MAX_DISK_GB),
    hasGpu: gpu.vendor !== null,
    gpuName: gpu.name,
    gpuCount: gpu.count,
    gpuMemoryGb: gpu.memoryGb
  }
}

/**
 * GPU use across the NVIDIA devices: mean utilisation and used/total memory. systeminformation
 * omits nvidia-smi figures that are 0, so on a device with nvidia-smi data (a memory total) a
 * missing figure is 0; devices without nvidia-smi data are left out. Pure.
 */
export function gpuLoadFromControllers (controllers: readonly GpuController[]): GpuLoad {
  const measured = distinctDevices(controllers.filter(isNvidia)).filter(c => positive(c.memoryTotal) > 0)
  if (measured.length === 0) return { ...NO_GPU_LOAD }
  const util = measured.reduce((s, c) => s + positive(c.utilizationGpu), 0) / measured.length
  const used = measured.reduce((s, c) => s + positive(c.memoryUsed), 0)
  const total = measured.reduce((s, c) => s + positive(c.memoryTotal), 0)
  return { gpuPercent: clamp(util, 0, 100), gpuMemoryPercent: clamp((100 * used) / total, 0, 100) }
}

/** The capabilities a node advertises when its config names none (REFERENCE.md). Pure. */
export function defaultCapabilities (hw: Hardware, largeBoardMinVramGb = DEFAULT_LARGE_BOARD_MIN_VRAM_GB): Capability[] {
  if (!hw.hasGpu) return [...CPU_CAPABILITIES]
  return hw.gpuMemoryGb >= largeBoardMinVramGb ? [...GPU_CAPABILITIES, 'large_boards'] : [...GPU_CAPABILITIES]
}

/** Whether `next` differs from `prev` enough to republish: any field, except free disk moving less than the threshold. Pure. */
export function hardwareChanged (prev: Hardware, next: Hardware, minDiskFreeChangeGb = DEFAULT_MIN_DISK_FREE_CHANGE_GB): boolean {
  return prev.cpuCount !== next.cpuCount ||
    prev.memoryGb !== next.memoryGb ||
    prev.diskTotalGb !== next.diskTotalGb ||
    Math.abs(prev.diskFreeGb - next.diskFreeGb) >= minDiskFreeChangeGb ||
    prev.hasGpu !== next.hasGpu ||
    prev.gpuName !== next.gpuName ||
    prev.gpuCount !== next.gpuCount ||
    prev.gpuMemoryGb !== next.gpuMemoryGb
}

/** One detection: the hardware, and which probes answered (a probe that failed left its part empty). */
export interface HardwareDetection {
  hardware: Hardware
  gpuVendor: GpuVendor | null
  /** The GPU load read with the same probe. */
  gpuLoad: GpuLoad
  gpuProbed: boolean
  diskProbed: boolean
}

/**
 * A re-detection where a probe failed keeps that part of the previous detection, so one slow
 * `nvidia-smi` does not turn a GPU node into a CPU node for five minutes. Pure.
 */
export function mergeDetection (prev: HardwareDetection | undefined, next: HardwareDetection): HardwareDetection {
  if (prev === undefined) return next
  let out = next
  if (!next.gpuProbed && prev.gpuProbed) {
    const { hasGpu, gpuName, gpuCount, gpuMemoryGb } = prev.hardware
    out = { ...out, hardware: { ...out.hardware, hasGpu, gpuName, gpuCount, gpuMemoryGb }, gpuVendor: prev.gpuVendor, gpuLoad: prev.gpuLoad, gpuProbed: true }
  }
  if (!next.diskProbed && prev.diskProbed) {
    const { diskFreeGb, diskTotalGb } = prev.hardware
    out = { ...out, hardware: { ...out.hardware, diskFreeGb, diskTotalGb }, diskProbed: true }
  }
  return out
}

/** Reads the graphics controllers (systeminformation's graphics() by default). */
export type GraphicsProbe = () => Promise<{ controllers: readonly GpuController[] }>

/** How to run one graphics probe. */
export interface GraphicsProbeOptions {
  signal?: AbortSignal
  /** Longest wait for the GPU probe. @default DEFAULT_HARDWARE_TIMEOUT_MS (10_000) */
  timeoutMs?: number
  /** Clock of the timeout. @default a SystemClock */
  clock?: Clock
  /** @default systeminformation's graphics() */
  graphics?: GraphicsProbe
}

export interface DetectHardwareOptions extends GraphicsProbeOptions {
  logger: Logger
  /** A monitor probing on a timer: failures said once per cause (and once when they clear) instead of at every probe. */
  said?: OncePerCause
}

/** A probe's failure (`err`) or success (null): through `said` once per cause when given, else a warning for each failure. */
function probeTrouble (log: Logger | undefined, said: OncePerCause | undefined, subject: string, err: unknown, fields: Record<string, unknown>, msg: string): void {
  if (said !== undefined) said.report(subject, err === null ? null : { key: causeKey(errorMessage(err)), msg, fields: { err, ...fields } })
  else if (err !== null) log?.warn({ err, ...fields }, msg)
}

/** `work()`, or a rejection when `timeoutMs` passes on `clock` or `signal` aborts first. */
async function withTimeout<T> (work: () => Promise<T>, clock: Clock, timeoutMs: number, parent: AbortSignal | undefined): Promise<T> {
  const t = timeoutSignal(clock, timeoutMs, parent)
  try {
    t.signal.throwIfAborted()
    const pending = work()
    return await new Promise<T>((resolve, reject) => {
      const onAbort = (): void => reject(t.signal.reason)
      t.signal.addEventListener('abort', onAbort, { once: true })
      if (t.signal.aborted) onAbort() // aborted while work() was starting
      // a late settlement after the timeout lands here too and is ignored (the promise is settled)
      pending.then(v => { t.signal.removeEventListener('abort', onAbort); resolve(v) },
        (err: unknown) => { t.signal.removeEventListener('abort', onAbort); reject(err) })
    })
  } finally {
    t.clear()
  }
}

async function probeGraphics (options: GraphicsProbeOptions): Promise<GpuController[]> {
  const graphics = options.graphics ?? siGraphics
  const result = await withTimeout(graphics, options.clock ?? new SystemClock(), options.timeoutMs ?? DEFAULT_HARDWARE_TIMEOUT_MS, options.signal)
  return Array.isArray(result?.controllers) ? [...result.controllers] : []
}

/** Probe this machine; never throws. A failed probe leaves its part empty and says so in the result. */
export async function detectHardwareDetailed (dataDir: string, options: DetectHardwareOptions): Promise<HardwareDetection> {
  const log = options.logger
  const timeoutMs = options.timeoutMs ?? DEFAULT_HARDWARE_TIMEOUT_MS
  let disk: HardwareProbe['disk']
  let diskProbed = true
  const diskMsg = 'cannot read the data dir file system: reporting no disk space'
  try {
    const s = await statfs(dataDir)
    disk = { size: s.blocks * s.bsize, available: s.bavail * s.bsize }
    probeTrouble(log, options.said, 'disk', null, {}, diskMsg)
  } catch (err) {
    diskProbed = false
    probeTrouble(log, options.said, 'disk', err, { dataDir }, diskMsg)
  }
  let controllers: GpuController[] = []
  let gpuProbed = true
  const gpuMsg = 'GPU detection failed or timed out: reporting no GPU'
  try {
    controllers = await probeGraphics(options)
    probeTrouble(log, options.said, 'gpu', null, {}, gpuMsg)
  } catch (err) {
    gpuProbed = false
    if (options.signal?.aborted === true) log.debug({ err }, 'GPU detection aborted')
    else probeTrouble(log, options.said, 'gpu', err, { timeoutMs }, gpuMsg)
  }
  const hardware = hardwareFromProbe({ cpuCount: availableParallelism(), mem: { total: totalmem() }, disk, controllers })
  const gpuVendor = gpuFromControllers(controllers, hardware.memoryGb).vendor
  return { hardware, gpuVendor, gpuLoad: gpuLoadFromControllers(controllers), gpuProbed, diskProbed }
}

/** This machine's hardware for its NodeInfo; never throws (see `detectHardwareDetailed`). */
export async function detectHardware (dataDir: string, options: DetectHardwareOptions): Promise<Hardware> {
  return (await detectHardwareDetailed(dataDir, options)).hardware
}

/** The current GPU load (0 when unknown or on failure, which is logged when a logger is given). */
export async function readGpuLoad (options: GraphicsProbeOptions & { logger?: Logger, said?: OncePerCause } = {}): Promise<GpuLoad> {
  const msg = 'GPU load read failed: reporting 0'
  try {
    const load = gpuLoadFromControllers(await probeGraphics(options))
    probeTrouble(options.logger, options.said, 'gpu-load', null, {}, msg)
    return load
  } catch (err) {
    if (options.signal?.aborted !== true) probeTrouble(options.logger, options.said, 'gpu-load', err, {}, msg)
    return { ...NO_GPU_LOAD }
  }
}

export interface HardwareMonitorInit {
  /** The data dir whose file system is reported. */
  dataDir: string
  /** How often hardware is re-detected. @default DEFAULT_HARDWARE_REFRESH_MS (300_000) */
  refreshIntervalMs?: number
  /** Longest wait for one GPU probe. @default DEFAULT_HARDWARE_TIMEOUT_MS (10_000) */
  timeoutMs?: number
  /** How often the GPU load is read, on NVIDIA nodes only. @default DEFAULT_GPU_LOAD_REFRESH_MS (30_000) */
  gpuLoadIntervalMs?: number
  /** Free disk moving less than this is not a change. @default DEFAULT_MIN_DISK_FREE_CHANGE_GB (1) */
  minDiskFreeChangeGb?: number
}

export interface HardwareMonitorComponents {
  clock: Clock
  logger: Logger
  /** The hardware probe. @default detectHardwareDetailed */
  detect?: (dataDir: string, options: DetectHardwareOptions) => Promise<HardwareDetection>
  /** The GPU load probe. @default readGpuLoad */
  readGpuLoad?: (options: GraphicsProbeOptions & { logger?: Logger }) => Promise<GpuLoad>
}

export type HardwareListener = (next: Hardware, prev: Hardware) => void

function positiveSetting (key: string, value: number): number {
  if (!(Number.isFinite(value) && value > 0)) throw new ConfigError(`hardware.${key}`, 'a positive number', `got ${value}`)
  return value
}

/**
 * Detects at start and every `refreshIntervalMs`; reads the GPU load every `gpuLoadIntervalMs`
 * on NVIDIA nodes. `current()` is the latest detection; `onChange` listeners hear of a detection
 * that differs from the last one they heard of (`hardwareChanged`).
 */
export class HardwareMonitor {
  private readonly log: Logger
  /** The probes on the timers warn once per cause, not every refresh or load read. */
  private readonly said: OncePerCause
  private readonly refreshIntervalMs: number
  private readonly timeoutMs: number
  private readonly gpuLoadIntervalMs: number
  private readonly minDiskFreeChangeGb: number
  private readonly listeners = new Set<HardwareListener>()
  private detection: HardwareDetection | undefined
  private announced: Hardware | undefined
  private load: GpuLoad = { ...NO_GPU_LOAD }
  private controller: AbortController | undefined
  private starting: Promise<void> | undefined
  private inflight: Promise<Hardware> | undefined
  private refreshTimer: TimerHandle | undefined
  private loadTimer: TimerHandle | undefined
  private readingLoad = false

  constructor (private readonly c: HardwareMonitorComponents, private readonly init: HardwareMonitorInit) {
    this.log = c.logger.child({ component: 'hardware-monitor' })
    this.said = new OncePerCause(this.log)
    if (typeof init.dataDir !== 'string' || init.dataDir === '') throw new ConfigError('hardware.dataDir', 'a directory path')
    this.refreshIntervalMs = positiveSetting('refreshIntervalMs', init.refreshIntervalMs ?? DEFAULT_HARDWARE_REFRESH_MS)
    this.timeoutMs = positiveSetting('timeoutMs', init.timeoutMs ?? DEFAULT_HARDWARE_TIMEOUT_MS)
    this.gpuLoadIntervalMs = positiveSetting('gpuLoadIntervalMs', init.gpuLoadIntervalMs ?? DEFAULT_GPU_LOAD_REFRESH_MS)
    this.minDiskFreeChangeGb = init.minDiskFreeChangeGb ?? DEFAULT_MIN_DISK_FREE_CHANGE_GB
    if (!(this.minDiskFreeChangeGb >= 0)) throw new ConfigError('hardware.minDiskFreeChangeGb', 'a non-negative number', `got ${this.minDiskFreeChangeGb}`)
  }

  /** Detect once, then keep detecting on the interval. Resolves when the first detection is in. */
  async start (): Promise<void> {
    if (this.controller !== undefined) return await this.starting
    const controller = new AbortController()
    this.controller = controller
    this.starting = (async () => {
      try {
        await this.refresh()
      } catch (err) {
        if (this.controller === controller) this.stop()
        throw err
      }
      if (controller.signal.aborted) return
      this.scheduleRefresh(controller)
      this.scheduleGpuLoad(controller)
    })()
    await this.starting
  }

  stop (): void {
    if (this.controller === undefined) return
    this.controller.abort(new Error('hardware monitor stopped'))
    this.controller = undefined
    this.starting = undefined
    this.inflight = undefined
    this.c.clock.clearTimer(this.refreshTimer)
    this.c.clock.clearTimer(this.loadTimer)
    this.refreshTimer = undefined
    this.loadTimer = undefined
  }

  /** The latest detected hardware. */
  current (): Hardware {
    if (this.detection === undefined) throw new NotStartedError('hardware-monitor')
    return this.detection.hardware
  }

  /** The last GPU load read (0 on CPU and Apple nodes, and before the first read). For heartbeats. */
  gpuLoad (): GpuLoad {
    return this.load
  }

  /** Hear of hardware changes; returns the unsubscribe function. */
  onChange (listener: HardwareListener): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  /** Detect now (joining a detection already running); applies and announces the result. */
  async refresh (): Promise<Hardware> {
    const controller = this.controller
    if (controller === undefined) throw new NotStartedError('hardware-monitor')
    if (this.inflight !== undefined) return await this.inflight
    const run = this.detectAndApply(controller.signal)
    this.inflight = run
    try {
      return await run
    } finally {
      if (this.inflight === run) this.inflight = undefined
    }
  }

  private async detectAndApply (signal: AbortSignal): Promise<Hardware> {
    const detect = this.c.detect ?? detectHardwareDetailed
    const found = await detect(this.init.dataDir, { logger: this.log, said: this.said, signal, timeoutMs: this.timeoutMs, clock: this.c.clock })
    if (signal.aborted) return this.detection?.hardware ?? found.hardware
    const next = mergeDetection(this.detection, found)
    this.detection = next
    this.load = next.gpuVendor === 'nvidia' ? next.gpuLoad : { ...NO_GPU_LOAD }
    const prev = this.announced
    if (prev === undefined) {
      this.announced = next.hardware
      this.log.info({ hardware: next.hardware }, 'hardware detected')
    } else if (hardwareChanged(prev, next.hardware, this.minDiskFreeChangeGb)) {
      this.announced = next.hardware
      this.log.info({ prev, next: next.hardware }, 'hardware changed')
      for (const listener of [...this.listeners]) {
        try {
          listener(next.hardware, prev)
        } catch (err) {
          this.log.error({ err }, 'hardware change listener failed')
        }
      }
    }
    return next.hardware
  }

  /** Fixed cadence: the next timer is set when one fires; a detection still running is joined, not repeated. */
  private scheduleRefresh (controller: AbortController): void {
    this.refreshTimer = this.c.clock.setTimer(() => {
      if (this.controller !== controller) return
      this.scheduleRefresh(controller)
      this.refresh().then(() => this.said.report('refresh', null),
        (err: unknown) => this.said.report('refresh', { key: causeKey(errorMessage(err)), msg: 'hardware refresh failed', fields: { err } }))
    }, this.refreshIntervalMs)
  }

  private scheduleGpuLoad (controller: AbortController): void {
    this.loadTimer = this.c.clock.setTimer(() => {
      if (this.controller !== controller) return
      this.scheduleGpuLoad(controller)
      if (this.readingLoad) return
      this.readingLoad = true
      this.readLoad(controller)
        .then(() => this.said.report('load', null), (err: unknown) => this.said.report('load', { key: causeKey(errorMessage(err)), msg: 'GPU load read failed', fields: { err } }))
        .finally(() => { this.readingLoad = false })
    }, this.gpuLoadIntervalMs)
  }

  private async readLoad (controller: AbortController): Promise<void> {
    if (this.detection?.gpuVendor !== 'nvidia') return
    const read = this.c.readGpuLoad ?? readGpuLoad
    const load = await read({ logger: this.log, said: this.said, signal: controller.signal, timeoutMs: this.timeoutMs, clock: this.c.clock })
    if (!controller.signal.aborted) this.load = load
  }
}
