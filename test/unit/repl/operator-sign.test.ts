/**
 * Signing with an operator key from the CLI or REPL: the draft a node answers is checked against
 * the change asked for before anything is signed, and the key file is read as libp2p writes it.
 */
import { describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { stat, writeFile } from 'node:fs/promises'
import { draftMismatch, signedSettingChange } from '../../../src/repl/operator-sign.js'
import { loadOperatorKey, operatorKeyPath, writeOperatorKey } from '../../../src/repl/operator-key.js'
import { seededSigner, verifyEntry } from '../../../src/state/entry-sig.js'
import { registerKey } from '../../../src/state/registers.js'
import { tempDir } from '../../helpers.js'

const op = seededSigner('operator-sign-test')
const draft = (over: Record<string, unknown> = {}, key = registerKey('selfplayPaused', op.id)): unknown =>
  ({ key, entry: { v: 1, name: 'selfplayPaused', writer: op.id, version: 4, value: true, ...over } })

describe('draftMismatch', () => {
  const table: Array<{ name: string, draft: unknown, wrong: string | null }> = [
    { name: 'the change asked for', draft: draft(), wrong: null },
    { name: 'another value', draft: draft({ value: false }), wrong: 'another value' },
    { name: 'another setting', draft: draft({ name: 'jobCommands' }), wrong: 'another setting or writer' },
    { name: 'another writer', draft: draft({ writer: 'someone' }), wrong: 'another setting or writer' },
    { name: 'another key', draft: draft({}, 'jobCommands@x'), wrong: 'key jobCommands@x' },
    { name: 'no version', draft: draft({ version: 'x' }), wrong: 'no version' },
    { name: 'nothing', draft: null, wrong: 'no draft' }
  ]
  for (const t of table) it(t.name, () => expect(draftMismatch(t.draft, 'selfplayPaused', true, op.id)).toBe(t.wrong))

  it('a record value matches whatever the order of its keys', () => {
    expect(draftMismatch(draft({ value: { b: 1, a: 2 } }), 'selfplayPaused', { a: 2, b: 1 }, op.id)).toBeNull()
  })
})

describe('signedSettingChange', () => {
  it('signs the draft here and sends the signed entry; a draft of another change is never signed', async () => {
    const sent: Array<[string, Record<string, unknown> | undefined]> = []
    const honest = async (opName: string, args?: Record<string, unknown>): Promise<unknown> => {
      sent.push([opName, args])
      return opName === 'settingDraft' ? { draft: draft(), lost: [], legacy: false } : {}
    }
    expect(await signedSettingChange(honest, op, { name: 'selfplayPaused', value: true, force: false })).toMatchObject({ wasSet: true, legacy: false })
    const [, write] = sent[1] as [string, { key: string, raw: unknown }]
    expect(sent.map(s => s[0])).toEqual(['settingDraft', 'writeSignedSetting'])
    expect(verifyEntry('control', 'settings', write.key, write.raw)).toMatchObject({ ok: true, by: op.id })

    const lying = async (opName: string): Promise<unknown> => (opName === 'settingDraft' ? { draft: draft({ name: 'jobCommands' }) } : {})
    await expect(signedSettingChange(lying, op, { name: 'selfplayPaused', value: true, force: false })).rejects.toThrow(/is not the change asked for \(another setting or writer\); nothing was signed/)
  })
})

describe('operator key files', () => {
  it('writes a 0600 key it can load again, never over an existing file; a file that is no key is refused in one line', async () => {
    const { dir, cleanup } = await tempDir('riftmesh-operator-key-')
    try {
      const file = join(dir, 'sub', 'op.key')
      const id = await writeOperatorKey(file)
      expect((await stat(file)).mode & 0o777).toBe(0o600)
      expect((await loadOperatorKey(file)).id).toBe(id)
      await expect(writeOperatorKey(file)).rejects.toThrow(/already exists/)
      await writeFile(join(dir, 'junk.key'), 'not a key')
      await expect(loadOperatorKey(join(dir, 'junk.key'))).rejects.toThrow(/^operator key .*junk\.key is not an Ed25519 libp2p private key .*; make one with riftmesh keygen --operator FILE$/)
    } finally {
      await cleanup()
    }
  })

  it('takes the flag first, then RIFTMESH_OPERATOR_KEY', () => {
    expect(operatorKeyPath('a.key', { RIFTMESH_OPERATOR_KEY: 'b.key' })).toBe('a.key')
    expect(operatorKeyPath(undefined, { RIFTMESH_OPERATOR_KEY: 'b.key' })).toBe('b.key')
    expect(operatorKeyPath(undefined, {})).toBeUndefined()
  })
})
