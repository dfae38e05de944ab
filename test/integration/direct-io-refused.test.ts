/**
 * Direct writes on a file system that refuses O_DIRECT. ext4 and tmpfs (here) both take it, so
 * the partial is written on a ramfs, which answers EINVAL to an O_DIRECT open. The ramfs is
 * mounted in a mount namespace of its own (`unshare -rm`, no privileges needed), so the code
 * runs in a child process — the compiled PartialFile, not a copy of it — and reports what it saw.
 */
import { spawnSync } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { tempDir } from '../helpers.js'

/** A compiled module's URL (npm install builds dist/). */
const dist = (rel: string): string => new URL(`../../dist/src/${rel}`, import.meta.url).href

/** Whether this machine lets us mount a ramfs in a mount namespace of our own. */
const canMountRamfs = ((): boolean => {
  const r = spawnSync('unshare', ['-rm', 'sh', '-c', 'd=$(mktemp -d) || exit 1; mount -t ramfs none "$d"; r=$?; umount "$d" 2>/dev/null; rmdir "$d"; exit $r'], { stdio: 'ignore' })
  return r.status === 0
})()

/** Runs in the namespace, with its ramfs at argv[2]; prints one JSON line. */
const CHILD = `
import { closeSync, constants, openSync, readFileSync } from 'node:fs'
import { createHash, randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { DirSyncer, PartialFile } from '${dist('transfer/partial-file.js')}'
import { loadFsSync } from '${dist('transfer/fs-sync.js')}'
import { silentLogger } from '${dist('core/logger.js')}'

const dir = process.argv[2]
const out = {}
try {
  closeSync(openSync(join(dir, 'probe'), constants.O_WRONLY | constants.O_CREAT | constants.O_DIRECT, 0o644))
  out.probe = 'accepted'
} catch (err) {
  out.probe = err.code
}
const native = loadFsSync()
if (!('alignedBuffer' in native)) throw new Error('the native addon is not built: ' + native.why)
const direct = { alignedBuffer: native.alignedBuffer }
const log = silentLogger()
const content = randomBytes(3 * 1024 * 1024 + 4321)
const sha = createHash('sha256').update(content).digest('hex')

/** Write \`content\` to \`name\` through PartialFile in pieces of \`piece\` bytes; what it saw. */
async function put (name, piece) {
  const p = await PartialFile.open(join(dir, name), 'models/' + name, undefined, log, undefined, direct)
  const seen = { direct: p.writesDirect, refused: direct.refused ?? null }
  for (let off = 0; off < content.length; off += piece) await p.append(content.subarray(off, off + piece))
  seen.sha = (await p.commit(sha, 'peer', new DirSyncer(log))).sha256 === sha
  seen.bytes = readFileSync(join(dir, name)).equals(content)
  return seen
}
const a = await put('a.bin', 700_000)
const b = await put('b.bin', content.length)
Object.assign(out, { firstDirect: a.direct, refused: a.refused, firstSha: a.sha, firstBytes: a.bytes, secondDirect: b.direct, secondSha: b.sha, secondBytes: b.bytes })
process.stdout.write(JSON.stringify(out) + '\\n')
`

describe('direct writes where the file system refuses O_DIRECT', () => {
  let dir: string
  let cleanup: () => Promise<void>
  beforeEach(async () => ({ dir, cleanup } = await tempDir('riftmesh-ramfs-')))
  afterEach(async () => await cleanup())

  it.skipIf(!canMountRamfs)('falls back to the page cache at open, says why, writes the file whole, and does not try again', async () => {
    const script = join(dir, 'child.mjs')
    await writeFile(script, CHILD)
    const mountPoint = join(dir, 'ramfs')
    const r = spawnSync('unshare', ['-rm', 'sh', '-c', 'mkdir "$1" && mount -t ramfs none "$1" && exec "$2" "$3" "$1"', 'sh', mountPoint, process.execPath, script], { encoding: 'utf8', timeout: 30_000 })
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    const seen = JSON.parse(r.stdout.trim()) as Record<string, unknown>
    // the premise: this file system answers EINVAL to O_DIRECT
    expect(seen.probe).toBe('EINVAL')
    expect(seen).toMatchObject({
      firstDirect: false,
      refused: expect.stringMatching(/O_DIRECT refused at open \(EINVAL\)/),
      firstSha: true,
      firstBytes: true,
      secondDirect: false,
      secondSha: true,
      secondBytes: true
    })
  })
})
