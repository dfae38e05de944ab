/**
 * `riftmesh repl` driven through a pseudo-terminal (util-linux `script`) against a real
 * two-node loopback cluster: helpers print tables, tab completion works, a setting changed in
 * the REPL reaches the other node, bad input prints an error while the session and the node go
 * on, and `.exit` leaves with the history written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { writeSwarmKey } from '../../src/mesh/keys.js'
import { tempDir } from '../helpers.js'
import { FAST_ELECTION, CLI, FAST_TIMINGS, startNodeProcess, type NodeProcess } from '../support/node-process.js'

const QUIET = [
  ...FAST_TIMINGS,
  ...FAST_ELECTION,
  '--set', 'jobs.selfplayDispatchIntervalMs=600000', '--set', 'training.readinessIntervalMs=600000'
]
/** Longest wait for one answer on the terminal. */
const ANSWER_TIMEOUT_MS = 20_000

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]|\r/g

let root: string
let cleanup: () => Promise<void>
const running: NodeProcess[] = []
let a: NodeProcess
let b: NodeProcess

/** `riftmesh repl` on a pseudo-terminal: type lines, wait for text (escape codes stripped). */
interface Terminal { proc: ChildProcess, type: (s: string) => void, until: (re: RegExp, from?: number) => Promise<string>, mark: () => number, exited: Promise<number | null> }

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
    const child = spawn(process.execPath, [CLI, 'repl', '--socket', join(root, 'nowhere', 'control.sock'), '--json'], { stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => { out += d.toString() })
    const exited = new Promise<number | null>(resolve => child.on('exit', code => resolve(code)))
    child.stdin.end('peers()\n1 + 1\n')
    expect(await exited).toBe(0)
    const lines = out.trim().split('\n')
    expect(lines[0]).toMatch(/^warning: cannot reach/)
    expect(JSON.parse(lines[1] as string)).toMatchObject({ name: 'ControlError', error: expect.stringMatching(/cannot reach/) as unknown })
    expect(JSON.parse(lines[2] as string)).toBe(2)

    await b.request('setSetting', { name: 'curriculumWeights', value: { hex8_2p: 7 } })
    const piped = spawn(process.execPath, [CLI, 'repl', '--data-dir', b.dataDir, '--json'], { stdio: ['pipe', 'pipe', 'pipe'] })
    let got = ''
    piped.stdout.on('data', (d: Buffer) => { got += d.toString() })
    const done = new Promise<number | null>(resolve => piped.on('exit', code => resolve(code)))
    piped.stdin.end('settings.get("curriculumWeights")\njobs({state: "RUNNING"})\n')
    expect(await done).toBe(0)
    expect(got.trim().split('\n').map(l => JSON.parse(l) as unknown)).toEqual([{ hex8_2p: 7 }, []])
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
