/**
 * Two real nodes started with different operator keys (trust.operators): each applies the trust
 * log from its own root, so a setting one accepts the other ignores — silently, before this. Now
 * each one's heartbeats carry its root's digest and both say so: a warning in the log (once) and
 * first in `riftmesh status` (the real CLI).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { join } from 'node:path'
import { FAST_TIMINGS, startNodeProcess, type NodeProcess } from '../support/node-process.js'
import { nodesRoot } from '../support/in-process-node.js'
import { riftmeshCli } from '../support/cli.js'
import { testOperator } from '../support/operator.js'

let cleanup: () => Promise<void>
let a: NodeProcess
let b: NodeProcess

beforeAll(async () => {
  let dir: string
  let keyFile: string
  ({ dir, keyFile, cleanup } = await nodesRoot('riftmesh-trust-root-'))
  const op = await testOperator(dir)
  a = await startNodeProcess(join(dir, 'a'), ['--swarm-key', keyFile, ...FAST_TIMINGS, ...op.args])
  b = await startNodeProcess(join(dir, 'b'), ['--swarm-key', keyFile, ...FAST_TIMINGS, '--bootstrap', a.addr]) // no trust.operators
}, 60_000)

afterAll(async () => {
  await Promise.all([a, b].map(async n => await n?.stop('SIGKILL')))
  await cleanup()
})

describe('nodes started with different operator keys', () => {
  it('each names the other in its trust report, its log (once) and first in status', async () => {
    await vi.waitFor(async () => {
      expect((await a.request('trust') as { otherRoots: string[] }).otherRoots).toEqual([b.peerId])
      expect((await b.request('trust') as { otherRoots: string[] }).otherRoots).toEqual([a.peerId])
    }, { timeout: 20_000, interval: 200 })
    const status = await riftmeshCli('status', '--data-dir', a.dataDir)
    expect(status.code).toBe(0)
    expect(status.stdout).toMatch(/^WARNING 1 node\(s\) were started with other operator keys \(trust\.operators\) than\s+this one: 12D3KooW/)
    const logged = a.stderr().split('\n').filter(l => l.includes(`${b.peerId} was started with another trust root`))
    expect(logged).toHaveLength(1)
  })
})
