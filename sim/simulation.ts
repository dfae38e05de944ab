/**
 * Runs one scenario with one seed: builds the network and the nodes, plays the workload and the
 * timeline on virtual time, then the liveness phase, and checks the invariants. Everything random
 * derives from the seed, so a seed replays exactly (same trace hash).
 */
import type * as Y from 'yjs'
import { silentLogger, type Logger } from '../src/core/logger.js'
import { SeededRng } from '../src/core/rng.js'
import { docTopic, heartbeatTopic } from '../src/node/node.js'
import { Scheduler } from './core/scheduler.js'
import { SimNetwork, type TrafficKind } from './net/sim-network.js'
import { DEFAULT_SIM_NODE_CONFIG, SIM_CLUSTER, SIM_CPU_BOX, SimNode, simNodeId, simOperatorSigner, type SimNodeConfig } from './node/sim-node.js'
import { HostileMember } from './hostile.js'
import { HOSTILE_SAMPLE_MS, HostileMonitor, type HostileSummary } from './hostile-monitor.js'
import { signEntry } from '../src/state/entry-sig.js'
import type { SettingValue } from '../src/state/schema.js'
import { ElectionMonitor } from './election-monitor.js'
import { EpochFence } from '../src/election/fence.js'
import { holdsEpoch } from '../src/election/rules.js'
import { checkAckedWrites, checkConvergence, type AckedWrite } from './checks.js'
import type { Scenario, TimelineEvent } from './scenario.js'
import { TrainingMonitor } from './training-monitor.js'
import { JOB_SAMPLE_MS, JobMonitor } from './job-monitor.js'
import { SimMachine } from './node/sim-jobs.js'
import { createHash } from 'node:crypto'
import type { ConfigKey, Hardware, Manifest } from '../src/state/schema.js'
import { MODEL_OUTPUT_PREFIX, RESULTS_OUTPUT_PREFIX } from '../src/managers/training-coordinator.js'

/** The hardware a scenario gives node `i`. */
export function scenarioHardware (scenario: Scenario, i: number): Hardware {
  const g = scenario.gpus.find(x => x.node === i)
  if (g === undefined) return SIM_CPU_BOX
  return { cpuCount: g.cpuCount, memoryGb: g.memoryGb, diskFreeGb: 500, diskTotalGb: 1000, hasGpu: true, gpuName: g.gpuName, gpuCount: g.gpuCount, gpuMemoryGb: g.gpuMemoryGb }
}

/** How long a simulated job runs when the scenario says nothing. */
export const SIM_DEFAULT_JOB_MS = 5_000

export interface SimOptions {
  seed?: number
  /** Test-only: run the nodes without anti-entropy. */
  antiEntropy?: boolean
  logger?: Logger
  /** Check convergence this often during the liveness phase. @default 250 */
  convergenceProbeMs?: number
}

export interface CheckResult { name: string, ok: boolean, detail: string | null }

export interface SimReport {
  scenario: string
  seed: number
  nodes: number
  virtualMs: number
  wallMs: number
  events: number
  eventsPerSecond: number
  traceHash: string
  writes: { issued: number, acked: number }
  propagation: { measured: number, p50Ms: number | null, p99Ms: number | null, maxMs: number | null, neverEverywhere: number }
  perUpdate: Record<TrafficKind | 'total', { msgs: number, bytes: number }>
  traffic: Record<TrafficKind, { msgs: number, bytes: number, dropped: number }>
  gossipDuplicates: number
  convergence: Array<{ phase: string, atMs: number, convergedAfterMs: number | null }>
  leadership: { changes: number, epochs: number, leaderlessMs: number, dispatchesAccepted: number, dispatchesRefused: number, leaders: Array<{ epoch: number, node: number, atMs: number }> } | null
  training: ReturnType<TrainingMonitor['summary']> | null
  jobs: ReturnType<JobMonitor['summary']> | null
  /** The hostile member's forged writes by kind, and what the honest nodes refused, by reason. */
  hostile: HostileSummary | null
  checks: CheckResult[]
  violation: { check: string, atMs: number, detail: string, traceBefore: string[] } | null
  peakHeapMb: number
}

