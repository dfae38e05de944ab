/**
 * Operator keys on a real cluster (issue 25, must-show 3): two `riftmesh node` processes started
 * with one operator id in trust.operators; every change goes through the real `riftmesh` CLI
 * (and the REPL) as a child process. An unsigned change is refused in one line; a change signed
 * by the operator counts on every node; a second operator key is added, the first removed with
 * the second; from then on settings signed by the removed key are refused — by the CLI's node,
 * and by a node given such an entry directly — while the new key's go through.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { join } from 'node:path'
import { execFile } from 'node:child_process'
import { CLI, FAST_TIMINGS, startNodeProcess, type NodeProcess } from '../support/node-process.js'
import { nodesRoot } from '../support/in-process-node.js'
import { cliOperatorKey, expectRefusal, riftmeshCli, riftmeshPiped, type CliResult } from '../support/cli.js'
import { loadOperatorKey } from '../../src/repl/operator-key.js'
import { signEntry } from '../../src/state/entry-sig.js'
import { registerKey } from '../../src/state/registers.js'

const QUIET = [...FAST_TIMINGS, '--set', 'jobs.selfplayDispatchIntervalMs=600000', '--set', 'training.readinessIntervalMs=600000']
const POLL = { timeout: 20_000, interval: 100 }

let cleanup: () => Promise<void>
let dir: string
let a: NodeProcess
let b: NodeProcess
let op1: { file: string, id: string }
let op2: { file: string, id: string }


const settings = async (n: NodeProcess): Promise<Record<string, unknown>> => await n.request('settings') as Record<string, unknown>
const trust = async (n: NodeProcess): Promise<{ operators: string[], revoked: string[], hasOperators: boolean }> =>
  await n.request('trust') as { operators: string[], revoked: string[], hasOperators: boolean }
const cli = async (...args: string[]): Promise<CliResult> => await riftmeshCli(...args, '--data-dir', a.dataDir)


beforeAll(async () => {
  let keyFile: string
  ({ dir, keyFile, cleanup } = await nodesRoot('riftmesh-operator-keys-'))
  op1 = await cliOperatorKey(join(dir, 'op1.key'))
  op2 = await cliOperatorKey(join(dir, 'op2.key'))
  const root = ['--set', `trust.operators=${op1.id}`]
  a = await startNodeProcess(join(dir, 'a'), ['--swarm-key', keyFile, ...QUIET, ...root])
  b = await startNodeProcess(join(dir, 'b'), ['--swarm-key', keyFile, ...QUIET, ...root, '--bootstrap', a.addr])
  await vi.waitFor(async () => expect(((await a.request('nodes')) as unknown[]).length).toBe(2), POLL)
}, 60_000)

afterAll(async () => {
  await Promise.all([a, b].map(async n => await n?.stop('SIGKILL')))
  await cleanup()
})

describe('operator keys against real nodes', () => {
  it('an unsigned change is refused in one line once the cluster has an operator key, and nothing changes', async () => {
    expectRefusal(await cli('settings', 'set', 'selfplayPaused', 'true'), /^riftmesh settings: cluster settings need an operator key: pass --operator-key FILE \(riftmesh keygen --operator\)\n$/)
    expectRefusal(await cli('settings', 'unset', 'selfplayPaused'), /need an operator key/)
    expectRefusal(await cli('operators', 'add', op2.id), /^riftmesh operators: a trust change needs an operator key: pass --operator-key FILE/)
    expect(await settings(a)).toEqual({})
    const status = await cli('status')
    expect(status.stdout).toMatch(/\noperators: 1 \(12D3KooW\S+…\S+\)\nrevoked: none\n$/)
    expect(status.stdout).not.toContain('no operator keys')
    const json = JSON.parse((await cli('status', '--json')).stdout) as { trust: unknown }
    expect(json.trust).toMatchObject({ hasOperators: true, operators: [op1.id], root: [op1.id], revoked: [] })
  })

  it('a change signed by the operator counts on every node, with no warning', async () => {
    const r = await cli('settings', 'set', 'selfplayPaused', 'true', '--operator-key', op1.file)
    expect(r).toMatchObject({ code: 0, stderr: '' })
    expect(JSON.parse(r.stdout)).toEqual({ name: 'selfplayPaused', value: true })
    const priority = await cli('settings', 'set', 'staticPriority', '{"hex8_2p": 3}', '--operator-key', op1.file)
    expect(priority.code).toBe(0)
    for (const n of [a, b]) await expect.poll(async () => await settings(n), POLL).toEqual({ selfplayPaused: true, staticPriority: { hex8_2p: 3 } })
  })

  it('a key that is not an operator cannot sign a setting', async () => {
    expectRefusal(await cli('settings', 'set', 'selfplayPaused', 'false', '--operator-key', op2.file),
      new RegExp(`operator key ${op2.id} is not an operator of this cluster \\(never added, or removed\\)`))
    expect((await settings(a)).selfplayPaused).toBe(true)
  })

  it('a second operator key is added by the first, and the first is removed by the second', async () => {
    const add = await cli('operators', 'add', op2.id, '--operator-key', op1.file)
    expect(add).toMatchObject({ code: 0, stderr: '' })
    expect(add.stdout).toBe(`added operator ${op2.id}; 2 operator key(s) in effect\n`)
    for (const n of [a, b]) await expect.poll(async () => (await trust(n)).operators, POLL).toEqual([op1.id, op2.id].sort())
    // the new key re-signs what the old one signed, so nothing lapses when the old one goes
    expect((await cli('settings', 'set', 'staticPriority', '{"hex8_2p": 3}', '--operator-key', op2.file)).code).toBe(0)
    const remove = await riftmeshCli('operators', 'remove', op1.id, '--data-dir', b.dataDir, '--operator-key', op2.file)
    expect(remove).toMatchObject({ code: 0, stderr: '' })
    for (const n of [a, b]) await expect.poll(async () => (await trust(n)).operators, POLL).toEqual([op2.id])
    const list = await cli('operators', 'list')
    expect(list.stdout).toBe(`operators: 1\n  ${op2.id}\nrevoked: none\n`)
    // the last operator key stays
    expectRefusal(await cli('operators', 'remove', op2.id, '--operator-key', op2.file), /is the last operator key.*add another first/)
  })

  it('settings signed by the removed key are then refused, and what it alone signed no longer counts', async () => {
    expectRefusal(await cli('settings', 'set', 'selfplayPaused', 'false', '--operator-key', op1.file),
      new RegExp(`operator key ${op1.id} is not an operator of this cluster`))
    expectRefusal(await cli('revoke', b.peerId, '--operator-key', op1.file), /is not an operator of this cluster/)
    // an entry the removed key signed, handed to a node directly (past the CLI's draft), is refused too
    const signer = await loadOperatorKey(op1.file)
    const key = registerKey('selfplayPaused', op1.id)
    const raw = signEntry(signer, 'control', 'settings', key, { v: 1, name: 'selfplayPaused', writer: op1.id, version: 1_000, value: false })
    await expect(b.request('writeSignedSetting', { key, raw })).rejects.toThrow(/signed setting refused: .*refused: not-operator/)
    // selfplayPaused was signed by op1 only: it lapsed with the key; staticPriority was re-signed by op2
    for (const n of [a, b]) await expect.poll(async () => await settings(n), POLL).toEqual({ staticPriority: { hex8_2p: 3 } })
  })

  it('the new key signs through the environment variable, and through the REPL', async () => {
    const env = await new Promise<CliResult>(resolve => {
      execFile(process.execPath, [CLI, 'settings', 'set', 'selfplayPaused', 'true', '--data-dir', a.dataDir],
        { env: { ...process.env, RIFTMESH_OPERATOR_KEY: op2.file } }, (err, stdout, stderr) => resolve({ code: err === null ? 0 : Number(err.code), stdout, stderr }))
    })
    expect(env).toMatchObject({ code: 0, stderr: '' })
    for (const n of [a, b]) await expect.poll(async () => (await settings(n)).selfplayPaused, POLL).toBe(true)
    const repl = await riftmeshPiped(['repl', '--data-dir', b.dataDir, '--json'], [
      'settings.set("selfplayPaused", false)',
      `settings.useOperatorKey(${JSON.stringify(op1.file)})`,
      'settings.set("selfplayPaused", false)',
      `settings.useOperatorKey(${JSON.stringify(op2.file)})`,
      'settings.set("selfplayPaused", false)'
    ])
    const lines = repl.stdout.trim().split('\n').map(l => JSON.parse(l) as Record<string, unknown>)
    expect(lines[0]?.error).toMatch(/^cluster settings need an operator key: call settings\.useOperatorKey\(file\) first/)
    expect(lines[1]).toEqual({ operator: op1.id })
    expect(lines[2]?.error).toMatch(/is not an operator of this cluster/)
    expect(lines[3]).toEqual({ operator: op2.id })
    expect(lines[4]).toEqual({ name: 'selfplayPaused', value: false, lost: [] })
    for (const n of [a, b]) await expect.poll(async () => (await settings(n)).selfplayPaused, POLL).toBe(false)
  })
})
