/**
 * Real mode: the same scenario format played on real libp2p nodes in this process, over the
 * memory transport, on the wall clock (optionally compressed by `timeScale`). Partitions are a
 * shared connection-gater policy plus hang-ups of the connections that cross them; heals redial
 * the topology. The checks are the model's, so the two modes can be compared on convergence.
 * What real mode approximates or skips: sim/real/README.md.
 */
import type * as Y from 'yjs'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { SystemClock, sleep, timeoutSignal } from '../../src/core/clock.js'
import { errorMessage } from '../../src/core/errors.js'
import { silentLogger, type Logger } from '../../src/core/logger.js'
import { SeededRng, type Rng } from '../../src/core/rng.js'
import { newSwarmKey } from '../../src/mesh/keys.js'
import type { AckedWrite } from '../checks.js'
import type { Scenario, TimelineEvent } from '../scenario.js'
import type { CheckResult, SimReport } from '../simulation.js'
import { LinkPolicy, policyGater } from './partitions.js'
import { checkTimeScale, inQuietWindow, scaledNodeConfig, topologyEdges, writeTimes } from './plan.js'
import { checkAckedWrites, checkConvergence } from '../checks.js'
import { RealNode } from './real-node.js'
import { realTraffic, type RealReport } from './real-report.js'
import { holdProcessOpen, within } from './wall.js'

export interface RealRunOptions {
  /** Root seed (topology, workload picks). @default the scenario's */
  seed?: number
  /** Wall ms per scenario ms, applied to the timeline and to every node timing. @default 1 */
  timeScale?: number
  /** Test switch: run the nodes without anti-entropy. @default true */
  antiEntropy?: boolean
  logger?: Logger
  /** Wall ms between convergence probes in the liveness phase. @default 100 */
  convergenceProbeMs?: number
  /** Longest one dial or hang-up may take, wall ms. @default 3000 */
  dialTimeoutMs?: number
  /** Longest stopping one node may take, wall ms. @default 5000 */
  stopTimeoutMs?: number
}

export const DEFAULT_CONVERGENCE_PROBE_MS = 100
export const DEFAULT_DIAL_TIMEOUT_MS = 3000
export const DEFAULT_STOP_TIMEOUT_MS = 5000
/** Trace lines kept for a violation report (oldest dropped). */
export const MAX_TRACE_LINES = 200

const quantile = (sorted: number[], q: number): number | null =>
  sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number

let runCounter = 0

export async function runRealScenario (scenario: Scenario, options: RealRunOptions = {}): Promise<RealReport> {
  const run = new RealRun(scenario, options)
  const release = holdProcessOpen()
  try {
    await run.setup()
    await run.play()
    await run.liveness()
    run.finalChecks()
  } finally {
    await run.stopAll()
    release()
  }
  return run.report()
}

interface Action { atMs: number, label: string, run: () => Promise<void> | void }

class RealRun {
  private readonly clock = new SystemClock()
  private readonly log: Logger
  private readonly seed: number
  private readonly timeScale: number
  private readonly root: Rng
  private readonly workRng: Rng
  private readonly policy: LinkPolicy
  private readonly edges: Array<[number, number]>
  private readonly nodes: RealNode[] = []
  private readonly indexOf = new Map<string, number>()
  private readonly inflight = new Set<Promise<void>>()
  private readonly dialTimeoutMs: number
  private wallStart: number
  private readonly setupStart: number
  private events = 0
  private issued = 0
  private readonly acked: AckedWrite[] = []
  private readonly writtenAt = new Map<string, number>()
  private readonly reached = new Map<string, Set<number>>()
  private readonly reachedAll = new Map<string, number>()
  private readonly checks: CheckResult[] = []
  private violation: SimReport['violation'] = null
  private readonly traceLines: string[] = []
  private readonly notes = new Set<string>()
  private readonly skipped: string[] = []
  private readonly convergence: SimReport['convergence'] = []
  private finalSettings: string[] = []