function quantile (sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number
}

export async function runSimulation (scenario: Scenario, options: SimOptions = {}): Promise<SimReport> {
  const wallStart = performance.now()
  const seed = options.seed ?? scenario.seed
  const root = new SeededRng(seed)
  const sched = new Scheduler()
  const logger = options.logger ?? silentLogger()
  const dataTopic = docTopic(SIM_CLUSTER)
  const hbTopic = heartbeatTopic(SIM_CLUSTER)
  const net = new SimNetwork(sched, root.fork('network'), {
    link: scenario.network,
    gossip: scenario.gossip,
    kindOfTopic: t => (t === dataTopic ? 'data' : t === hbTopic ? 'heartbeat' : 'control')
  })
  const e = scenario.election
  const voterIds = Array.from({ length: Math.min(scenario.voters, scenario.nodes) }, (_, i) => simNodeId(i))
  const machines: SimMachine[] = []
  const cfg: SimNodeConfig = {
    ...DEFAULT_SIM_NODE_CONFIG,
    machineOf: i => machines[i] as SimMachine,
    hardwareOf: i => scenarioHardware(scenario, i),
    ...scenario.node,
    antiEntropy: options.antiEntropy ?? true,
    election: scenario.voters === 0
      ? undefined
      : { voters: voterIds, mode: e.mode, leaseMs: e.leaseMs, renewIntervalMs: e.renewIntervalMs, driftMarginMs: e.driftMarginMs, backoffMinMs: e.backoffMinMs, backoffMaxMs: e.backoffMaxMs, preferredLeader: e.preferredLeader === undefined ? null : simNodeId(e.preferredLeader) }
  }
  const operator = scenario.operator ? simOperatorSigner() : undefined
  if (operator !== undefined) cfg.operators = [operator.id]
  const hostileIndex = scenario.hostile?.node
  if (hostileIndex !== undefined) cfg.hostile = hostileIndex
  const tr = scenario.training
  const trainingParams = tr === undefined ? undefined : { minGames: tr.minGames, incrementalGames: tr.incrementalGames, cooldownMs: tr.cooldownMs }
  const jb = scenario.jobs
  let jobMonitor: JobMonitor | undefined
  if (jb !== undefined) {
    cfg.jobs = {
      maxProcesses: jb.maxProcesses,
      cleanup: {
        dispatchTimeoutMs: jb.dispatchTimeoutMs, jobHeartbeatTimeoutMs: jb.jobHeartbeatTimeoutMs, reassignBackoffMs: jb.reassignBackoffMs,
        reassignBackoffMaxMs: jb.reassignBackoffMaxMs, maxReassignments: jb.maxReassignments
      },
      cleanupIntervalMs: jb.cleanupIntervalMs,
      selfplayDispatchIntervalMs: jb.selfplayDispatchIntervalMs,
      jobHeartbeatIntervalMs: jb.jobHeartbeatIntervalMs,
      leaderlessSelfplayAfterMs: jb.leaderlessSelfplayAfterMs,
      admissionWaitMs: jb.admissionWaitMs,
      ...(jb.retentionMs !== undefined ? { retentionMs: jb.retentionMs } : {})
    }
  }
  if (tr !== undefined && trainingParams !== undefined) {
    cfg.training = { params: trainingParams, readinessIntervalMs: tr.readinessIntervalMs, leaderlessTrainingTimeoutMs: tr.leaderlessTrainingTimeoutMs }
  }
  const nodes = Array.from({ length: scenario.nodes }, (_, i) => new SimNode(i, sched, net, root.fork(`node-${i}`), logger, cfg))
  {
    // every node's machine: the real JobWorker runs what it accepts there (training and gauntlets too)
    const outputs = (jobId: string, type: string): string[] => type === 'training' ? [`${MODEL_OUTPUT_PREFIX}models/${jobId}.bin`] : type === 'gauntlet' ? [`${RESULTS_OUTPUT_PREFIX}${tr?.gauntletResults ?? 'WWL'}`] : ['games:10']
    const durationMs = jb?.durationMs ?? SIM_DEFAULT_JOB_MS
    for (let i = 0; i < scenario.nodes; i++) {
      machines.push(new SimMachine(i, sched, { durationMs: { selfplay: durationMs, training: tr?.trainingDurationMs ?? durationMs, gauntlet: tr?.gauntletDurationMs ?? durationMs }, outputs }, (jobId, argv) => {
        jobMonitor?.onStart(i, jobId)
        hostileMonitor?.onStart(i, jobId, argv)
        // the fencing check sees every dispatch a worker really started
        const d = nodes[i]?.parts?.state.job(jobId)?.dispatch
        if (d !== undefined && d.spec.leaderless !== true) monitor?.onDispatch(i, d.dispatchEpoch, net.indexOf(d.dispatchedBy) ?? -1, true)
      }))
    }
  }
  // propagation: when each workload write reached each node
  const writtenAt = new Map<string, number>()
  const reached = new Map<string, Set<number>>()
  const reachedAll = new Map<string, number>()
  for (const n of nodes) {
    n.onStart(node => {
      const settings = (node.state.docs.get('control') as Y.Doc).getMap('settings')
      settings.observe(ev => {
        for (const key of ev.keysChanged) {
          const name = key.slice(0, key.indexOf('@'))
          const holders = reached.get(name)
          if (holders === undefined || reachedAll.has(name)) continue
          holders.add(node.index)
          if (holders.size >= scenario.nodes) reachedAll.set(name, sched.nowMs - (writtenAt.get(name) as number))
        }
      })
    })
  }

  const acked: AckedWrite[] = []
  let issued = 0
  const workRng = root.fork('workload')
  const checks: CheckResult[] = []
  let violation: SimReport['violation'] = null
  const fail = (check: string, detail: string): void => {
    checks.push({ name: check, ok: false, detail })
    violation ??= { check, atMs: sched.nowMs, detail, traceBefore: sched.recent.slice(-40) }
  }

  const monitor = scenario.voters > 0 ? new ElectionMonitor(nodes, sched, voterIds.length >= 3 && e.mode === 'majority', fail, hostileIndex) : undefined
  let hostileMonitor: HostileMonitor | undefined
  if (hostileIndex !== undefined && scenario.hostile !== undefined) {
    const member = new HostileMember(nodes[hostileIndex] as SimNode, nodes, sched, root.fork('hostile'), {
      writesPerSecond: scenario.hostile.writesPerSecond, untilMs: scenario.phases.safetyUntilMs, operator: operator?.id, voters: voterIds,
      ...(scenario.hostile.stolenOperatorKey && operator !== undefined ? { operatorKey: operator } : {})
    })
    const hm = new HostileMonitor(nodes, member, hostileIndex, sched, fail)
    hostileMonitor = hm
    member.start()
    const sample = (): void => { hm.sample(); sched.after(HOSTILE_SAMPLE_MS, 'hostile-sample', sample) }
    sched.after(HOSTILE_SAMPLE_MS, 'hostile-sample', sample)
  }
  /** A settings write at node `n`: signed by the operator key when the cluster has one (as the CLI does), else as the node. */
  const writeSetting = (n: SimNode, name: string, value: SettingValue): void => {
    if (operator === undefined) {
      n.state.setSetting(name, value)
      return
    }
    const draft = n.state.settingDraft(name, value, operator.id)
    n.state.writeSigned('settings', draft.key, signEntry(operator, 'control', 'settings', draft.key, draft.entry))
  }
  const trainingMonitor = trainingParams === undefined ? undefined : new TrainingMonitor(nodes, sched, trainingParams, scenario.gpus.length, fail)
  if (jb !== undefined) {
    const jm = new JobMonitor(nodes, machines, sched, fail)
    jobMonitor = jm
    const sample = (): void => { jm.sample(); sched.after(JOB_SAMPLE_MS, 'job-sample', sample) }
    sched.after(JOB_SAMPLE_MS, 'job-sample', sample)
  }
  const dataFiles = new Map<number, Manifest['files']>()
  if (monitor !== undefined && jb === undefined) {
    // the scenario's own selfplay dispatches (below): a worker that takes no selfplay refuses
    // them, so their fencing is checked here (every other dispatch, through the real JobWorker)
    for (const n of nodes) {
      n.onStart(node => {
        const parts = node.parts
        if (parts === undefined) return
        const fence = new EpochFence(parts.tables)
        const seen = new Set<string>()
        parts.state.onUpdate(u => {
          if (!u.doc.startsWith('jobs/')) return
          for (const j of parts.state.jobs()) {
            if (j.dispatch.assignedNode !== node.id || j.dispatch.type !== 'selfplay' || seen.has(j.jobId)) continue
            seen.add(j.jobId)
            const d = j.dispatch
            // a worker runs a dispatch only from the node that holds its epoch, and never below
            // an epoch it accepted (the fence)
            const view = { candidacies: parts.state.candidacies(), grants: parts.state.grants(), leases: parts.state.leases() }
            const holds = holdsEpoch(view, parts.election?.voters() ?? [], d.dispatchedBy, d.dispatchEpoch)
            const admitted = holds ? fence.admit(d.dispatchEpoch) : Promise.resolve(false)
            admitted.then(ok => {
              sched.trace(`node ${node.index} ${ok ? 'accepts' : 'refuses'} ${d.jobId} of epoch ${d.dispatchEpoch}`)
              monitor.onDispatch(node.index, d.dispatchEpoch, net.indexOf(d.dispatchedBy) ?? -1, ok)
            }, () => undefined)
          }
        })
      })
    }
    // the leader dispatches a job every 2 s under its epoch
    const dispatchRng = root.fork('dispatch')
    const dispatch = (): void => {
      for (const n of nodes) {
        const epoch = n.isUp ? n.parts?.election?.leaderEpoch() : undefined
        if (epoch === undefined) continue
        const to = dispatchRng.pick(nodes) as SimNode
        n.state.dispatchJob({ type: 'selfplay', config: null, engineMode: null, spec: {}, assignedNode: to.id, dispatchEpoch: epoch, attempt: 0, previousJobId: null })
      }
      if (sched.nowMs + 2000 < scenario.phases.safetyUntilMs) sched.after(2000, 'leader-dispatch', dispatch)
    }
    sched.at(2000, 'leader-dispatch', dispatch)
  }
  const topo = root.fork('topology')
  for (let i = 0; i < scenario.nodes; i++) {
    if (scenario.topology.kind === 'full') {
      for (let j = i + 1; j < scenario.nodes; j++) net.connect(i, j)
    } else if (scenario.topology.kind === 'line') {
      if (i > 0) net.connect(i - 1, i)
    } else if (scenario.topology.kind === 'explicit') {
      for (const [a, b] of scenario.topology.edges) if (a === i) net.connect(a, b)
    } else {
      const others = topo.shuffle(Array.from({ length: scenario.nodes }, (_, j) => j).filter(j => j !== i))
      for (const j of others.slice(0, scenario.topology.degree)) net.connect(i, j)
    }
  }
  if (scenario.startSpreadMs === 0) {
    for (const n of nodes) await n.start()
  } else {
    const startRng = root.fork('start')
    for (const n of nodes) {
      sched.at(startRng.next() * scenario.startSpreadMs, 'start', () => { n.start().catch((err: unknown) => fail('simulator', String(err))) })
    }
  }

  // workload: unique settings written at random live nodes until the safety phase ends
  const wps = scenario.workload.writesPerSecond
  if (wps > 0) {
    const quiet = (t: number): boolean => scenario.quietChecksAtMs.some(q => t >= q - scenario.quietWindowMs && t <= q)
    const write = (): void => {
      const writers = scenario.workload.writers
      // the operator does not write through the hostile member's machine
      const live = nodes.filter(n => n.isUp && (writers === 0 || n.index < writers) && n.index !== hostileIndex)
      const n = quiet(sched.nowMs) ? undefined : workRng.pick(live)
      if (n !== undefined) {
        const value = ++issued
        const name = `w-${n.index}-${value}`
        writtenAt.set(name, sched.nowMs)
        reached.set(name, new Set([n.index]))
        sched.trace(`write ${name} at node ${n.index}`)
        writeSetting(n, name, value)
        const atMs = sched.nowMs
        n.parts?.store.flush().then(() => acked.push({ name, value, node: n.index, atMs }), () => undefined)
      }
      const next = sched.nowMs + (1000 / wps) * (0.5 + workRng.next())
      if (next < scenario.phases.safetyUntilMs) sched.at(next, 'workload', write)
    }
    sched.at(1000 / wps, 'workload', write)
  }

  const onData = (ev: { node: number, config: ConfigKey, games: number }): void => {
    const n = nodes[ev.node]
    if (n?.isUp !== true) return
    const files = dataFiles.get(ev.node) ?? {}
    dataFiles.set(ev.node, files)
    const path = `selfplay/${ev.config}/${Math.floor(sched.nowMs)}-${ev.node}.jsonl`
    const sha256 = createHash('sha256').update(`${ev.node}:${path}:${ev.games}`).digest('hex')
    files[path] = { size: ev.games * 100, mtimeMs: Math.floor(sched.nowMs), sha256, kind: 'selfplay', config: ev.config, gameCount: ev.games }
    const summary: Manifest['summary'] = {}
    for (const f of Object.values(files)) {
      const k = f.config ?? 'other'
      const cur = summary[k] ?? { files: 0, bytes: 0, games: 0 }
      summary[k] = { files: cur.files + 1, bytes: cur.bytes + f.size, games: cur.games + f.gameCount }
    }
    n.state.setManifest({ v: 1, nodeId: n.id, generatedAt: Math.max(0, Math.floor(n.clock.nowMs())), totalFiles: Object.keys(files).length, totalBytes: 0, summary, files: { ...files }, truncated: false })
    trainingMonitor?.onData(ev.config, ev.games)
    sched.trace(`node ${ev.node} produced ${ev.games} games of ${ev.config}`)
  }
  for (const ev of scenario.timeline) {
    sched.at(ev.at, 'fault', () => {
      if ('data' in ev) onData(ev.data)
      else if ('setting' in ev) {
        const n = nodes[ev.setting.node]
        if (n?.isUp === true) writeSetting(n, ev.setting.name, ev.setting.value)
      } else applyEvent(ev, nodes, net, sched).catch((err: unknown) => fail('simulator', String(err)))
    })
  }

  for (const t of scenario.quietChecksAtMs) {
    sched.at(t, 'quiet-check', () => {
      const bad = checkConvergence(nodes)
      if (bad !== null) fail('convergence', `at quiet point ${t} ms: ${bad}`)
    })
  }

  const convergence: SimReport['convergence'] = []
  const probeMs = options.convergenceProbeMs ?? 250
  const afterEvent = monitor === undefined ? undefined : (): void => monitor.afterEvent()
  await sched.runUntil(scenario.phases.safetyUntilMs, afterEvent)

  // liveness phase: heal everything, stop faults, bring every node back, require convergence
  const livenessStart = sched.nowMs
  sched.trace('liveness phase: heal all, resume and restart every node')
  net.healAll()
  net.setDefaultLinkModel({ loss: 0, duplicate: 0 })
  let voterRestarted = false
  for (const n of nodes) {
    if (n.status === 'paused') n.resume()
    if (n.status === 'crashed') {
      await n.start()
      if (n.index < scenario.voters) voterRestarted = true
    }
  }
  // One lease (a lost leader's lease runs out) plus the back-off, plus failure detection and a
  // renew round; plus one more lease when a voter restarts now (it grants nothing for a lease).
  const leaderBoundMs = e.leaseMs + e.backoffMaxMs + cfg.deadAfterMs + e.renewIntervalMs + (voterRestarted ? e.leaseMs : 0)
  let leaderAgreedAt: number | undefined
  let convergedAt: number | null = null
  while (sched.nowMs - livenessStart <= scenario.phases.livenessWithinMs) {
    await sched.runUntil(sched.nowMs + probeMs, afterEvent)
    if (monitor !== undefined && leaderAgreedAt === undefined && monitor.agreedLeader() !== undefined) leaderAgreedAt = sched.nowMs
    if (checkConvergence(nodes) === null && (!scenario.checks.includes('acked-writes') || checkAckedWrites(nodes, acked) === null) &&
        (monitor === undefined || monitor.agreedLeader() !== undefined)) {
      convergedAt = sched.nowMs
      break
    }
  }
  convergence.push({ phase: 'liveness', atMs: livenessStart, convergedAfterMs: convergedAt === null ? null : convergedAt - livenessStart })

  if (scenario.checks.includes('convergence')) {
    const bad = checkConvergence(nodes)
    if (bad !== null) fail('convergence', `${scenario.phases.livenessWithinMs} ms into the liveness phase: ${bad}`)
    else if (!checks.some(c => c.name === 'convergence')) checks.push({ name: 'convergence', ok: true, detail: null })
  }
  if (scenario.checks.includes('acked-writes')) {
    const bad = checkAckedWrites(nodes, acked)
    if (bad !== null) fail('acked-writes', bad)
    else checks.push({ name: 'acked-writes', ok: true, detail: null })
  }
  if (monitor !== undefined) {
    // violations were reported (with their trace) when they happened
    for (const c of monitor.results()) if (c.ok) checks.push(c)
    if (scenario.checks.includes('leader-liveness')) {
      const agreed = monitor.agreedLeader()
      const tookMs = leaderAgreedAt === undefined ? undefined : leaderAgreedAt - livenessStart
      if (agreed === undefined || tookMs === undefined) fail('leader-liveness', `${scenario.phases.livenessWithinMs} ms into the liveness phase the live nodes do not agree on one leader: ${monitor.describeLeaders()}`)
      else if (tookMs > leaderBoundMs + probeMs) fail('leader-liveness', `the live nodes agreed on ${agreed} only ${tookMs} ms after the heal; the bound is ${leaderBoundMs} ms`)
      else checks.push({ name: 'leader-liveness', ok: true, detail: `${agreed} after ${tookMs} ms (bound ${leaderBoundMs} ms)` })
    }
  }
  if (jobMonitor !== undefined) {
    jobMonitor.finish()
    for (const c of jobMonitor.results()) if (c.ok) checks.push(c)
  }
  if (hostileMonitor !== undefined) {
    hostileMonitor.sample()
    for (const c of hostileMonitor.results()) if (c.ok) checks.push(c)
  }
  if (trainingMonitor !== undefined && tr !== undefined) {
    // a config that crossed the threshold one readiness pass (plus a lease, for a failover) before the end must have been trained
    trainingMonitor.finish(scenario.phases.safetyUntilMs - tr.readinessIntervalMs - 2 * e.leaseMs - e.backoffMaxMs)
    for (const c of trainingMonitor.results()) if (c.ok && scenario.checks.includes(c.name as typeof scenario.checks[number])) checks.push(c)
  }
  if (scenario.checks.includes('no-drops')) {
    const drops = nodes.reduce((s, n) => s + (n.parts?.drops.total() ?? 0), 0)
    if (drops > 0) fail('no-drops', `${drops} messages dropped as invalid between honest nodes`)
    else checks.push({ name: 'no-drops', ok: true, detail: null })
  }

  const lat = [...reachedAll.values()].sort((a, b) => a - b)
  const updates = Math.max(1, issued)
  const t = net.counters
  const per = (k: TrafficKind): { msgs: number, bytes: number } => ({ msgs: t[k].msgs / updates, bytes: t[k].bytes / updates })
  const wallMs = performance.now() - wallStart
  return {
    scenario: scenario.name,
    seed,
    nodes: scenario.nodes,
    virtualMs: sched.nowMs,
    wallMs,
    events: sched.events,
    eventsPerSecond: sched.events / Math.max(0.001, wallMs / 1000),
    traceHash: sched.traceHash(),
    writes: { issued, acked: acked.length },
    propagation: { measured: lat.length, p50Ms: quantile(lat, 0.5), p99Ms: quantile(lat, 0.99), maxMs: lat.at(-1) ?? null, neverEverywhere: issued - lat.length },
    perUpdate: {
      data: per('data'), control: per('control'), antiEntropy: per('antiEntropy'), heartbeat: per('heartbeat'),
      total: { msgs: (t.data.msgs + t.control.msgs + t.antiEntropy.msgs) / updates, bytes: (t.data.bytes + t.control.bytes + t.antiEntropy.bytes) / updates }
    },
    traffic: { data: { ...t.data }, control: { ...t.control }, antiEntropy: { ...t.antiEntropy }, heartbeat: { ...t.heartbeat } },
    gossipDuplicates: net.gossip.duplicates,
    convergence,
    leadership: monitor?.summary() ?? null,
    training: trainingMonitor?.summary() ?? null,
    jobs: jobMonitor?.summary() ?? null,
    hostile: hostileMonitor?.summary() ?? null,
    checks,
    violation,
    peakHeapMb: process.memoryUsage().heapUsed / 2 ** 20
  }
}

