import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { VirtualClock } from '../../../src/core/clock.js'
import { silentLogger } from '../../../src/core/logger.js'
import { PersistenceError, WriteGuard, persistErrorCode } from '../../../src/store/write-guard.js'
import { FullDiskLevel, openFullDiskLevel } from '../../support/full-disk-level.js'
import { tempDir } from '../../helpers.js'

let dir: string
let cleanup: () => Promise<void>
let raw: FullDiskLevel
let free: number | undefined
let clock: VirtualClock
let guard: WriteGuard

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir())
  raw = await openFullDiskLevel(dir)
  free = 10 * 1024 * 1024
  clock = new VirtualClock(1_000_000)
  guard = new WriteGuard({ db: raw.root, clock, logger: silentLogger(), freeBytes: async () => free }, { reopenMinFreeBytes: 1024 * 1024 })
})
afterEach(async () => {
  await raw.close()
  await cleanup()
})

const put = async (key: string): Promise<void> => await guard.db.put(key, new Uint8Array([1]), { sync: true } as never)
const reason = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p
  } catch (err) {
    expect(err).toBeInstanceOf(PersistenceError)
    return (err as PersistenceError).reason
  }
  return 'resolved'
}

describe('WriteGuard', () => {
  it('passes writes and reads through while the database is writable', async () => {
    await put('a')
    await guard.db.batch([{ type: 'put', key: 'b', value: new Uint8Array([2]) }] as never)
    expect([...(await guard.db.get('a')) ?? []]).toEqual([1])
    expect([...(await guard.db.get('b')) ?? []]).toEqual([2])
    expect(guard.state()).toMatchObject({ writable: true, code: null, failedWrites: 0 })
  })

  it('after a failed write, refuses every write without touching the database until it has room, then reopens it and writes', async () => {
    await put('before')
    raw.full = true
    clock.advance(5_000)
    expect(await reason(put('x'))).toBe('ENOSPC')
    expect(guard.state()).toMatchObject({ writable: false, code: 'ENOSPC', sinceMs: 1_005_000, failedWrites: 1 })
    const calls = raw.writeCalls
    // the disk is still full: refused at once, nothing reaches LevelDB's torn log
    free = 4096
    expect(await reason(put('y'))).toBe('ENOSPC')
    expect(await reason(guard.db.del('before'))).toBe('ENOSPC')
    expect(raw.writeCalls).toBe(calls)
    expect(await guard.recover()).toBe(false)
    // space freed, but LevelDB still fails (say its sticky background error): the reopen fails and it waits
    free = 8 * 1024 * 1024
    expect(await reason(put('z'))).toBe('ENOSPC')
    expect(raw.writeCalls).toBe(calls)
    // the disk takes writes again: the next write reopens the database first, then writes
    raw.full = false
    const opens = raw.opens
    await put('after')
    expect(raw.opens).toBe(opens + 1)
    expect(guard.state()).toMatchObject({ writable: true, code: null, sinceMs: null, failedWrites: 1, reopens: 1 })
    expect([...(await guard.db.get('before')) ?? []]).toEqual([1])
    expect([...(await guard.db.get('after')) ?? []]).toEqual([1])
    expect(await guard.db.get('x')).toBeUndefined()
  })

  it('recover() reopens on its own once there is room, without a write', async () => {
    raw.full = true
    await reason(put('x'))
    raw.full = false
    expect(await guard.recover()).toBe(true)
    expect(guard.state().writable).toBe(true)
    await put('y')
  })

  it('runs writes one at a time, so none is appended behind a write that fails', async () => {
    const order: string[] = []
    raw.full = true
    const first = put('first').then(() => order.push('first ok'), () => order.push('first failed'))
    // issued while the first is in flight: must not reach LevelDB after the failure
    free = 0
    const second = put('second').then(() => order.push('second ok'), () => order.push('second refused'))
    await Promise.all([first, second])
    expect(order).toEqual(['first failed', 'second refused'])
    expect(raw.writeCalls).toBe(1)
  })

  it('refuses a chained batch, which would bypass it', async () => {
    await expect((guard.db.batch as unknown as () => Promise<unknown>)()).rejects.toThrow(/chained batch/)
  })

  const codes: Array<[string, unknown, string]> = [
    ['LevelDB ENOSPC in the cause', Object.assign(new Error('x'), { code: 'LEVEL_IO_ERROR', cause: new Error('IO error: /d/000003.log: No space left on device') }), 'ENOSPC'],
    ['an errno code', Object.assign(new Error('write failed'), { code: 'EROFS' }), 'EROFS'],
    ['a read-only file system in words', new Error('IO error: /d/LOCK: Read-only file system'), 'EROFS'],
    ['a quota', new Error('IO error: Disk quota exceeded'), 'EDQUOT'],
    ['an I/O error', new Error('IO error: /d/000007.ldb: Input/output error'), 'EIO'],
    ['a LevelDB code alone', Object.assign(new Error('corrupted'), { code: 'LEVEL_CORRUPTION' }), 'LEVEL_CORRUPTION'],
    ['a PersistenceError', new PersistenceError('ENOSPC', 'refused'), 'ENOSPC'],
    ['anything else', 'boom', 'UNKNOWN']
  ]
  for (const [name, err, code] of codes) {
    it(`names the cause of a failed write: ${name} → ${code}`, () => {
      expect(persistErrorCode(err)).toBe(code)
    })
  }
})
