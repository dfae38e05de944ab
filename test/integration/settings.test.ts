/**
 * Cluster settings on a real cluster (issue 24 §2): two `riftmesh node` processes (a, b), a node
 * in this process (p) whose document a test writes into as an old or hostile peer would, and a
 * node (d) that joined and died. Every unsafe or malformed change is refused by the real
 * `riftmesh settings` command and by the REPL, with one line and the node's settings unchanged;
 * `--force` goes through and says which protection it gave up; unset replicates; a malformed
 * `voters` written by a peer is ignored and counted, and the cluster stays in majority mode.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { execFile, spawn } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { CLUSTER_SETTINGS } from '../../src/state/settings-registry.js'
import { CLI, FAST_ELECTION, FAST_TIMINGS, startNodeProcess, type NodeProcess } from '../support/node-process.js'
import { nodesRoot, startInProcessNode, type InProcessNode } from '../support/in-process-node.js'
import { writeRawSetting } from '../support/raw-setting.js'
import { NO_OPERATORS_WARNING } from '../../src/cli/commands/settings-signing.js'
import { NO_OPERATOR_KEYS_WARNING } from '../../src/repl/trust-view.js'

const run = promisify(execFile)
const QUIET = [...FAST_TIMINGS, ...FAST_ELECTION, '--set', 'jobs.selfplayDispatchIntervalMs=600000', '--set', 'training.readinessIntervalMs=600000']
const IN_PROCESS_ELECTION = { 'election.leaseMs': 2_000, 'election.renewIntervalMs': 500, 'election.driftMarginMs': 200, 'election.backoffMinMs': 100, 'election.backoffMaxMs': 500 }
const POLL = { timeout: 20_000, interval: 100 }
/** Well-formed peer ids of no node of this cluster. */
const Q1 = '12D3KooWNoSuchVoter1111111111111111111111111111111'
const Q2 = '12D3KooWNoSuchVoter2222222222222222222222222222222'
const STACK = /\n\s+at\s|\.js:\d+:\d+/

interface Status { election: { mode: string, voters: string[] }, invalidEntries: Record<string, number> }

let cleanup: () => Promise<void>
let a: NodeProcess
let b: NodeProcess
let d: NodeProcess
let p: InProcessNode
const running: NodeProcess[] = []

async function cli (...args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { timeout: 20_000 })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number, stdout: string, stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}
const settingsCli = async (node: { dataDir: string }, ...args: string[]): Promise<{ code: number, stdout: string, stderr: string }> =>
  await cli('settings', ...args, '--data-dir', node.dataDir)