  constructor (private readonly scenario: Scenario, private readonly options: RealRunOptions) {
    this.log = (options.logger ?? silentLogger()).child({ component: 'sim-real' })
    this.seed = options.seed ?? scenario.seed
    this.timeScale = checkTimeScale(options.timeScale ?? 1)
    this.root = new SeededRng(this.seed)
    this.workRng = this.root.fork('workload')
    this.policy = new LinkPolicy(scenario.nodes)
    this.edges = topologyEdges(scenario, this.root)
    this.dialTimeoutMs = options.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS
    this.setupStart = this.wallStart = this.clock.nowMs()
    this.notes.add('not modelled: link latency, loss, duplication and bandwidth, and gossip D/Dlo/Dhi (memory transport, gossipsub defaults)')
    this.notes.add('traffic counts are riftmesh-level, not per link: data = document updates delivered by gossip (after gossipsub dedup), anti-entropy = sync exchanges started, heartbeat = heartbeats published; bytes, control and gossip duplicates are not measured (0)')
  }

  /** Scenario ms since the run's clock started. */
  private now (): number {
    return (this.clock.nowMs() - this.wallStart) / this.timeScale
  }

  private trace (line: string): void {
    this.traceLines.push(`${this.now().toFixed(0).padStart(7)} ${line}`)
    if (this.traceLines.length > MAX_TRACE_LINES) this.traceLines.shift()
  }

  private fail (check: string, detail: string): void {
    this.checks.push({ name: check, ok: false, detail })
    this.violation ??= { check, atMs: this.now(), detail, traceBefore: this.traceLines.slice(-40) }
  }

  private track (p: Promise<void>): void {
    this.inflight.add(p)
    p.finally(() => this.inflight.delete(p)).catch(() => undefined)
  }

