/**
 * `riftmesh repl` driven through a pseudo-terminal (util-linux `script`) against a real
 * two-node loopback cluster: helpers print tables, tab completion works, a setting changed in
 * the REPL reaches the other node, bad input prints an error while the session and the node go
 * on, and `.exit` leaves with the history written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { controlRequest } from '../../src/cli/control-client.js'
import { Screen } from '../support/screen.js'
import { riftmeshPiped } from '../support/cli.js'
import { writeSwarmKey } from '../../src/mesh/keys.js'
import { tempDir } from '../helpers.js'
import { FAST_ELECTION, CLI, FAST_TIMINGS, startNodeProcess, type NodeProcess } from '../support/node-process.js'

const QUIET = [
  ...FAST_TIMINGS,
  ...FAST_ELECTION,
  '--set', 'jobs.selfplayDispatchIntervalMs=600000', '--set', 'training.readinessIntervalMs=600000'
]
/** Longest wait for one answer on the terminal (a node start included, on a loaded machine). */
const ANSWER_TIMEOUT_MS = 45_000
/** Patience for a test that starts its own nodes. */
const NODE_TEST_TIMEOUT_MS = 150_000

const run = promisify(execFile)

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]|\r/g

let root: string
let cleanup: () => Promise<void>
const running: NodeProcess[] = []
let a: NodeProcess
let b: NodeProcess

/** `riftmesh repl` on a pseudo-terminal: type lines, wait for text (escape codes stripped), see the screen. */
interface Terminal { proc: ChildProcess, type: (s: string) => void, until: (re: RegExp, from?: number) => Promise<string>, mark: () => number, screen: () => Screen, exited: Promise<number | null> }


function openTerminal (args: string[]): Terminal {
  const cmd = [process.execPath, CLI, ...args].map(x => `'${x}'`).join(' ')
  const proc = spawn('script', ['-qfec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TERM: 'xterm', COLUMNS: '200' } })
  let raw = ''
  proc.stdout?.on('data', (d: Buffer) => { raw += d.toString() })
  proc.stderr?.on('data', (d: Buffer) => { raw += d.toString() })
  const text = (): string => raw.replace(ANSI, '')
  return {
    proc,
    type: s => { proc.stdin?.write(s) },
    mark: () => text().length,
    screen: () => new Screen().write(raw),
    until: async (re, from = 0) => {
      await expect.poll(() => text().slice(from), { timeout: ANSWER_TIMEOUT_MS, interval: 50 }).toMatch(re)
      return text().slice(from)
    },
    exited: new Promise(resolve => proc.on('exit', code => resolve(code)))
  }
}

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir('riftmesh-repl-'))
  const keyFile = join(root, 'swarm.key')
  await writeSwarmKey(keyFile)
  a = await startNodeProcess(join(root, 'a'), ['--swarm-key', keyFile, ...QUIET])
  running.push(a)
  b = await startNodeProcess(join(root, 'b'), ['--swarm-key', keyFile, ...QUIET, '--bootstrap', a.addr])
  running.push(b)
}, 60_000)

afterAll(async () => {
  await Promise.all(running.map(async n => await n.stop('SIGTERM')))
  await cleanup()
})