/** The REPL on node a, fed `lines` through a pipe, in JSON mode: one parsed line per input line. */
async function repl (lines: readonly string[]): Promise<unknown[]> {
  const child = spawn(process.execPath, [CLI, 'repl', '--data-dir', a.dataDir, '--json'], { stdio: ['pipe', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
  const exited = new Promise<void>(resolve => child.on('exit', () => resolve()))
  child.stdin.end(`${lines.join('\n')}\n`)
  await exited
  return out.trim().split('\n').map(l => JSON.parse(l) as unknown)
}

const status = async (n: { request: (op: string) => Promise<unknown> }): Promise<Status> => await n.request('status') as Status
const settingsOf = async (n: { request: (op: string) => Promise<unknown> }): Promise<Record<string, unknown>> => await n.request('settings') as Record<string, unknown>
const three = (): string[] => [a.peerId, b.peerId, p.node.peerId]

beforeAll(async () => {
  let dir: string
  let keyFile: string
  ({ dir, keyFile, cleanup } = await nodesRoot('riftmesh-settings-'))
  a = await startNodeProcess(join(dir, 'a'), ['--swarm-key', keyFile, ...QUIET])
  running.push(a)
  b = await startNodeProcess(join(dir, 'b'), ['--swarm-key', keyFile, ...QUIET, '--bootstrap', a.addr])
  running.push(b)
  d = await startNodeProcess(join(dir, 'd'), ['--swarm-key', keyFile, ...QUIET, '--bootstrap', a.addr])
  running.push(d)
  p = await startInProcessNode(join(dir, 'p'), keyFile, { 'node.bootstrap': [a.addr], ...IN_PROCESS_ELECTION })
  const health = async (): Promise<Record<string, string>> =>
    Object.fromEntries(((await a.request('nodes')) as Array<{ nodeId: string, health: string }>).map(n => [n.nodeId, n.health]))
  await vi.waitFor(async () => { const h = await health(); expect([b, d, p.node].map(n => h[n.peerId])).toEqual(['ALIVE', 'ALIVE', 'ALIVE']) }, POLL)
  // d dies: a node of this cluster (in a's nodes table) that is not alive
  await d.stop('SIGKILL')
  running.splice(running.indexOf(d), 1)
  await vi.waitFor(async () => expect((await health())[d.peerId]).toBe('DEAD'), POLL)
}, 90_000)

afterAll(async () => {
  await Promise.all(running.map(async n => await n.stop('SIGKILL')))
  await p?.stop()
  await cleanup()
})

describe('riftmesh settings against real nodes', () => {
  it('settings describe and settings --help list every setting, with no node needed', async () => {
    for (const args of [['settings', 'describe'], ['settings', '--help']]) {
      const r = await cli(...args)
      expect(r.code).toBe(0)
      for (const s of CLUSTER_SETTINGS) expect(`\n${r.stdout}`).toContain(`\n${s.name}`)
      expect(r.stdout).toMatch(/voters\n {4}who elects the leader/)
    }
    const one = await cli('settings', 'describe', 'jobCommands')
    expect(one.stdout.split('\n')[0]).toBe('jobCommands')
  })

  it('status warns in epoch mode; three alive voters are taken without --force and the warning goes', async () => {
    const before = await cli('status', '--data-dir', a.dataDir)
    expect(before.stdout.startsWith(NO_OPERATOR_KEYS_WARNING.slice(0, 40))).toBe(true) // no trust.operators: said first (wrapped to the width)
    expect(before.stdout).toMatch(/\nWARNING epoch mode \(0 voter\(s\), fewer than 3\): no split-brain protection/)
    const r = await settingsCli(a, 'set', 'voters', JSON.stringify(three()))
    expect(r).toMatchObject({ code: 0, stderr: `${NO_OPERATORS_WARNING}\n` }) // no trust.operators: any member may change settings
    expect(JSON.parse(r.stdout)).toEqual({ name: 'voters', value: three() })
    for (const n of [a, b]) await expect.poll(async () => (await status(n)).election.mode, POLL).toBe('majority')
    const after = await cli('status', '--data-dir', a.dataDir)
    expect(after.stdout).toMatch(/\nelection: majority mode, 3 voter\(s\); this node is /)
    expect(after.stdout).not.toContain('epoch mode')
  })

  /** Each refused change: as CLI arguments, as a REPL line, the one line it must print, and whether --force would pass it. */
  const refused: Array<{ name: string, cli: () => string[], repl: () => string, line: RegExp, unsafe: boolean }> = [
    { name: 'voters abc', cli: () => ['set', 'voters', 'abc'], repl: () => 'settings.set("voters", "abc")', unsafe: false, line: /setting "voters": Invalid input: expected array, received string; got "abc"; expected a list of peer ids/ },
    { name: 'voters 42', cli: () => ['set', 'voters', '42'], repl: () => 'settings.set("voters", 42)', unsafe: false, line: /setting "voters": .*got 42; expected a list of peer ids/ },
    { name: 'voters ["notapeerid"]', cli: () => ['set', 'voters', '["notapeerid"]'], repl: () => 'settings.set("voters", ["notapeerid"])', unsafe: true, line: /refused: voters = \["notapeerid"\] would give up split-brain protection: 1 voter\(s\) is fewer than 3, so the election runs in epoch mode and each side of a network partition may elect its own leader \(and notapeerid is not a node of this cluster\)/ },
    { name: 'two voters', cli: () => ['set', 'voters', JSON.stringify([a.peerId, b.peerId])], repl: () => `settings.set("voters", ${JSON.stringify([a.peerId, b.peerId])})`, unsafe: true, line: /refused: voters = .* would give up split-brain protection: 2 voter\(s\) is fewer than 3, so the election runs in epoch mode/ },
    { name: 'a voter not alive', cli: () => ['set', 'voters', JSON.stringify([a.peerId, b.peerId, d.peerId])], repl: () => `settings.set("voters", ${JSON.stringify([a.peerId, b.peerId, d.peerId])})`, unsafe: true, line: /would give up fault tolerance: \S+ \(DEAD\) not alive here, so 2 of 3 voters are up and the next voter failure leaves the cluster without a leader/ },
    { name: 'a majority of unknown peer ids', cli: () => ['set', 'voters', JSON.stringify([a.peerId, Q1, Q2])], repl: () => `settings.set("voters", ${JSON.stringify([a.peerId, Q1, Q2])})`, unsafe: true, line: /would give up a leader: 2 of 3 voters are not nodes of this cluster \(12D3KooWNoSuchVoter1\S*, 12D3KooWNoSuchVoter2\S*\), so no majority can grant a lease until they join/ },
    { name: 'an unknown name', cli: () => ['set', 'votres', JSON.stringify(three())], repl: () => `settings.set("votres", ${JSON.stringify(three())})`, unsafe: false, line: /unknown setting "votres"; did you mean "voters"\? \(riftmesh settings describe lists every setting\)/ },
    { name: 'a name like none', cli: () => ['set', 'frobnicate', '1'], repl: () => 'settings.set("frobnicate", 1)', unsafe: false, line: /unknown setting "frobnicate"; \(riftmesh settings describe/ },
    { name: 'jobCommands with a command that is not a list', cli: () => ['set', 'jobCommands', '{"selfplay":"notalist"}'], repl: () => 'settings.set("jobCommands", {selfplay: "notalist"})', unsafe: false, line: /setting "jobCommands": selfplay: Invalid input: expected array, received string/ },
    { name: 'staticPriority with a word for a number', cli: () => ['set', 'staticPriority', '{"hex8_2p":"high"}'], repl: () => 'settings.set("staticPriority", {hex8_2p: "high"})', unsafe: false, line: /setting "staticPriority": hex8_2p: Invalid input: expected number, received string/ },
    { name: 'an A/B test definition', cli: () => ['set', 'abTest/x1', '{}'], repl: () => 'settings.set("abTest/x1", {})', unsafe: false, line: /setting "abTest\/x1" is written by the cluster itself/ },
    { name: 'unset voters (the config has none)', cli: () => ['unset', 'voters'], repl: () => 'settings.unset("voters")', unsafe: true, line: /refused: unsetting voters \(the config's election.voters \[\] would apply\) would give up split-brain protection: 0 voter\(s\) is fewer than 3/ },
    { name: 'unset of an unknown name', cli: () => ['unset', 'vooters'], repl: () => 'settings.unset("vooters")', unsafe: false, line: /unknown setting "vooters"; did you mean "voters"\?/ }
  ]

  // refusals change nothing, so the rows run side by side
  it.concurrent.each(refused)('refuses $name in the CLI: exit ≠ 0, one line, no stack, settings unchanged', async row => {
    const before = await settingsOf(a)
    const r = await settingsCli(a, ...row.cli())
    expect(r.code).not.toBe(0)
    expect(r.stdout).toBe('')
    const lines = r.stderr.split('\n').filter(l => l !== '')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^riftmesh settings: /)
    expect(lines[0]).toMatch(row.line)
    expect(lines[0]!.endsWith('; add --force to do it anyway')).toBe(row.unsafe)
    expect(r.stderr).not.toMatch(STACK)
    expect(await settingsOf(a)).toEqual(before)
    expect((await status(a)).election).toMatchObject({ mode: 'majority', voters: [...three()].sort() })
  })

  it('refuses each of them in the REPL too, one error line each, settings unchanged', async () => {
    const before = await settingsOf(a)
    const out = await repl(refused.map(r => r.repl()))
    expect(out).toHaveLength(refused.length)
    refused.forEach((row, i) => {
      const e = out[i] as { error?: string }
      expect(e.error, row.name).toMatch(row.line)
      expect(e.error?.includes('; to do it anyway: settings.'), row.name).toBe(row.unsafe)
      expect(e.error?.includes('\n'), row.name).toBe(false)
    })
    expect(await settingsOf(a)).toEqual(before)
    expect((await status(a)).election.mode).toBe('majority')
  })

  it('--force goes through and prints the protection it gave up; status then warns of epoch mode', async () => {
    const two = [a.peerId, b.peerId]
    const r = await settingsCli(a, 'set', 'voters', JSON.stringify(two), '--force')
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual({ name: 'voters', value: two })
    expect(r.stderr.split('\n').filter(l => l !== '')).toEqual([
      'warning: setting voters with --force gives up split-brain protection: 2 voter(s) is fewer than 3, so the election runs in epoch mode and each side of a network partition may elect its own leader',
      NO_OPERATORS_WARNING
    ])
    await expect.poll(async () => (await status(b)).election.mode, POLL).toBe('epoch')
    const epochStatus = (await cli('status', '--data-dir', b.dataDir)).stdout
    expect(epochStatus).toMatch(/\nelection: epoch mode, 2 voter\(s\); this node is /)
    expect(epochStatus).toMatch(/\nWARNING epoch mode \(2 voter\(s\), fewer than 3\): no split-brain protection/)

    const u = await settingsCli(a, 'unset', 'voters', '--force')
    expect(u).toMatchObject({ code: 0, stdout: 'voters unset\n' })
    expect(u.stderr).toMatch(/^warning: unsetting voters with --force gives up split-brain protection: 0 voter\(s\) is fewer than 3/)
    await expect.poll(async () => (await status(b)).election.voters, POLL).toEqual([])

    // the REPL's way, then back to three voters
    const [forced] = await repl([`settings.set("voters", ${JSON.stringify(two)}, {force: true})`]) as Array<{ lost: string[] }>
    expect(forced?.lost).toEqual([expect.stringMatching(/^split-brain protection: 2 voter\(s\) is fewer than 3/)])
    expect((await settingsCli(a, 'set', 'voters', JSON.stringify(three()))).code).toBe(0)
    for (const n of [a, b]) await expect.poll(async () => (await status(n)).election.mode, POLL).toBe('majority')
  })

  it('unset removes a setting on every node, also one another node wrote', async () => {
    expect((await settingsCli(b, 'set', 'curriculumWeights', '{"hex8_2p": 2}')).code).toBe(0)
    await expect.poll(async () => (await settingsOf(a)).curriculumWeights, POLL).toEqual({ hex8_2p: 2 })
    const r = await settingsCli(a, 'unset', 'curriculumWeights')
    expect(r).toEqual({ code: 0, stdout: 'curriculumWeights unset\n', stderr: `${NO_OPERATORS_WARNING}\n` })
    for (const n of [a, b, p]) await expect.poll(async () => 'curriculumWeights' in await settingsOf(n), POLL).toBe(false)
    expect((await settingsCli(b, 'get', 'curriculumWeights')).stdout).toBe('null\n')
    expect((await settingsCli(b, 'unset', 'curriculumWeights')).stdout).toBe('curriculumWeights was not set\n')
    expect((await settingsCli(b, 'get', 'curriculumWeigths')).stderr).toMatch(/^riftmesh settings: unknown setting "curriculumWeigths"; did you mean "curriculumWeights"\?/)
  })

  it('a malformed voters written by a peer is ignored and counted: the others stay in majority mode with their voters', async () => {
    const voters = [...three()].sort()
    const counted = (s: Status): number => s.invalidEntries['settings:value'] ?? 0
    expect(counted(await status(a))).toBe(0)
    // as an old or hostile version of p would: straight into its document, above every version
    writeRawSetting(p.node.state, { name: 'voters', value: 'abc', version: 1_000_000 })
    // it reached a (the raw document holds it) …
    await expect.poll(async () => ((await a.request('doc')) as { control: { settings: Record<string, { value: unknown }> } }).control.settings[`voters@${p.node.peerId}`]?.value, POLL).toBe('abc')
    await expect.poll(async () => counted(await status(a)), POLL).toBe(1)
    // … and takes no effect there, however often it is read
    for (let i = 0; i < 3; i++) {
      const s = await status(a)
      expect(s.election).toMatchObject({ mode: 'majority', voters })
      expect(counted(s)).toBe(1)
    }
    expect(await settingsOf(a)).toMatchObject({ voters: three() })
    await expect.poll(async () => counted(await status(b)), POLL).toBe(1)
    expect((await status(b)).election).toMatchObject({ mode: 'majority', voters })
    expect(p.node.election.mode()).toBe('majority')
    // logged once, saying what stays in effect
    const logged = a.stderr().split('\n').filter(l => l.includes('ignoring a malformed cluster setting'))
    expect(logged).toHaveLength(1)
    expect(JSON.parse(logged[0] as string)).toMatchObject({ setting: 'voters', writer: p.node.peerId, version: 1_000_000, inEffect: expect.stringMatching(/^the last valid value \["/) as unknown })
    // a valid change still wins over it
    expect((await settingsCli(a, 'set', 'voters', JSON.stringify([...three()].reverse()))).code).toBe(0)
    expect((await status(a)).election).toMatchObject({ mode: 'majority', voters })
  })
})
