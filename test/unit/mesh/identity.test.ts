import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { INCARNATION_FILE_NAME, IncarnationError, bumpIncarnation, readIncarnation } from '../../../src/mesh/incarnation.js'
import { IDENTITY_FILE_NAME, earlierNodeState, loadOrCreateIdentity } from '../../../src/mesh/keys.js'
import { tempDir } from '../../helpers.js'

let dir: string
let cleanup: () => Promise<void>
beforeEach(async () => { ({ dir, cleanup } = await tempDir()) })
afterEach(async () => { await cleanup() })

describe('incarnation', () => {
  it('counts up from 1 at each start of one peer id, durably, and from 1 again for another peer id', async () => {
    expect(await readIncarnation(dir)).toBeUndefined()
    expect(await bumpIncarnation(dir, 'peerA')).toBe(1)
    expect(await bumpIncarnation(dir, 'peerA')).toBe(2)
    expect(await bumpIncarnation(dir, 'peerA')).toBe(3)
    expect(JSON.parse(await readFile(join(dir, INCARNATION_FILE_NAME), 'utf8'))).toEqual({ v: 1, peerId: 'peerA', incarnation: 3 })
    expect(await bumpIncarnation(dir, 'peerB')).toBe(1)
  })

  const bad: Array<[string, string]> = [['not JSON', '{"v":1,'], ['a negative number', '{"v":1,"peerId":"p","incarnation":-1}'], ['another shape', '[1,2]']]
  for (const [name, text] of bad) {
    it(`refuses a record that is ${name}, saying how to get past it`, async () => {
      await writeFile(join(dir, INCARNATION_FILE_NAME), text)
      await expect(bumpIncarnation(dir, 'p')).rejects.toThrow(IncarnationError)
      await expect(bumpIncarnation(dir, 'p')).rejects.toThrow(/remove it to count from 1 again/)
    })
  }

  it('says a start cannot be recorded when the data dir cannot be written', async () => {
    await expect(bumpIncarnation(join(dir, 'missing', 'dir'), 'p')).rejects.toThrow(/cannot record this start in .*incarnation\.json/)
  })
})

describe('identity key', () => {
  it('is created in a fresh data dir and loaded again after', async () => {
    const a = await loadOrCreateIdentity(join(dir, IDENTITY_FILE_NAME))
    const b = await loadOrCreateIdentity(join(dir, IDENTITY_FILE_NAME))
    expect(a.created).toBe(true)
    expect(b.created).toBe(false)
    expect(peerIdFromPrivateKey(b.key).toString()).toBe(peerIdFromPrivateKey(a.key).toString())
  })

  it('is not silently replaced when missing from a data dir that holds the earlier node\'s state; --new-identity makes a new one', async () => {
    const path = join(dir, IDENTITY_FILE_NAME)
    const first = peerIdFromPrivateKey((await loadOrCreateIdentity(path)).key).toString()
    await bumpIncarnation(dir, first)
    await rm(path)
    expect(await earlierNodeState(dir)).toBe(`incarnation.json of peer ${first}`)
    await expect(loadOrCreateIdentity(path)).rejects.toThrow(`identity key ${path} is missing, but the data dir holds the state of the node it belonged to (incarnation.json of peer ${first})`)
    await expect(loadOrCreateIdentity(path)).rejects.toThrow(/start once with --new-identity/)
    const fresh = await loadOrCreateIdentity(path, { newIdentity: true })
    expect(fresh.created).toBe(true)
    expect(peerIdFromPrivateKey(fresh.key).toString()).not.toBe(first)
  })

  it('sees a database from before incarnations as an earlier node\'s state too', async () => {
    await mkdir(join(dir, 'db'))
    await writeFile(join(dir, 'db', 'CURRENT'), 'MANIFEST-000001\n')
    expect(await earlierNodeState(dir)).toBe(`a database in ${join(dir, 'db')}`)
    await expect(loadOrCreateIdentity(join(dir, IDENTITY_FILE_NAME))).rejects.toThrow(/is missing, but the data dir holds the state/)
  })
})