  /** Wait (bounded) for background dials and write flushes. */
  private async settle (): Promise<void> {
    if (this.inflight.size === 0) return
    await within(this.clock, this.dialTimeoutMs + 1000, 'in-flight dials and flushes', Promise.allSettled([...this.inflight]).then(() => undefined))
      .catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 'background work did not settle'))
  }

  async setup (): Promise<void> {
    const s = this.scenario
    const swarmKey = newSwarmKey()
    const config = scaledNodeConfig(s, this.timeScale, this.options.antiEntropy ?? true)
    const run = runCounter++
    for (let i = 0; i < s.nodes; i++) {
      const gater = policyGater(i, this.policy, peer => this.indexOf.get(peer))
      const node = new RealNode(i, `/memory/riftmesh-real-${process.pid}-${run}-${i}`, {
        clock: this.clock, logger: this.log, rng: this.root.fork(`node-${i}`), privateKey: await generateKeyPair('Ed25519'), swarmKey, gater
      }, config)
      this.indexOf.set(node.peerId, i)
      node.onStart(n => this.observe(n))
      this.nodes.push(node)
    }
    if (s.startSpreadMs === 0) {
      await Promise.all(this.nodes.map(async n => await n.start()))
      this.redial(() => true)
      await this.settle()
    }
    this.wallStart = this.clock.nowMs()
  }

  /** Record when each workload write reaches each node (as the model does). */
  private observe (node: RealNode): void {
    const settings = (node.state.docs.get('control') as Y.Doc).getMap('settings')
    settings.observe(ev => {
      for (const key of ev.keysChanged) {
        const name = key.slice(0, key.indexOf('@'))
        const holders = this.reached.get(name)
        if (holders === undefined || this.reachedAll.has(name)) continue
        holders.add(node.index)
        if (holders.size >= this.scenario.nodes) this.reachedAll.set(name, (this.clock.nowMs() - (this.writtenAt.get(name) as number)) / this.timeScale)
      }
    })
  }

  private plan (): Action[] {
    const s = this.scenario
    const actions: Action[] = []
    if (s.startSpreadMs > 0) {
      const startRng = this.root.fork('start')
      for (const n of this.nodes) {
        actions.push({ atMs: startRng.next() * s.startSpreadMs, label: `start node ${n.index}`, run: async () => { await n.start(); this.redial((a, b) => a === n.index || b === n.index) } })
      }
    }
    for (const t of writeTimes(s, this.root.fork('workload-times'))) {
      if (!inQuietWindow(s, t)) actions.push({ atMs: t, label: 'write', run: () => this.write() })
    }
    for (const ev of s.timeline) {
      if (ev.at > s.phases.safetyUntilMs) this.skipped.push(`${ev.at} ms: ${JSON.stringify(ev)} (after safetyUntilMs)`)
      else actions.push({ atMs: ev.at, label: `fault ${JSON.stringify(ev)}`, run: async () => await this.apply(ev) })
    }
    for (const t of s.quietChecksAtMs) {
      actions.push({
        atMs: t,
        label: `quiet check at ${t} ms`,
        run: () => {
          const bad = checkConvergence(this.nodes)
          if (bad !== null) this.fail('convergence', `at quiet point ${t} ms: ${bad}`)
        }
      })
    }
    // stable: equal times keep the order above (starts, writes, faults, quiet checks)
    return actions.sort((a, b) => a.atMs - b.atMs)
  }

  /** The safety phase: workload and timeline on the wall clock. */
  async play (): Promise<void> {
    for (const a of this.plan()) {
      await this.waitUntil(a.atMs)
      this.events++
      try {
        await a.run()
      } catch (err) {
        this.fail('simulator', `${a.label}: ${errorMessage(err)}`)
      }
    }
    await this.waitUntil(this.scenario.phases.safetyUntilMs)
  }

  private async waitUntil (atMs: number): Promise<void> {
    const delay = this.wallStart + atMs * this.timeScale - this.clock.nowMs()
    if (delay > 0) await sleep(this.clock, delay)
  }

  private write (): void {
    const writers = this.scenario.workload.writers
    const live = this.nodes.filter(n => n.isUp && (writers === 0 || n.index < writers))
    const n = this.workRng.pick(live)
    const store = n?.parts?.store
    if (n === undefined || store === undefined) return
    const value = ++this.issued
    const name = `w-${n.index}-${value}`
    const atMs = this.now()
    this.writtenAt.set(name, this.clock.nowMs())
    this.reached.set(name, new Set([n.index]))
    this.trace(`write ${name} at node ${n.index}`)
    n.state.setSetting(name, value)
    this.track(store.flush().then(() => { this.acked.push({ name, value, node: n.index, atMs }) }, (err: unknown) => this.log.debug({ err: errorMessage(err), name }, 'write not acknowledged')))
  }

  private async apply (ev: TimelineEvent): Promise<void> {
    this.trace(`fault ${JSON.stringify(ev)}`)
    const p = this.policy
    if ('partition' in ev) { p.partition(ev.partition); await this.sweep() }
    else if ('cut' in ev) {
      if (ev.cut.oneWay) this.notes.add('a one-way cut was played as a symmetric cut (a libp2p connection cannot be cut in one direction)')
      p.cut(ev.cut.from, ev.cut.to)
      await this.sweep()
    } else if ('heal' in ev) {
      if (ev.heal === 'all') { p.healAll(); this.redial(() => true) }
      else { const { a: x, b: y } = ev.heal; p.heal(x, y); this.redial((a, b) => (a === x && b === y) || (a === y && b === x)) }
    } else if ('hold' in ev) {
      this.notes.add('hold/release was played as a symmetric cut until the release (the model queues and then delivers the held traffic)')
      p.hold(ev.hold.from, ev.hold.to)
      await this.sweep()
    } else if ('release' in ev) {
      const { from: x, to: y } = ev.release
      p.release(x, y)
      this.redial((a, b) => (a === x && b === y) || (a === y && b === x))
    } else if ('crash' in ev) await this.crash(ev.crash.node, ev.crash.mode)
    else if ('restart' in ev) await this.restart(ev.restart)
    else if ('pause' in ev) {
      const n = this.nodes[ev.pause]
      if (n?.status !== 'up') return
      this.notes.add('pause was played as cutting the node off the network (its timers keep running; peers see its connections close at once)')
      n.pause()
      p.isolate(n.index)
      await this.sweep()
    } else if ('resume' in ev) {
      const n = this.nodes[ev.resume]
      if (n?.status !== 'paused') return
      p.rejoin(n.index)
      n.resume()
      this.redial((a, b) => a === n.index || b === n.index)
    } else if ('setting' in ev) {
      const n = this.nodes[ev.setting.node]
      if (n?.isUp === true) n.state.setSetting(ev.setting.name, ev.setting.value)
    } else if ('dispatch' in ev) {
      const n = this.nodes[ev.dispatch.node]
      const to = this.nodes[ev.dispatch.assignedNode]
      if (n?.isUp === true && to !== undefined) {
        n.state.dispatchJob({ type: ev.dispatch.type, config: null, engineMode: null, spec: {}, assignedNode: to.peerId, dispatchEpoch: ev.dispatch.epoch, attempt: 0, previousJobId: null })
      }
    } else {
      const why = 'link' in ev ? 'link models are' : 'clockJump' in ev || 'clockDrift' in ev ? 'clock faults are' : 'this event is'
      this.skipped.push(`${ev.at} ms: ${JSON.stringify(ev)} (${why} not supported in real mode)`)
    }
  }

  private async crash (index: number, mode: 'process' | 'power'): Promise<void> {
    const n = this.nodes[index]
    if (n === undefined || n.status === 'crashed') return
    if (mode === 'power') this.notes.add('a power crash was played as a process crash (memory-level keeps every write)')
    this.notes.add('a crashed node closes its connections, so peers notice at once (the model notices after a delay)')
    this.policy.rejoin(index)
    await n.crash()
  }

  private async restart (index: number): Promise<void> {
    const n = this.nodes[index]
    if (n === undefined || n.status !== 'crashed') return
    await n.start()
    this.redial((a, b) => a === index || b === index)
  }

  /** Dial (in the background) every topology edge that `which` selects and the policy allows. */
  private redial (which: (a: number, b: number) => boolean): void {
    for (const [a, b] of this.edges) if (which(a, b)) this.track(this.connect(a, b))
  }

  private async connect (a: number, b: number): Promise<void> {
    const from = this.nodes[a]
    const to = this.nodes[b]
    const mesh = from?.parts?.mesh
    if (mesh === undefined || to === undefined || !from?.isUp || !to.isUp || this.policy.blocked(a, b)) return
    const t = timeoutSignal(this.clock, this.dialTimeoutMs)
    try {
      await mesh.dial(to.dialAddr, { signal: t.signal })
    } catch (err) {
      this.log.debug({ err: errorMessage(err), from: a, to: b }, 'dial failed')
    } finally {
      t.clear()
    }
  }

  /** Hang up every connection the policy now blocks (after in-flight dials have landed). */
  private async sweep (): Promise<void> {
    await this.settle()
    const hangUps: Array<Promise<void>> = []
    for (const n of this.nodes) {
      const mesh = n.parts?.mesh
      if (mesh === undefined) continue
      for (const peer of mesh.connectedPeers()) {
        const j = this.indexOf.get(peer)
        if (j === undefined || !this.policy.blocked(n.index, j)) continue
        hangUps.push(within(this.clock, this.dialTimeoutMs, `hang-up ${n.index}→${j}`, mesh.hangUp(peer))
          .catch((err: unknown) => this.log.warn({ err: errorMessage(err), from: n.index, to: j }, 'hang-up failed')))
      }
    }
    await Promise.all(hangUps)
  }

  /** Heal everything, bring every node back, and wait (bounded) for convergence. */
  async liveness (): Promise<void> {
    const s = this.scenario
    const start = this.now()
    this.trace('liveness phase: heal all, resume and restart every node')
    this.policy.healAll()
    for (const n of this.nodes) {
      if (n.status === 'paused') { this.policy.rejoin(n.index); n.resume() }
      if (n.status === 'crashed') await n.start().catch((err: unknown) => this.fail('simulator', `restart of node ${n.index}: ${errorMessage(err)}`))
    }
    this.redial(() => true)
    const deadline = this.clock.nowMs() + s.phases.livenessWithinMs * this.timeScale
    const probeMs = this.options.convergenceProbeMs ?? DEFAULT_CONVERGENCE_PROBE_MS
    let convergedAt: number | null = null
    for (;;) {
      if (checkConvergence(this.nodes) === null && (!s.checks.includes('acked-writes') || checkAckedWrites(this.nodes, this.acked) === null)) {
        convergedAt = this.now()
        break
      }
      if (this.clock.nowMs() >= deadline) break
      await sleep(this.clock, probeMs)
    }
    this.convergence.push({ phase: 'liveness', atMs: start, convergedAfterMs: convergedAt === null ? null : convergedAt - start })
  }

  finalChecks (): void {
    const s = this.scenario
    if (s.checks.includes('convergence')) {
      const bad = checkConvergence(this.nodes)
      if (bad !== null) this.fail('convergence', `${s.phases.livenessWithinMs} ms into the liveness phase: ${bad}`)
      else if (!this.checks.some(c => c.name === 'convergence')) this.checks.push({ name: 'convergence', ok: true, detail: null })
    }
    if (s.checks.includes('acked-writes')) {
      const bad = checkAckedWrites(this.nodes, this.acked)
      if (bad !== null) this.fail('acked-writes', bad)
      else this.checks.push({ name: 'acked-writes', ok: true, detail: null })
    }
    if (s.checks.includes('no-drops')) {
      const drops = this.nodes.reduce((sum, n) => sum + n.totals.drops + (n.parts?.drops.total() ?? 0), 0)
      if (drops > 0) this.fail('no-drops', `${drops} messages dropped as invalid between honest nodes`)
      else this.checks.push({ name: 'no-drops', ok: true, detail: null })
    }
    const first = this.nodes.find(n => n.isUp)
    this.finalSettings = first === undefined ? [] : [...first.state.settings().keys()].sort()
  }

  /** Stop every node (each bounded), even after a failure. */
  async stopAll (): Promise<void> {
    await this.settle()
    await Promise.all(this.nodes.map(async n => {
      await within(this.clock, this.options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS, `stopping node ${n.index}`, n.stop())
        .catch((err: unknown) => this.log.warn({ err: errorMessage(err), node: n.index }, 'node did not stop'))
    }))
  }

  report (): RealReport {
    const wallMs = this.clock.nowMs() - this.setupStart
    const lat = [...this.reachedAll.values()].sort((a, b) => a - b)
    const { traffic, perUpdate } = realTraffic(this.nodes.map(n => n.totals), this.issued)
    return {
      mode: 'real',
      leadership: null, // real mode runs no election yet
      training: null, // nor the managers
      jobs: null,
      hostile: null, // nor a hostile member
      timeScale: this.timeScale,
      scenario: this.scenario.name,
      seed: this.seed,
      nodes: this.scenario.nodes,
      virtualMs: this.now(),
      wallMs,
      events: this.events,
      eventsPerSecond: this.events / Math.max(0.001, wallMs / 1000),
      traceHash: 'n/a (wall clock)',
      writes: { issued: this.issued, acked: this.acked.length },
      propagation: { measured: lat.length, p50Ms: quantile(lat, 0.5), p99Ms: quantile(lat, 0.99), maxMs: lat.at(-1) ?? null, neverEverywhere: this.issued - lat.length },
      perUpdate,
      traffic,
      gossipDuplicates: 0,
      convergence: this.convergence,
      checks: this.checks,
      violation: this.violation,
      peakHeapMb: process.memoryUsage().heapUsed / 2 ** 20,
      notes: [...this.notes],
      skipped: this.skipped,
      finalSettings: this.finalSettings
    }
  }
}
