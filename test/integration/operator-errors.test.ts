/**
 * What an operator sees when a command cannot do what it was asked (issue 24, must-show 1): one
 * table of bad inputs, every case of the issue, each run as a real `riftmesh` process that must
 * exit non-zero with exactly one line on stderr naming the problem (and the fix), and no stack
 * trace. The rows aimed at a running node (settings, A/B tests, the REPL, nodes forget, a second
 * node on its data dir) share one quiet node, which must keep running with its documents (state
 * digest) and its files unchanged. Then the way out of a damaged database: `node --reset-state`
 * moves it aside, keeps the identity and the data files, and the documents come back from a peer.
 */
import { execFile, execFileSync, type ChildProcess } from 'node:child_process'
import { chmod, chown, cp, mkdir, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { nodeFlags } from '../../src/cli/commands/node.js'
import { CLI, startNodeProcess, type NodeProcess } from '../support/node-process.js'
import { SystemClock, sleep } from '../../src/core/clock.js'
import { tempDir } from '../helpers.js'

interface Run { code: number, stdout: string, stderr: string }

const running = new Set<ChildProcess>()
const nodes: NodeProcess[] = []
const servers: Server[] = []
let root: string
let cleanup: () => Promise<void>

/** The environment without any RIFTMESH_* variable of the machine running the tests. */
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('RIFTMESH_')))

/** Run `riftmesh …` (under `wrap`, e.g. setpriv; `input` lines on its stdin) to its end, within 60 s (a loaded machine). */
async function riftmesh (args: readonly string[], wrap: readonly string[] = [], input?: readonly string[]): Promise<Run> {
  const [cmd, ...rest] = [...wrap, process.execPath, CLI, ...args] as [string, ...string[]]
  return await new Promise(resolve => {
    const child = execFile(cmd, rest, { env: cleanEnv, timeout: 60_000, cwd: root }, (err, stdout, stderr) => {
      running.delete(child)
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1
      resolve({ code, stdout, stderr })
    })
    running.add(child)
    child.stdin?.end(input === undefined ? '' : `${input.join('\n')}\n`)
  })
}

/** A TCP port held open by this test process (a real listener), so that a node finds it taken. */
async function heldPort (): Promise<number> {
  const server = createServer()
  servers.push(server)
  return await new Promise(resolve => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)))
}

/** How this test can run a command as a user that is not root, or why it cannot. */
function nonRootWrap (): { wrap: string[], user: string } | { skip: string } {
  if (process.getuid?.() !== 0) return { wrap: [], user: '' }
  const tries: string[][] = [
    ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups'],
    ['setpriv', '--reuid=nobody', '--regid=nobody', '--clear-groups'],
    ['runuser', '-u', 'nobody', '--']
  ]
  for (const wrap of tries) {
    try {
      execFileSync(wrap[0] as string, [...wrap.slice(1), process.execPath, '-e', 'process.exit(0)'], { stdio: 'ignore', timeout: 10_000 })
      return { wrap, user: 'nobody' }
    } catch {
      continue
    }
  }
  return { skip: 'running as root and neither setpriv nor runuser can run node as nobody here (root ignores permission bits)' }
}

const PEER = '12D3KooWCD2cuGyYf74BFVtnDFGMQdGgz3nfV1vvKno6yZt9Zx29'
/** A node whose documents change only when told to (no lease renewals, no dispatch): its state digest is steady. */
const QUIET = [
  '--set', 'election.leaseMs=3600000', '--set', 'election.renewIntervalMs=1800000',
  '--set', 'jobs.selfplayDispatchIntervalMs=600000', '--set', 'training.readinessIntervalMs=600000'
]
let keyFile: string
let first: NodeProcess
/** The running node of the running-node rows. */
let live: NodeProcess
/** A data dir that held a node, with its identity.key deleted. */
let lostIdentity: string
/** A data dir whose database has a truncated .ldb file (node b of a two-node cluster). */
let damaged: string
let damagedPeerId: string
let damagedTable: string
let readOnly: { dir: string, wrap: string[] } | { skip: string }

