/**
 * An operator's model promotion override on real nodes (issue 25: model promotion overrides are
 * operator authority): two `riftmesh node` processes with one operator id in trust.operators; the
 * real `riftmesh models` CLI as a child process. Without the key, or with a key that is no
 * operator, nothing changes; signed by the operator, the override is every node's best model;
 * `get --json` then `restore` (the upgrade step) writes it back. (A member's own models register
 * without an epoch it held is refused on read: test/unit/state/signed-entries.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { join } from 'node:path'
import { writeFile } from 'node:fs/promises'
import { FAST_TIMINGS, startNodeProcess, type NodeProcess } from '../support/node-process.js'
import { nodesRoot } from '../support/in-process-node.js'
import { cliOperatorKey, expectRefusal, riftmeshCli, type CliResult } from '../support/cli.js'

const QUIET = [...FAST_TIMINGS, '--set', 'jobs.selfplayDispatchIntervalMs=600000', '--set', 'training.readinessIntervalMs=600000']
const POLL = { timeout: 20_000, interval: 100 }

let cleanup: () => Promise<void>
let dir: string
let a: NodeProcess
let b: NodeProcess
let op: { file: string, id: string }
let stranger: { file: string, id: string }


type Models = Record<string, { modelId: string, path: string, ownerNode: string, elo: number, history: string[] }>
const models = async (n: NodeProcess): Promise<Models> => await n.request('modelEntries') as Models
const cli = async (...args: string[]): Promise<CliResult> => await riftmeshCli(...args, '--data-dir', a.dataDir)


beforeAll(async () => {
  let keyFile: string
  ({ dir, keyFile, cleanup } = await nodesRoot('riftmesh-model-override-'))
  op = await cliOperatorKey(join(dir, 'op.key'))
  stranger = await cliOperatorKey(join(dir, 'stranger.key'))
  const root = ['--set', `trust.operators=${op.id}`]
  a = await startNodeProcess(join(dir, 'a'), ['--swarm-key', keyFile, ...QUIET, ...root])
  b = await startNodeProcess(join(dir, 'b'), ['--swarm-key', keyFile, ...QUIET, ...root, '--bootstrap', a.addr])
  await vi.waitFor(async () => expect(((await a.request('nodes')) as unknown[]).length).toBe(2), POLL)
}, 60_000)

afterAll(async () => {
  await Promise.all([a, b].map(async n => await n?.stop('SIGKILL')))
  await cleanup()
})

describe('an operator\'s model promotion override', () => {
  const choice = (id: string, elo?: number): string => JSON.stringify({ modelId: id, path: `models/hex8_2p/${id}.pt`, ownerNode: b.peerId, ...(elo === undefined ? {} : { elo }) })

  it('is refused without an operator key, and with a key that is no operator of this cluster; nothing changes', async () => {
    expectRefusal(await cli('models', 'set', 'hex8_2p', choice('m-1')), /^riftmesh models: a model override needs an operator key: pass --operator-key FILE/)
    expectRefusal(await cli('models', 'set', 'hex8_2p', choice('m-1'), '--operator-key', stranger.file), /^riftmesh models: operator key 12D3KooW\S+ is not an operator of this cluster/)
    expectRefusal(await cli('models', 'set', 'hex9_2p', choice('m-1'), '--operator-key', op.file), /^riftmesh models: modelDraft needs a config key \(e\.g\. hex8_2p\), got "hex9_2p"/)
    expect(await models(a)).toEqual({})
    expect((await cli('models')).stdout.trim()).toBe('models: none promoted yet')
  })

  it('signed by the operator it is every node\'s best model, and the next override keeps the one before in the history', async () => {
    const r = await cli('models', 'set', 'hex8_2p', choice('m-1', 1620), '--operator-key', op.file)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toBe(`hex8_2p: best model is now m-1 (signed by ${op.id})\n`)
    for (const n of [a, b]) await vi.waitFor(async () => expect((await models(n)).hex8_2p).toMatchObject({ modelId: 'm-1', elo: 1620, ownerNode: b.peerId, history: [] }), POLL)
    expect((await cli('models', 'set', 'hex8_2p', choice('m-2'), '--operator-key', op.file)).code).toBe(0)
    await vi.waitFor(async () => expect((await models(b)).hex8_2p).toMatchObject({ modelId: 'm-2', elo: 1620, history: ['m-1'] }), POLL)
    const table = (await cli('models')).stdout
    expect(table).toMatch(/hex8_2p\s+m-2\s+1620\s/)
  })

  it('get --json, then restore writes the best models back (the upgrade step), signed', async () => {
    const saved = join(dir, 'models-before.json')
    await writeFile(saved, (await cli('models', 'get', '--json')).stdout)
    expect((await cli('models', 'set', 'hex8_2p', choice('m-3', 1400), '--operator-key', op.file)).code).toBe(0)
    await vi.waitFor(async () => expect((await models(a)).hex8_2p?.modelId).toBe('m-3'), POLL)
    const r = await cli('models', 'restore', saved, '--operator-key', op.file)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toBe('restored the best model of 1 config(s): hex8_2p\n')
    for (const n of [a, b]) await vi.waitFor(async () => expect((await models(n)).hex8_2p).toMatchObject({ modelId: 'm-2', elo: 1620 }), POLL)
  })
})
