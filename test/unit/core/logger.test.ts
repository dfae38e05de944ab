import { describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { Writable } from 'node:stream'
import { VirtualClock } from '../../../src/core/clock.js'
import { createLogger, prettyFor } from '../../../src/core/logger.js'

const run = promisify(execFile)

describe('createLogger', () => {
  it('writes JSON lines at or above the level, with the clock\'s time and a component per child', () => {
    const lines: string[] = []
    const destination = new Writable({ write (chunk: Buffer, _enc, done) { lines.push(chunk.toString()); done() } })
    const log = createLogger({ level: 'warn', clock: new VirtualClock(42), destination })
    log.child({ component: 'sync' }).warn({ peer: 'p1' }, 'slow pull')
    log.info('not shown')
    expect(lines).toHaveLength(1)
    expect(JSON.parse(lines[0] as string)).toMatchObject({ level: 40, time: 42, component: 'sync', peer: 'p1', msg: 'slow pull' })
  })

  it('is pretty only when asked, or on "auto" when the fd is a terminal', () => {
    expect(prettyFor(true, 2)).toBe(true)
    expect(prettyFor(false, 2)).toBe(false)
    expect(prettyFor(undefined, 1)).toBe(false)
    expect(prettyFor('auto', 2)).toBe(process.stderr.isTTY === true)
  })

  it('prints readable lines through pino-pretty to a file descriptor', async () => {
    const logger = new URL('../../../src/core/logger.ts', import.meta.url).pathname
    const code = `import('${logger}').then(m => m.createLogger({ destination: 2, pretty: true }).warn({ peer: 'p1' }, 'hello'))`
    const { stderr } = await run(process.execPath, ['--experimental-strip-types', '--no-warnings', '-e', code], { timeout: 20_000 })
    const plain = stderr.replace(/\x1b\[[0-9;]*m/g, '') // eslint-disable-line no-control-regex
    expect(plain).toMatch(/WARN.*hello/)
    expect(plain).toMatch(/peer: "p1"/)
  })
})