/** A fresh data dir under the test root. */
let dirs = 0
const fresh = (): string => join(root, `d${++dirs}`)
/** A node that would start cleanly but for the one thing a row breaks. */
const nodeArgs = (dataDir: string, ...more: string[]): string[] =>
  ['node', '--data-dir', dataDir, '--swarm-key', keyFile, '--listen', '/ip4/127.0.0.1/tcp/0', '--log-level', 'warn', ...more]

/** What the running node holds: its state digest (equal ⇔ equal documents) and the files of its identity. */
async function liveState (): Promise<{ digest: string, incarnation: string, identity: string }> {
  const { digest } = await live.request('status') as { digest: string }
  const file = async (name: string, encoding: BufferEncoding): Promise<string> => (await readFile(join(live.dataDir, name))).toString(encoding)
  return { digest, incarnation: await file('incarnation.json', 'utf8'), identity: await file('identity.key', 'hex') }
}

const docHas = async (n: NodeProcess, text: string): Promise<boolean> => JSON.stringify(await n.request('doc')).includes(text)

/** Poll `check` until it holds, for at most `timeoutMs` (for beforeAll, where expect.poll is not allowed). */
async function waitUntil (what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const clock = new SystemClock()
  const deadline = clock.monoMs() + timeoutMs
  while (!(await check())) {
    if (clock.monoMs() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await sleep(clock, 100)
  }
}

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir('riftmesh-operator-'))
  keyFile = join(root, 'swarm.key')
  expect((await riftmesh(['keygen', '--swarm-key', keyFile])).code).toBe(0)

  // the running node of the running-node rows starts meanwhile
  const liveStarted = startNodeProcess(join(root, 'live'), ['--swarm-key', keyFile, ...QUIET])
  // stopped in afterAll even when a later step of this set-up fails
  liveStarted.then(n => { nodes.push(n) }, () => undefined)
  // a two-node cluster; b's database is then damaged the way a crash or a bad disk leaves it
  first = await startNodeProcess(join(root, 'a'), ['--swarm-key', keyFile])
  nodes.push(first)
  damaged = join(root, 'b')
  const b = await startNodeProcess(damaged, ['--swarm-key', keyFile, '--bootstrap', first.addr])
  nodes.push(b)
  damagedPeerId = b.peerId
  await waitUntil('b has the documents of a', async () => await docHas(b, first.peerId), 20_000)
  await mkdir(join(damaged, 'selfplay', 'hex8_2p'), { recursive: true })
  await writeFile(join(damaged, 'selfplay', 'hex8_2p', 'games.jsonl'), '{"game":1}\n')
  await b.stop()
  // a second start turns the update log into a table file (.ldb)
  const again = await startNodeProcess(damaged, ['--swarm-key', keyFile])
  nodes.push(again)
  await again.stop()
  lostIdentity = join(root, 'lost-identity')
  await cp(damaged, lostIdentity, { recursive: true })
  await rm(join(lostIdentity, 'identity.key'))
  const table = (await readdir(join(damaged, 'db'))).find(f => f.endsWith('.ldb'))
  expect(table, 'the database has a table file to damage').toBeDefined()
  damagedTable = table as string
  await truncate(join(damaged, 'db', damagedTable), 100)

  live = await liveStarted

  const who = nonRootWrap()
  if ('skip' in who) {
    readOnly = who
  } else {
    await chmod(root, 0o711) // nobody may pass through to its dir, nothing more
    const dir = join(root, 'read-only')
    await mkdir(dir)
    if (who.user !== '') await chown(dir, Number(execFileSync('id', ['-u', who.user]).toString()), Number(execFileSync('id', ['-g', who.user]).toString()))
    await chmod(dir, 0o500)
    readOnly = { dir, wrap: who.wrap }
  }
}, 180_000)

afterAll(async () => {
  for (const child of running) child.kill('SIGKILL')
  await Promise.all(nodes.map(async n => await n.stop('SIGKILL')))
  for (const s of servers) s.close()
  await chmod(root, 0o700).catch(() => undefined)
  await cleanup()
})

interface Row {
  args: () => Promise<string[]> | string[]
  code: number
  line: RegExp
  wrap?: () => string[]
  skip?: () => string | undefined
  /** Lines piped to the command's stdin (a REPL script). */
  input?: readonly string[]
  /** Aimed at the running node `live`: it must keep running, its documents and files unchanged. */
  live?: true
}

