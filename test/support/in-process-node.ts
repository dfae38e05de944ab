/**
 * A real `RiftNode` in this process: real libp2p on TCP 127.0.0.1, LevelDB and the control socket
 * in a temp data dir, every component the `riftmesh node` command starts — without a child
 * process or a build, so a test can also reach its `ClusterState`. Log lines are kept for
 * assertions. The periodic job dispatchers are slowed down, so the node starts no jobs of its own.
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { resolveConfig } from '../../src/config/load.js'
import { createLogger } from '../../src/core/logger.js'
import { controlRequest } from '../../src/cli/control-client.js'
import { controlSocketPath } from '../../src/repl/control.js'
import { RiftNode } from '../../src/node/node.js'
import { writeSwarmKey } from '../../src/mesh/keys.js'
import { tempDir } from '../helpers.js'

export interface InProcessNode {
  node: RiftNode
  dataDir: string
  /** The first listen address, with /p2p/<peer id>. */
  addr: string
  /** Every log line so far (pino JSON), warn and above unless a level was asked for. */
  logs: () => Array<Record<string, unknown>>
  request: (op: string, args?: Record<string, unknown>) => Promise<unknown>
  stop: () => Promise<void>
}

const QUIET: Record<string, unknown> = {
  'health.heartbeatIntervalMs': 200,
  'health.suspectAfterMs': 700,
  'health.deadAfterMs': 1_500,
  'mesh.antiEntropyIntervalMs': 1_000,
  'jobs.selfplayDispatchIntervalMs': 600_000,
  'training.readinessIntervalMs': 600_000
}

/** Start a node in `dataDir` with the swarm key at `swarmKeyFile`; `flags` are config keys (`node.clusterName` …). */
export async function startInProcessNode (dataDir: string, swarmKeyFile: string, flags: Record<string, unknown> = {}, logLevel: 'warn' | 'info' = 'warn'): Promise<InProcessNode> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const config = resolveConfig({
    env: {},
    flags: { ...QUIET, 'node.dataDir': dataDir, 'node.listen': ['/ip4/127.0.0.1/tcp/0'], 'node.swarmKeyFile': swarmKeyFile, ...flags }
  }, { cwd: dataDir, homeDir: null })
  const lines: Array<Record<string, unknown>> = []
  const logger = createLogger({ level: logLevel, destination: { write: (s: string) => { lines.push(JSON.parse(s) as Record<string, unknown>) } } })
  const node = new RiftNode({ config, logger })
  await node.start()
  const addr = node.listenAddrs().find(a => a.includes('/tcp/')) ?? node.listenAddrs()[0] ?? ''
  return {
    node,
    dataDir,
    addr: addr.includes('/p2p/') ? addr : `${addr}/p2p/${node.peerId}`,
    logs: () => lines,
    request: async (op, args = {}) => await controlRequest(controlSocketPath(dataDir), op, args, { timeoutMs: 10_000 }),
    stop: async () => await node.stop()
  }
}

/** A temp dir for a test's nodes, with a new swarm key in it; `cleanup` removes it. */
export async function nodesRoot (prefix: string): Promise<{ dir: string, keyFile: string, cleanup: () => Promise<void> }> {
  const { dir, cleanup } = await tempDir(prefix)
  const keyFile = join(dir, 'swarm.key')
  await writeSwarmKey(keyFile)
  return { dir, keyFile, cleanup }
}
