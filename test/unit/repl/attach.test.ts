/**
 * Socket permissions: a node refuses to serve from a directory others can write, and a client
 * refuses a socket whose mode lets group or others in, or that sits in such a directory.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { chmod, mkdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { silentLogger } from '../../../src/core/logger.js'
import { ControlServer, assertPrivateDir, controlSocketPath } from '../../../src/repl/control.js'
import { assertAttachable, attach } from '../../../src/repl/attach.js'
import { tempDir } from '../../helpers.js'

let root: string
let cleanup: () => Promise<void>
let server: ControlServer | undefined

beforeEach(async () => {
  ({ dir: root, cleanup } = await tempDir('riftmesh-attach-'))
})

afterEach(async () => {
  await server?.stop()
  server = undefined
  await cleanup()
})

async function serve (dir: string): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await chmod(dir, 0o700)
  const path = controlSocketPath(dir)
  server = new ControlServer(path, { ping: async () => 'pong' }, silentLogger())
  await server.start()
  return path
}

describe('control socket permissions', () => {
  it('a node makes its socket 0600 and a client in a private dir attaches', async () => {
    const path = await serve(join(root, 'node'))
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    await assertAttachable(path)
    expect(await attach(path)('ping')).toBe('pong')
  })

  it.each([0o777, 0o770, 0o722])('a data dir with mode %s is refused by the node', async mode => {
    const dir = join(root, 'open')
    await mkdir(dir)
    await chmod(dir, mode)
    await expect(assertPrivateDir(dir)).rejects.toThrow(/writable by group or others/)
  })

  it.each([0o666, 0o660, 0o604])('a socket file with mode %s cannot be attached', async mode => {
    const path = await serve(join(root, 'node'))
    await chmod(path, mode)
    await expect(assertAttachable(path)).rejects.toThrow(/refusing .*lets group or others use it/)
    await expect(attach(path)('ping')).rejects.toMatchObject({ name: 'ControlError' })
  })

  it('a 0600 socket in a directory that became world-writable cannot be attached', async () => {
    const dir = join(root, 'node')
    const path = await serve(dir)
    await chmod(dir, 0o777)
    await expect(attach(path)('ping')).rejects.toThrow(/writable by group or others/)
  })

  it('a path that is not a socket, or no file at all, is refused with the reason', async () => {
    const dir = join(root, 'node')
    await serve(dir)
    await expect(assertAttachable(dir)).rejects.toThrow(/is not a socket/)
    await expect(attach(join(dir, 'nothing.sock'))('ping')).rejects.toThrow(/cannot reach .*is a node running/)
  })
})