/** `riftmesh settings set NAME VALUE` on the running node. */
const settingsSet = (name: string, value: string): Row['args'] => () => ['settings', 'set', name, value, '--data-dir', live.dataDir]
const NOT_SAFE = '; add --force to do it anyway'

/** Keyed by the section of issue 24 each case comes from. */
const ROWS: Record<string, Row> = {
  '§2 settings set voters abc': {
    args: settingsSet('voters', 'abc'),
    live: true,
    code: 1,
    line: /^riftmesh settings: setting "voters": Invalid input: expected array, received string; got "abc"; expected a list of peer ids, 3 or 5 of them/
  },
  '§2 settings set voters 42': {
    args: settingsSet('voters', '42'),
    live: true,
    code: 1,
    line: /^riftmesh settings: setting "voters": .*got 42; expected a list of peer ids/
  },
  '§2 settings set voters \'["notapeerid"]\'': {
    args: settingsSet('voters', '["notapeerid"]'),
    live: true,
    code: 1,
    line: new RegExp(`^riftmesh settings: refused: voters = \\["notapeerid"\\] would give up split-brain protection: 1 voter\\(s\\) is fewer than 3, .*notapeerid is not a node of this cluster.*${NOT_SAFE}$`)
  },
  '§2 settings set of an unknown name': {
    args: settingsSet('votres', '[]'),
    live: true,
    code: 1,
    line: /^riftmesh settings: unknown setting "votres"; did you mean "voters"\? \(riftmesh settings describe lists every setting\)$/
  },
  '§2 settings set jobCommands \'{"selfplay":"notalist"}\'': {
    args: settingsSet('jobCommands', '{"selfplay":"notalist"}'),
    live: true,
    code: 1,
    line: /^riftmesh settings: setting "jobCommands": selfplay: Invalid input: expected array, received string/
  },
  '§2 settings set jobCommands with no operator key in the cluster': {
    args: settingsSet('jobCommands', '{"selfplay":["/bin/true"]}'),
    live: true,
    code: 1,
    line: /^riftmesh settings: jobCommands runs programs on every node, so only an operator key may set it, and this cluster has none: make one \(riftmesh keygen --operator FILE\), list its id in trust.operators on every node, restart them, then pass --operator-key FILE$/
  },
  '§2 settings set staticPriority \'{"hex8_2p":"high"}\'': {
    args: settingsSet('staticPriority', '{"hex8_2p":"high"}'),
    live: true,
    code: 1,
    line: /^riftmesh settings: setting "staticPriority": hex8_2p: Invalid input: expected number, received string/
  },
  '§2 settings with a misspelt subcommand': {
    args: () => ['settings', 'sett', 'voters', '[]', '--data-dir', live.dataDir],
    live: true,
    code: 2,
    line: /^riftmesh settings: unknown subcommand "sett" \(did you mean "set"\?\); usage: riftmesh settings get\|set\|unset\|describe/
  },
  '§3 demo --duration -1': {
    args: () => ['demo', '--duration', '-1'],
    code: 2,
    line: /^riftmesh demo: flag "--duration": expected a number of seconds > 0 \(got -1\)$/
  },
  '§4 a second node on a running node\'s data dir': {
    args: () => nodeArgs(live.dataDir),
    live: true,
    code: 1,
    line: /^riftmesh node: a node is running with --data-dir \S+\/live; stop it first, or pick another --data-dir$/
  },
  '§5 a deleted identity.key': {
    args: () => nodeArgs(lostIdentity),
    code: 1,
    line: /^riftmesh node: identity key \S+\/lost-identity\/identity\.key is missing, but the data dir holds the state of the node it belonged to .*restore identity\.key from a backup .*or start once with --new-identity/
  },
  '§5 nodes forget of a node not in the table': {
    args: () => ['nodes', 'forget', PEER, '--data-dir', live.dataDir],
    live: true,
    code: 1,
    line: new RegExp(`^riftmesh nodes: no node ${PEER} in the node table`)
  },
  '§5 nodes forget of the running node itself': {
    args: () => ['nodes', 'forget', live.peerId, '--data-dir', live.dataDir],
    live: true,
    code: 1,
    line: /^riftmesh nodes: cannot forget \S+: \S+ is this node: a running node cannot forget itself \(stop it, then forget it from another node\)$/
  },
  '§5 nodes forget without an id': {
    args: () => ['nodes', 'forget', '--data-dir', live.dataDir],
    code: 2,
    line: /^riftmesh nodes: no node id given; usage: riftmesh nodes forget ID$/
  },
  '§6 ab start with models that do not exist': {
    args: () => ['ab', 'start', '--config', 'hex8_2p', '--a', 'models/hex8_2p/nope-a.pt', '--b', 'models/hex8_2p/nope-b.pt', '--data-dir', live.dataDir],
    live: true,
    code: 1,
    line: /^riftmesh ab: abStart: model A models\/hex8_2p\/nope-a\.pt and model B models\/hex8_2p\/nope-b\.pt are on no node .*give the path, under the data dir, of a model file that exists/
  },
  '§6 ab start with a flag value that is not a number': {
    args: () => ['ab', 'start', '--config', 'hex8_2p', '--a', 'a.pt', '--b', 'b.pt', '--games', 'many', '--data-dir', live.dataDir],
    live: true,
    code: 2,
    line: /^riftmesh ab: flag "--games": expected a positive integer \(got "many"\)$/
  },
  '§6 a piped REPL script with a failed input': {
    args: () => ['repl', '--data-dir', live.dataDir, '--json'],
    input: ['1 + 1', 'noSuchHelper()', 'settings.set("voters", "abc")'],
    live: true,
    code: 1,
    line: /^riftmesh repl: 2 of 3 input\(s\) failed; the first, input 2: unknown name noSuchHelper \(\.help lists the helpers\)$/
  },
  '§6 worker with a misspelt workload': {
    args: () => ['worker', 'trian'],
    code: 2,
    line: /^riftmesh worker: unknown workload "trian" \(did you mean "train"\?\); usage: riftmesh worker NAME \[flags\]/
  },
  'the metrics port is in use': {
    args: async () => { const port = await heldPort(); return nodeArgs(fresh(), '--metrics-port', String(port)) },
    code: 1,
    line: /^riftmesh node: --metrics-port (\d+): port \1 on 127\.0\.0\.1 is in use \(another riftmesh node or program\? pick another with --metrics-port \d+, or 0 for no metrics\)$/
  },
  'the listen port is in use': {
    args: async () => { const port = await heldPort(); return [...nodeArgs(fresh()), '--listen', `/ip4/127.0.0.1/tcp/${port}`] },
    code: 1,
    line: /^riftmesh node: --listen \/ip4\/127\.0\.0\.1\/tcp\/(\d+): port \1 is in use \(another riftmesh node\? pick another with --listen \/ip4\/127\.0\.0\.1\/tcp\/\d+\)$/
  },
  'a UDP listen address': {
    args: () => ['node', '--data-dir', fresh(), '--listen', '/ip4/127.0.0.1/udp/4100'],
    code: 2,
    line: /^riftmesh node: flag "--listen": expected .*\(got "\/ip4\/127\.0\.0\.1\/udp\/4100": riftmesh listens on TCP only .*; --listen sets node\.listen\)$/
  },
  'a data dir that is a file': {
    args: async () => { const f = fresh(); await writeFile(f, 'x'); return nodeArgs(f) },
    code: 1,
    line: /^riftmesh node: --data-dir \S+: is a file, not a directory \(move the file away, or pick another directory with --data-dir\)$/
  },
  'a read-only data dir': {
    args: () => nodeArgs('dir' in readOnly ? readOnly.dir : ''),
    wrap: () => ('wrap' in readOnly ? readOnly.wrap : []),
    skip: () => ('skip' in readOnly ? readOnly.skip : undefined),
    code: 1,
    line: /^riftmesh node: --data-dir \S+: is not writable by (user|uid) \S+ \(EACCES\); give that user the directory \(chown\) or pick another with --data-dir$/
  },
  'a bootstrap address that does not parse': {
    args: () => ['node', '--data-dir', fresh(), '--bootstrap', `/ip4/300.1.1.1/tcp/4100/p2p/${PEER}`],
    code: 2,
    line: /^riftmesh node: flag "--bootstrap": .*: not a valid multiaddr: Invalid IPv4 address "300\.1\.1\.1"; --bootstrap sets node\.bootstrap\)$/
  },
  'a bootstrap address without /p2p/': {
    args: () => ['node', '--data-dir', fresh(), '--bootstrap', '/ip4/10.0.0.5/tcp/4100'],
    code: 2,
    line: /^riftmesh node: flag "--bootstrap": .*a bootstrap address ends in \/p2p\/<peer id>/
  },
  'a bootstrap address with a bad peer id': {
    args: () => ['node', '--data-dir', fresh(), '--bootstrap', '/ip4/10.0.0.5/tcp/4100/p2p/not-a-peer'],
    code: 2,
    line: /^riftmesh node: flag "--bootstrap": .*"not-a-peer" after \/p2p\/ is not a peer id/
  },
  'a truncated .ldb file': {
    args: () => nodeArgs(damaged),
    code: 1,
    line: /^riftmesh node: the database in \S+\/b\/db is damaged and cannot be read \(LEVEL_IO_ERROR: .*\.ldb.*\); start once with `riftmesh node --reset-state`: it moves the database aside/
  },
  'an unknown key of a known section': {
    args: () => ['node', '--data-dir', fresh(), '--set', 'health.nope=3'],
    code: 2,
    line: /^riftmesh node: config "health\.nope": expected a key of section "health" \(heartbeatIntervalMs, suspectAfterMs, deadAfterMs, .*\) \(unknown key in --set health\.nope\)$/
  },
  'a key under a misspelt section': {
    args: () => ['config', '--set', 'helth.deadAfterMs=9000'],
    code: 2,
    line: /^riftmesh config: config "helth\.deadAfterMs": expected a key under a section \(node, mesh, health, .*\) \(unknown key in --set helth\.deadAfterMs; did you mean "health\.deadAfterMs"\?\)$/
  },
  'an unknown flag': {
    args: () => ['node', '--bogus'],
    code: 2,
    line: /^riftmesh node: flag "--bogus": expected one of --config, --data-dir, .*--reset-state.* \(unknown flag\)$/
  },
  'a misspelt flag': {
    args: () => ['node', '--metric-port', '9100'],
    code: 2,
    line: /^riftmesh node: flag "--metric-port": expected one of .* \(unknown flag; did you mean --metrics-port\?\)$/
  },
  'a flag with a bad value': {
    args: () => ['node', '--data-dir', fresh(), '--metrics-port', 'abc'],
    code: 2,
    line: /^riftmesh node: flag "--metrics-port": expected an integer from 0 to 65535 \(TCP port\) \(got "abc"; --metrics-port sets node\.metricsPort\)$/
  },
  'a flag without its value': {
    args: () => ['node', '--data-dir'],
    code: 2,
    line: /^riftmesh node: flag "--data-dir": expected a value \(missing\)$/
  },
  'a sim scenario with a misspelt timeline event': {
    args: async () => {
      const f = join(root, 'bad-event.yaml')
      await writeFile(f, 'name: t\nnodes: 3\nphases: { safetyUntilMs: 1000 }\ntimeline:\n  - { at: 100, crash: { node: 1 } }\n  - { at: 200, partiton: [[0], [1, 2]] }\n')
      return ['sim', 'run', f]
    },
    code: 1,
    line: /^riftmesh sim: \S+bad-event\.yaml: timeline event 1 \(at 200 ms\): unknown event "partiton" \(did you mean "partition"\?\); events are partition, cut, heal/
  }
}