describe('riftmesh repl on a pseudo-terminal', () => {
  it('prints tables, completes names, changes a setting seen by the other node, survives bad input, leaves with .exit', async () => {
    // both nodes in the document, and b's heartbeats reaching a (gossip meshes a little after the document syncs)
    await expect.poll(async () => ((await a.request('nodes')) as Array<{ health: string }>).filter(n => n.health === 'ALIVE').length, { timeout: 20_000 }).toBe(2)
    const t = openTerminal(['repl', '--data-dir', a.dataDir])
    try {
      await t.until(/attached to .*control\.sock; \.help lists the helpers/)
      await t.until(/riftmesh> /)

      // tables: every node with its role and health; the other node among the peers
      let m = t.mark()
      t.type('nodes()\r')
      // (under load a heartbeat may come late: the health column may say SUSPECT for a moment)
      let out = await t.until(new RegExp(`${b.peerId}.*(voter|follower|leader)\\s+(ALIVE|SUSPECT)`), m)
      expect(out).toMatch(/NODE\s+HOST\s+GPU\s+GPUSCORE\s+CPUSCORE\s+ROLE\s+HEALTH\s+LOAD\s+CPU\s+JOBS/)
      expect(out).toContain(a.peerId)
      m = t.mark()
      t.type('peers()\r')
      out = await t.until(new RegExp(`${b.peerId}\\s+(ALIVE|SUSPECT)`), m)
      expect(out).toMatch(/PEER\s+HEALTH\s+SILENT/)
      // the election takes a few rounds after start: the table is asked for once node a knows a
      // leader (under load that came after the tables above, and the row said "-")
      await expect.poll(async () => await a.request('leader'), { timeout: 20_000 }).not.toBeNull()
      m = t.mark()
      t.type('leader()\r')
      out = await t.until(/leaseRemainingMs\s+\S+/, m)
      expect(out).toMatch(new RegExp(`leader\\s+(${a.peerId}|${b.peerId})`))

      // a setting changed here reaches node b
      m = t.mark()
      t.type('settings.set("curriculumWeights", {hex8_2p: 42})\r')
      await t.until(/curriculumWeights = \{"hex8_2p":42\}/, m)
      await expect.poll(async () => ((await b.request('settings')) as Record<string, unknown>).curriculumWeights, { timeout: 15_000 }).toEqual({ hex8_2p: 42 })

      // tab completion of a helper's name
      m = t.mark()
      t.type('settin\t')
      await t.until(/settings/, m)
      t.type('.get("curriculumWeights")\r')
      // (a late result is printed over the prompt: escape codes stripped, the prompt text stays before it)
      await t.until(/(\n|riftmesh> )\{ hex8_2p: 42 \}\n/, m)

      // bad input: each prints one error, the session and the node go on
      m = t.mark()
      t.type('peers(]\r')
      await t.until(/error: SyntaxError/, m)
      t.type('noSuchHelper()\r')
      await t.until(/error: unknown name noSuchHelper/, m)
      t.type('jobs({colour: "red"})\r')
      await t.until(/error: unknown filter key\(s\) colour; usage: jobs/, m)
      t.type('whyNot(42)\r')
      await t.until(/error: argument 1 must be a non-empty string, got 42; usage: whyNot\(config\)/, m)
      t.type('whyNot("hex9_7p")\r')
      await t.until(/error: whyNot needs a config key like hex8_2p/, m)
      t.type('job("no-such-job")\r')
      await t.until(/error: no job no-such-job in the document/, m)
      m = t.mark()
      t.type('whyNot("hex8_2p")\r')
      out = await t.until(/hex8_2p: (scheduled|waiting|not scheduled)/, m)
      expect(a.proc.exitCode).toBeNull()
      expect(await a.request('leader')).not.toBeUndefined()

      m = t.mark()
      t.type('.exit\r')
      expect(await t.exited).toBe(0)
      expect((await stat(join(a.dataDir, 'repl_history'))).size).toBeGreaterThan(0)
    } finally {
      t.proc.kill('SIGKILL')
    }
  })

  it('keeps the session when the node is unreachable, and scripts read JSON lines from a pipe', async () => {
    const r = await riftmeshPiped(['repl', '--socket', join(root, 'nowhere', 'control.sock'), '--json'], ['peers()', '1 + 1'])
    // the script goes on after the failed input, and the command then exits 1; stdout holds only JSON lines
    expect(r.code).toBe(1)
    const lines = r.stdout.trim().split('\n')
    expect(JSON.parse(lines[0] as string)).toMatchObject({ name: 'ControlError', error: expect.stringMatching(/cannot reach/) as unknown })
    expect(JSON.parse(lines[1] as string)).toBe(2)
    expect(r.stderr.split('\n')[0]).toMatch(/^warning: cannot reach .*; helpers fail until a node listens there$/)

    await b.request('setSetting', { name: 'curriculumWeights', value: { hex8_2p: 7 } })
    const piped = spawn(process.execPath, [CLI, 'repl', '--data-dir', b.dataDir, '--json'], { stdio: ['pipe', 'pipe', 'pipe'] })
    let got = ''
    piped.stdout.on('data', (d: Buffer) => { got += d.toString() })
    const done = new Promise<number | null>(resolve => piped.on('exit', code => resolve(code)))
    piped.stdin.end('settings.get("curriculumWeights")\njobs({state: "RUNNING"})\n')
    expect(await done).toBe(0)
    expect(got.trim().split('\n').map(l => JSON.parse(l) as unknown)).toEqual([{ hex8_2p: 7 }, []])
  })

  it('a piped script runs its lines in order, each awaited before the next; .json takes effect where it stands', async () => {
    const r = await riftmeshPiped(['repl', '--data-dir', b.dataDir], [
      'settings.set("curriculumWeights", {hex8_2p: 1})',
      'settings.get("curriculumWeights")',
      'settings.set("curriculumWeights", {hex8_2p: 2})',
      '.json',
      'settings.get("curriculumWeights")',
      'settings.unset("curriculumWeights")',
      'settings.get("curriculumWeights")'
    ])
    expect(r).toMatchObject({ code: 0, stderr: '' })
    expect(r.stdout.trim().split('\n').slice(1)).toEqual([
      'curriculumWeights = {"hex8_2p":1}', '{ hex8_2p: 1 }', 'curriculumWeights = {"hex8_2p":2}', 'output: JSON',
      '{"hex8_2p":2}', '{"name":"curriculumWeights","wasSet":true,"lost":[]}', 'null'
    ])
  })

  it('a piped script with a failed input runs to its end, then exits 1 naming the first failure in one line on stderr', async () => {
    const r = await riftmeshPiped(['repl', '--data-dir', b.dataDir], ['1 + 1', 'noSuchHelper()', 'settings.set("votres", [])', '2 + 2'])
    expect(r.stdout.trim().split('\n').slice(1)).toEqual([
      '2', 'error: unknown name noSuchHelper (.help lists the helpers)', expect.stringMatching(/^error: unknown setting "votres"; did you mean "voters"\?/) as unknown, '4'
    ])
    expect(r.stderr).toBe('riftmesh repl: 2 of 4 input(s) failed; the first, input 2: unknown name noSuchHelper (.help lists the helpers)\n')
    expect(r.code).toBe(1)
  })

  it('riftmesh node --repl with a piped script: runs it, stops the node, exits 1 when an input failed', { timeout: NODE_TEST_TIMEOUT_MS }, async () => {
    const dir = join(root, 'piped-node')
    await mkdir(dir, { mode: 0o700 })
    const node = ['node', '--data-dir', dir, '--listen', '/ip4/127.0.0.1/tcp/0', '--log-level', 'error', '--repl', ...QUIET]
    const ok = await riftmeshPiped(node, ['nodes().then(t => t.data.length)'])
    expect(ok.stdout).toMatch(/\n1\nstopped\n$/)
    expect(ok.code).toBe(0)
    const bad = await riftmeshPiped(node, ['job("no-such-job")', '1 + 1'])
    expect(bad.stdout).toMatch(/\nerror: no job no-such-job in the document\n2\nstopped\n$/)
    expect(bad.stderr).toBe('riftmesh node: 1 of 2 input(s) failed; the first, input 1: no job no-such-job in the document\n')
    expect(bad.code).toBe(1)
  })

  it('riftmesh node --repl stopped by SIGTERM: the node stops, the REPL closes with it, the process exits 0', { timeout: NODE_TEST_TIMEOUT_MS }, async () => {
    const dir = join(root, 'sigterm')
    await mkdir(dir, { mode: 0o700 })
    const child = spawn(process.execPath, [CLI, 'node', '--data-dir', dir, '--listen', '/ip4/127.0.0.1/tcp/0', '--log-level', 'error', '--repl', ...QUIET], { stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => { out += d.toString() })
    const exited = new Promise<number | null>(resolve => child.on('exit', code => resolve(code)))
    try {
      // the REPL's input stays open (nothing more typed): only the signal can end the process
      await expect.poll(() => out, { timeout: ANSWER_TIMEOUT_MS }).toMatch(/attached to .*sigterm\/control\.sock/)
      child.kill('SIGTERM')
      expect(await exited).toBe(0)
      expect(out).toMatch(/\nstopped\n$/)
    } finally {
      child.kill('SIGKILL')
    }
  })

  it('riftmesh node --repl: a log line never lands in the line being typed; prompt and input are drawn again below it', { timeout: NODE_TEST_TIMEOUT_MS }, async () => {
    const dir = join(root, 'logs')
    await mkdir(dir, { mode: 0o700 })
    const t = openTerminal(['node', '--data-dir', dir, '--listen', '/ip4/127.0.0.1/tcp/0', '--log-level', 'warn', '--repl', ...QUIET])
    try {
      const banner = await t.until(/attached to .*logs\/control\.sock/)
      const addr = /listening (\S+)/.exec(banner)?.[1] as string
      const socket = join(dir, 'control.sock')
      // a node that joins and dies, so that forgetting it makes the node log a warning on demand
      const gone = await startNodeProcess(join(root, 'gone'), ['--swarm-key', join(dir, 'swarm.key'), ...QUIET, '--bootstrap', addr], ANSWER_TIMEOUT_MS)
      running.push(gone)
      const health = async (): Promise<string | undefined> => ((await controlRequest(socket, 'nodes')) as Array<{ nodeId: string, health: string }>).find(n => n.nodeId === gone.peerId)?.health
      await expect.poll(health, { timeout: ANSWER_TIMEOUT_MS }).toBe('ALIVE')
      await gone.stop('SIGKILL')
      await expect.poll(health, { timeout: ANSWER_TIMEOUT_MS }).toBe('DEAD')

      await t.until(/riftmesh> $/)
      t.type('nodes(')
      await expect.poll(() => t.screen().lines().at(-1), { timeout: ANSWER_TIMEOUT_MS }).toBe('riftmesh> nodes(')
      const forget = await run(process.execPath, [CLI, 'nodes', 'forget', gone.peerId, '--data-dir', dir], { timeout: ANSWER_TIMEOUT_MS })
      expect(forget.stdout).toMatch(/^forgot /)
      await expect.poll(() => t.screen().lines().join('\n'), { timeout: ANSWER_TIMEOUT_MS }).toMatch(/forgot a dead node/)
      // once the log line is out, the prompt and the half-typed input are back on the last row, cursor at its end
      await expect.poll(() => t.screen().lines().at(-1), { timeout: ANSWER_TIMEOUT_MS }).toBe('riftmesh> nodes(')
      const screen = t.screen()
      const lines = screen.lines()
      expect(lines.find(l => l.includes('forgot a dead node'))).not.toMatch(/riftmesh>/)
      expect(lines.slice(lines.findIndex(l => l.includes('forgot a dead node')), -1).join('\n')).not.toMatch(/riftmesh>|nodes\(/)
      expect(screen.cursor()).toEqual({ row: lines.length - 1, col: 'riftmesh> nodes('.length })
      // and what was typed is still there to finish
      const m = t.mark()
      t.type(')\r')
      await t.until(/NODE\s+HOST/, m)
      t.type('.exit\r')
      expect(await t.exited).toBe(0)
    } finally {
      t.proc.kill('SIGKILL')
    }
  })

  it('riftmesh node --repl runs a node with the REPL in the foreground; leaving the REPL stops the node', async () => {
    const dir = join(root, 'foreground')
    await mkdir(dir, { mode: 0o700 })
    const t = openTerminal(['node', '--data-dir', dir, '--listen', '/ip4/127.0.0.1/tcp/0', '--log-level', 'error', '--repl', ...QUIET])
    try {
      const banner = await t.until(/attached to .*foreground\/control\.sock/)
      const id = /peer-id (\S+)/.exec(banner)?.[1] as string
      expect(id).toMatch(/^12D3KooW/)
      const m = t.mark()
      t.type('nodes()\r')
      await t.until(new RegExp(`${id}\\s+\\S+\\s+none`), m)
      t.type('.exit\r')
      await t.until(/stopped/, m)
      expect(await t.exited).toBe(0)
    } finally {
      t.proc.kill('SIGKILL')
    }
  })
})