async function applyEvent (ev: TimelineEvent, nodes: SimNode[], net: SimNetwork, sched: Scheduler): Promise<void> {
  sched.trace(`fault ${JSON.stringify(ev)}`)
  if ('partition' in ev) net.partition(ev.partition)
  else if ('cut' in ev) net.cut(ev.cut.from, ev.cut.to, ev.cut.oneWay)
  else if ('heal' in ev) { if (ev.heal === 'all') net.healAll(); else net.heal(ev.heal.a, ev.heal.b) }
  else if ('hold' in ev) net.hold(ev.hold.from, ev.hold.to)
  else if ('release' in ev) net.release(ev.release.from, ev.release.to)
  else if ('crash' in ev) await nodes[ev.crash.node]?.crash(ev.crash.mode)
  else if ('restart' in ev) await nodes[ev.restart]?.start()
  else if ('pause' in ev) nodes[ev.pause]?.pause()
  else if ('resume' in ev) nodes[ev.resume]?.resume()
  else if ('clockJump' in ev) nodes[ev.clockJump.node]?.clock.jump(ev.clockJump.deltaMs)
  else if ('clockDrift' in ev) nodes[ev.clockDrift.node]?.clock.setDrift(ev.clockDrift.drift)
  else if ('link' in ev) {
    const { from, to, ...model } = ev.link
    const clean = Object.fromEntries(Object.entries(model).filter(([, v]) => v !== undefined))
    if (from !== undefined && to !== undefined) net.setLinkModel(from, to, clean)
    else net.setDefaultLinkModel(clean)
  } else if ('dispatch' in ev) {
    const n = nodes[ev.dispatch.node]
    const to = nodes[ev.dispatch.assignedNode]
    if (n?.isUp === true && to !== undefined) {
      n.state.dispatchJob({ type: ev.dispatch.type, config: null, engineMode: null, spec: {}, assignedNode: to.id, dispatchEpoch: ev.dispatch.epoch, attempt: 0, previousJobId: null })
    }
  }
}