describe('a bad input', () => {
  // independent processes, each with its own files and ports: run them side by side
  it('covers every case of issue 24 in at least 25 rows', () => {
    expect(Object.keys(ROWS).length).toBeGreaterThanOrEqual(25)
  })

  it.concurrent.for<[string, Row]>(Object.entries(ROWS))('%s: exits non-zero with one line naming the problem, no stack trace', { timeout: 90_000 }, async ([, row], ctx) => {
    const skip = row.skip?.()
    if (skip !== undefined) {
      console.log(`skipped: ${skip}`)
      ctx.skip()
      return
    }
    const before = row.live === true ? await liveState() : undefined
    const r = await riftmesh(await row.args(), row.wrap?.() ?? [], row.input)
    const lines = r.stderr.split('\n').filter(l => l !== '')
    expect(r.stderr).not.toMatch(/^\s+at /m)
    expect(lines, r.stderr).toHaveLength(1)
    expect(lines[0]).toMatch(row.line)
    expect(r.code).toBe(row.code)
    if (before !== undefined) {
      // the node goes on, and nothing it holds changed
      expect(live.proc.exitCode).toBeNull()
      expect(await liveState()).toEqual(before)
    }
  })

  it('shows the stack as well with --log-level debug', async () => {
    const f = fresh()
    await writeFile(f, 'x')
    const r = await riftmesh(nodeArgs(f, '--log-level', 'debug'))
    expect(r.code).toBe(1)
    expect(r.stderr.split('\n')[0]).toMatch(/^riftmesh node: --data-dir \S+: is a file, not a directory/)
    expect(r.stderr).toMatch(/^DataDirError: .*\n\s+at /m)
  }, 40_000)
})

