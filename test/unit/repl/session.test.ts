/**
 * The REPL session over in-memory streams and a real control socket: helpers print tables (or
 * JSON lines), and bad input — syntax errors, unknown names, bad arguments, a node gone —
 * prints one error line while the session goes on.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { PassThrough } from 'node:stream'
import { join } from 'node:path'
import { chmod } from 'node:fs/promises'
import { silentLogger } from '../../../src/core/logger.js'
import { ControlError, ControlServer, controlSocketPath } from '../../../src/repl/control.js'
import { attach } from '../../../src/repl/attach.js'
import { startReplSession, type ReplSession } from '../../../src/repl/session.js'
import { tempDir } from '../../helpers.js'

let root: string
let cleanup: () => Promise<void>
let server: ControlServer
let session: ReplSession | undefined
const settings = new Map<string, unknown>()

const handlers = {
  peers: async () => [{ peer: 'peer-a', health: 'ALIVE', silentMs: 120, load: { cpuPercent: 12.5, memoryPercent: 40, diskPercent: 10, gpuPercent: 0, selfplayJobs: 1, trainingJobs: 0 } }],
  settings: async () => Object.fromEntries(settings),
  setSetting: async (a: Record<string, unknown>) => {
    if (a.name === 'voters' && a.force !== true) throw Object.assign(new ControlError('refused: voters = ["x"] would give up split-brain protection: 1 voter(s) is fewer than 3'), { name: 'UnsafeSettingError' })
    settings.set(String(a.name), a.value)
    return { name: a.name, value: a.value, lost: a.force === true ? ['split-brain protection: 1 voter(s) is fewer than 3'] : [] }
  },
  unsetSetting: async (a: Record<string, unknown>) => ({ name: a.name, wasSet: settings.delete(String(a.name)), lost: [] }),
  jobs: async (a: Record<string, unknown>) => [{ jobId: 'j1', type: 'selfplay', config: 'hex8_2p', node: 'peer-a', state: a.state ?? 'RUNNING', attempt: 1 }],
  whyNot: async () => { throw new ControlError('whyNot needs a config key like hex8_2p') },
  electionEvents: async (a: Record<string, unknown>) => [
    { seq: 1, atMs: -9_000, type: 'leader-elected', epoch: 3, node: 'peer-leader-a', detail: 'peer-leader-a (epoch 3)' },
    { seq: 2, atMs: -5_000, type: 'quorum-lost', epoch: 3, node: 'peer-self', detail: '1 of 3 voters alive, 2 needed' }
  ].slice(-Number(a.limit ?? 50)),
  abTests: async () => [{ id: 'ab-1', config: 'hex8_2p', status: 'decided', games: 60, gameBudget: 80, score: 0.983, low: 0.872, high: 0.998, verdict: 'A is stronger' }],
  abStart: async (a: Record<string, unknown>) => { if (a.modelA === a.modelB) throw new ControlError('abStart: model A and model B are the same file'); return { id: 'ab-2', status: 'running' } }
}

beforeEach(async () => {
  ({ dir: root, cleanup } = await tempDir('riftmesh-session-'))
  await chmod(root, 0o700)
  server = new ControlServer(controlSocketPath(root), handlers, silentLogger())
  await server.start()
})

afterEach(async () => {
  session?.server.close()
  await session?.closed
  session = undefined
  await server.stop()
  await cleanup()
})

async function open (json = false): Promise<{ input: PassThrough, text: () => string, until: (re: RegExp) => Promise<string> }> {
  const input = new PassThrough()
  const output = new PassThrough()
  let text = ''
  output.on('data', (d: Buffer) => { text += d.toString() })
  session = await startReplSession({ call: attach(controlSocketPath(root)), input, output, json, target: root, nowMs: () => 0 })
  const until = async (re: RegExp): Promise<string> => {
    await expect.poll(() => text, { timeout: 5_000 }).toMatch(re)
    return text
  }
  return { input, text: () => text, until }
}

describe('REPL session', () => {
  it('prints helper results as tables, in input order', async () => {
    const r = await open()
    r.input.write('peers()\njobs({state: "PENDING"})\n')
    const out = await r.until(/PENDING/)
    expect(out).toMatch(/PEER\s+HEALTH\s+SILENT\s+CPU/)
    expect(out).toMatch(/peer-a\s+ALIVE\s+120ms\s+12\.50/)
    expect(out.indexOf('peer-a  ALIVE')).toBeLessThan(out.indexOf('PENDING'))
  })

  it('keeps going after a syntax error, an unknown name, bad arguments, a refused op and a dead node', async () => {
    const r = await open()
    r.input.write('peers(]\nnoSuchHelper()\njobs({colour: "red"})\npeers(1)\nwhyNot("x")\n')
    await r.until(/whyNot needs a config key/)
    const out = r.text()
    expect(out).toMatch(/error: SyntaxError: /)
    expect(out).toMatch(/error: unknown name noSuchHelper \(\.help lists the helpers\)/)
    expect(out).toMatch(/error: unknown filter key\(s\) colour; usage: jobs\(\{state, node, type, limit\}\)/)
    expect(out).toMatch(/error: expected 0 argument\(s\), got 1; usage: peers\(\)/)
    await server.stop()
    r.input.write('peers()\n')
    await r.until(/error: cannot reach .*control\.sock/)
    await server.start()
    r.input.write('settings.set("answer", 42)\nsettings.get("answer")\n')
    await r.until(/answer = 42\n42\n/)
  })

  it('sets, forces, unsets and describes settings, and says how to force a refused change', async () => {
    const r = await open()
    r.input.write([
      'settings.set("voters", ["x"])', 'settings.set("voters", ["x"], {force: true})', 'settings.set("voters", ["x"], {force: "yes"})',
      'settings.unset("voters")', 'settings.unset("voters")', 'settings.get("voters")', 'settings.get("votres")',
      'settings.describe("voters")', 'settings.describe("votres")'
    ].join('\n') + '\n')
    const out = await r.until(/unknown setting "votres"[\s\S]*unknown setting "votres"/)
    expect(out).toContain('error: refused: voters = ["x"] would give up split-brain protection: 1 voter(s) is fewer than 3; to do it anyway: settings.set(name, value, {force: true})\n')
    expect(out).toContain('voters = x\nforced: gives up split-brain protection: 1 voter(s) is fewer than 3\n')
    expect(out).toContain('error: the last argument is {force: true} or nothing, got { force: \'yes\' }; usage: settings.set(name, value, {force}?)\n')
    expect(out).toContain('voters unset\nvoters was not set\nnull\n')
    expect(out).toContain('error: unknown setting "votres"; did you mean "voters"? (riftmesh settings describe lists every setting)\n')
    expect(out).toMatch(/\nvoters\n {4}who elects the leader: .*\n {4}value: {2}a list of peer ids/)
  })

  it('lists the recent election events, the newest last, and checks its limit', async () => {
    const r = await open()
    r.input.write('electionEvents()\nelectionEvents("x")\nelectionEvents(1)\n')
    const out = await r.until(/usage: electionEvents\(limit\?\)[\s\S]*quorum-lost/)
    expect(out).toMatch(/AT\s+EVENT\s+EPOCH\s+NODE\s+DETAIL/)
    expect(out).toMatch(/9\.0s ago\s+leader-elected\s+3\s+\S+\s+peer-leader-a \(epoch 3\)\n.*5\.0s ago\s+quorum-lost\s+3\s+\S+\s+1 of 3 voters alive, 2 needed/)
    expect(out).toMatch(/error: expected one integer ≥ 1 or none; usage: electionEvents\(limit\?\)/)
    expect(out.slice(out.indexOf('usage: electionEvents'))).not.toContain('leader-elected')
  })

  it('starts and lists A/B tests', async () => {
    const r = await open()
    r.input.write('abStart({config: "hex8_2p", modelA: "m", modelB: "m"})\nabStart({config: "hex8_2p", modelA: "a", modelB: "b"})\nabTests()\n')
    const out = await r.until(/A is stronger/)
    expect(out).toMatch(/error: abStart: model A and model B are the same file/)
    expect(out).toMatch(/id\s+= ab-2|ab-2/)
    expect(out).toMatch(/ab-1\s+hex8_2p\s+decided\s+60\/80\s+98\.3%\s+87\.2%–99\.8%\s+A is stronger/)
  })

  it('.help lists every helper with one line; an unfinished line waits for the next', async () => {
    const r = await open()
    r.input.write('.help\n')
    const help = await r.until(/\.exit/)
    for (const h of ['peers()', 'nodes()', 'leader()', 'electionEvents(limit?)', 'jobs({state, node, type, limit})', 'job(id)', 'manifest(node?)', 'plan()', 'rankings()',
      'whyNot(config)', 'settings.get(name?)', 'settings.set(name, value, {force}?)', 'settings.unset(name, {force}?)', 'settings.describe(name?)', 'dispatch(', 'cancel(id)', 'elo()', 'metrics(', 'doc()', 'abStart(', 'abTests(id?)', 'abCancel(id)']) {
      expect(help).toContain(h)
    }
    r.input.write('settings.set(\n"multi",\n[1, 2])\n')
    await r.until(/multi = 1,2/)
  })

  it('prints one JSON line per result and per error in JSON mode', async () => {
    const r = await open(true)
    r.input.write('jobs()\nbogus\n')
    await r.until(/"error"/)
    const lines = r.text().trim().split('\n').map(l => JSON.parse(l) as unknown)
    expect(lines[0]).toEqual([{ jobId: 'j1', type: 'selfplay', config: 'hex8_2p', node: 'peer-a', state: 'RUNNING', attempt: 1 }])
    expect(lines[1]).toMatchObject({ error: 'unknown name bogus (.help lists the helpers)', name: 'ReferenceError' })
  })

  it('resolves closed once the input ends and every pending helper has printed', async () => {
    const r = await open(true)
    r.input.end('peers()\n')
    await session?.closed
    expect(r.text()).toContain('"peer-a"')
  })
})
