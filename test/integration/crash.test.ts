import { seededSigner } from '../../src/state/entry-sig.js'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { SystemClock } from '../../src/core/clock.js'
import { silentLogger } from '../../src/core/logger.js'
import { SeededRng } from '../../src/core/rng.js'
import { ClusterState } from '../../src/state/cluster-state.js'
import { DocStore } from '../../src/store/doc-store.js'
import { openLevel } from '../../src/store/level.js'
import { LocalTables } from '../../src/store/tables.js'
import { tempDir } from '../helpers.js'

const here = dirname(fileURLToPath(import.meta.url))
const writer = join(here, '..', '..', 'dist', 'test', 'fixtures', 'crash-writer.js')

/** Run the writer until it has reported `killAfter` persisted updates, then SIGKILL it. */
async function runAndKill (dir: string, killAfter: number): Promise<{ reported: number[], tablesOk: boolean }> {
  const child = spawn(process.execPath, [writer, dir], { stdio: ['ignore', 'pipe', 'pipe'] })
  const reported: number[] = []
  let tablesOk = false
  let buf = ''
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const exited = new Promise<NodeJS.Signals | number | null>(resolve => child.on('exit', (code, sig) => resolve(sig ?? code)))
  const deadline = setTimeout(() => child.kill('SIGKILL'), 30_000)
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString()
    let nl
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl)
      buf = buf.slice(nl + 1)
      if (line === 'tables ok') tablesOk = true
      const m = /^persisted (\d+)$/.exec(line)
      if (m !== null) {
        reported.push(Number(m[1]))
        if (reported.length === killAfter) child.kill('SIGKILL')
      }
    }
  })
  const how = await exited
  clearTimeout(deadline)
  expect(how, `writer ended by ${String(how)} instead of SIGKILL; stderr: ${stderr}`).toBe('SIGKILL')
  return { reported, tablesOk }
}

describe('crash safety of the document store', () => {
  it('restores every update the killed writer reported as persisted, and the local tables', async () => {
    const { dir, cleanup } = await tempDir()
    try {
      // kill at an arbitrary point well into the run (several compactions will have happened)
      const killAfter = 300 + Math.floor(Math.random() * 400)
      const { reported, tablesOk } = await runAndKill(dir, killAfter)
      expect(tablesOk).toBe(true)
      expect(reported.length).toBeGreaterThanOrEqual(killAfter)

      const db = await openLevel(dir)
      const logger = silentLogger()
      const state = new ClusterState({ clock: new SystemClock(), logger, rng: new SeededRng(1), signer: seededSigner('restorer') }, {})
      const store = new DocStore({ db, state, clock: new SystemClock(), logger })
      const report = await store.start()
      expect(report.corrupt).toBe(0)
      const settings = state.settings()
      const jobs = new Set(state.jobs().map(j => j.dispatch.spec.i))
      const missing = reported.filter(i => (i % 10 === 0 ? !jobs.has(i) : settings.get(`k${i}`) !== i))
      expect(missing).toEqual([])

      const tables = new LocalTables(db, logger)
      expect(await tables.peerCache.get('peerA')).toMatchObject({ reputation: 0.7 })
      expect(await tables.promise()).toEqual({ epoch: 7, candidate: 'peerA', grantedAtMs: 5 })
      expect(await tables.state.get('role')).toBe('follower')
      expect(await tables.config.get('clusterEpoch')).toBe(3)
      expect(await tables.metricsHistory.entries()).toHaveLength(1)
      expect(await tables.abTestGamesOf('ab1')).toHaveLength(1)
      await store.stop()
      await db.close()
    } finally {
      await cleanup()
    }
  })
})