describe('help', () => {
  it('worker train --help shows the train workload only', async () => {
    const r = await riftmesh(['worker', 'train', '--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^riftmesh worker train \[flags\]/)
    expect(r.stdout).toContain('--epochs')
    expect(r.stdout).not.toMatch(/selfplay:|gauntlet:|--engine-mode|--baseline/)
  })

  it('worker --help still lists every workload', async () => {
    const r = await riftmesh(['worker', '--help'])
    expect(r.stdout).toMatch(/^selfplay: /m)
    expect(r.stdout).toMatch(/^train: /m)
  })

  it('node --help names every flag in its usage lines', async () => {
    const r = await riftmesh(['node', '--help'])
    expect(r.code).toBe(0)
    const usage = r.stdout.slice(0, r.stdout.indexOf('\n\n'))
    for (const f of nodeFlags) expect(usage, `--${f.name}`).toContain(`--${f.name}`)
  })
})

describe('a node stopped the moment it says it is up', () => {
  it('stops cleanly (exit 0), not killed by the signal', async () => {
    const codes: Array<number | string> = []
    for (let i = 0; i < 8; i++) {
      const n = await startNodeProcess(join(root, 'quick'), ['--swarm-key', keyFile])
      nodes.push(n)
      codes.push(await n.stop())
    }
    expect(codes).toEqual(Array(8).fill(0))
  }, 90_000)
})

describe('node --reset-state', () => {
  it('moves the damaged database aside, keeps identity and data files, and gets the documents back from a peer', async () => {
    const refused = await riftmesh(nodeArgs(damaged))
    expect(refused.code).toBe(1)
    const b = await startNodeProcess(damaged, ['--swarm-key', keyFile, '--reset-state', '--bootstrap', first.addr])
    nodes.push(b)
    expect(b.stdout()).toMatch(/^reset-state: moved \S+\/b\/db aside to \S+\/b\/db\.broken-\d{8}T\d{6}Z; /m)
    expect(b.peerId).toBe(damagedPeerId)
    const broken = (await readdir(damaged)).filter(f => f.startsWith('db.broken-'))
    expect(broken).toHaveLength(1)
    expect((await stat(join(damaged, broken[0] as string, damagedTable))).size).toBe(100)
    expect((await stat(join(damaged, 'selfplay', 'hex8_2p', 'games.jsonl'))).size).toBeGreaterThan(0)
    await expect.poll(async () => await docHas(b, first.peerId), { timeout: 20_000 }).toBe(true)
    expect(await b.stop()).toBe(0)
    // and the next plain start is a normal one
    const again = await startNodeProcess(damaged, ['--swarm-key', keyFile])
    nodes.push(again)
    expect(again.peerId).toBe(damagedPeerId)
    expect(await again.stop()).toBe(0)
  }, 90_000)

  it('refuses while a node runs on the data dir', async () => {
    const r = await riftmesh(nodeArgs(join(root, 'a'), '--reset-state'))
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^riftmesh node: --reset-state: a node is running with --data-dir \S+\/a; stop it first, or pick another --data-dir\n$/)
    expect((await readdir(join(root, 'a'))).filter(f => f.startsWith('db.broken-'))).toEqual([])
  })
})
