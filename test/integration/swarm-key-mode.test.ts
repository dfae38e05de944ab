/**
 * A node whose swarm key file group or others may read says so at start, in one line naming the
 * file and `chmod 600` (whoever reads the key can join the cluster); a key of mode 0600 is quiet.
 */
import { chmod } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { swarmKeyModeWarning, writeSwarmKey } from '../../src/mesh/keys.js'
import { tempDir } from '../helpers.js'
import { startNodeProcess } from '../support/node-process.js'

describe('swarm key file mode', () => {
  it.each([
    [0o600, null],
    [0o400, null],
    [0o640, 'swarm key /k is open to group (mode 0640): whoever can read it can join this cluster; run chmod 600 /k'],
    [0o604, 'swarm key /k is open to others (mode 0604): whoever can read it can join this cluster; run chmod 600 /k'],
    [0o100644, 'swarm key /k is open to group and others (mode 0644): whoever can read it can join this cluster; run chmod 600 /k'],
    [0o620, 'swarm key /k is open to group (mode 0620): whoever can read it can join this cluster; run chmod 600 /k']
  ])('mode %o warns: %s', (mode, warning) => {
    expect(swarmKeyModeWarning('/k', mode)).toBe(warning)
  })

  it('a node started with a key readable by group and others warns in one line; with mode 0600 it does not', async () => {
    const { dir, cleanup } = await tempDir('riftmesh-key-mode-test-')
    try {
      const key = join(dir, 'cluster.key')
      await writeSwarmKey(key)
      await chmod(key, 0o644)
      const loose = await startNodeProcess(join(dir, 'a'), ['--swarm-key', key])
      expect(await loose.stop()).toBe(0)
      const lines = loose.stderr().split('\n').filter(l => l.includes('chmod 600'))
      expect(lines).toHaveLength(1)
      expect(lines[0]).toContain(`swarm key ${key} is open to group and others (mode 0644): whoever can read it can join this cluster; run chmod 600 ${key}`)
      await chmod(key, 0o600)
      const tight = await startNodeProcess(join(dir, 'b'), ['--swarm-key', key])
      expect(await tight.stop()).toBe(0)
      expect(tight.stderr()).not.toContain('chmod 600')
    } finally {
      await cleanup()
    }
  })
})
