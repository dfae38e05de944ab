import { readFile, readdir } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../../', import.meta.url))

/** What a node is made of: built by `composeNode` (src/node/compose.ts) and nowhere else outside src/. */
const COMPOSED = [
  'ClusterState', 'DocStore', 'LocalTables', 'StateManager', 'Replicator', 'HeartbeatService', 'PeerManager', 'ElectionService', 'ElectionObserver',
  'NodeSelector', 'SelfplayScheduler', 'TrainingCoordinator', 'JobWorker', 'JobLeader', 'AdmissionLedger', 'AbTestManager', 'SyncPlanner', 'LoopManager', 'LeaseWatch'
]

async function tsFiles (dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...await tsFiles(p))
    else if (e.name.endsWith('.ts')) out.push(p)
  }
  return out
}

describe('one composition of a node', () => {
  it('the simulator constructs no component of a node itself: it supplies the platform to composeNode, as the binary does', async () => {
    const found: string[] = []
    const pattern = new RegExp(`new (${COMPOSED.join('|')})\\b`, 'g')
    for (const f of await tsFiles(join(root, 'sim'))) {
      for (const m of (await readFile(f, 'utf8')).matchAll(pattern)) found.push(`${relative(root, f)}: ${m[0]}`)
    }
    expect(found).toEqual([])
  })

  it('the simulator, its real mode and the binary build their nodes with the same function', async () => {
    for (const f of ['sim/node/sim-node.ts', 'sim/real/real-node.ts', 'src/node/node.ts']) {
      expect(await readFile(join(root, f), 'utf8'), f).toMatch(/await composeNode\(/)
    }
  })
})
