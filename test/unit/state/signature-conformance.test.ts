/**
 * protocols/STATE.md "Signatures and authority" is enough to write entries an honest node
 * accepts: this file implements the signed form from that section alone — its own base58btc, peer
 * id, canonical JSON and message, with node:crypto for Ed25519, importing nothing of
 * src/state/entry-sig.ts — and checks (1) its message bytes equal riftmesh's for awkward values,
 * (2) a real ClusterState accepts an entry it signed for itself, and a cluster setting it signed
 * as an operator named in the trust root, and (3) refuses the same entries changed or under
 * another key.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { createHash, createPrivateKey, createPublicKey, sign } from 'node:crypto'
import { entryMessage } from '../../../src/state/entry-sig.js'
import { REMOTE_ORIGIN, type DocName } from '../../../src/state/docs.js'
import type { ClusterState } from '../../../src/state/cluster-state.js'
import { makeState } from '../../helpers.js'

// ---- an independent implementation, from protocols/STATE.md ----

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
function base58btc (bytes: Uint8Array): string {
  let n = 0n
  for (const b of bytes) n = n * 256n + BigInt(b)
  let out = ''
  while (n > 0n) { out = B58[Number(n % 58n)]! + out; n /= 58n }
  for (const b of bytes) { if (b !== 0) break; out = '1' + out }
  return out
}

interface Key { id: string, sign: (m: Uint8Array) => Uint8Array }
function keyFromSeed (label: string): Key {
  const seed = createHash('sha256').update(`conformance/${label}`).digest()
  const priv = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' })
  const raw = createPublicKey(priv).export({ format: 'der', type: 'spki' }).subarray(12) // the 32-byte public key
  // identity multihash (0x00, length 36) of the protobuf PublicKey { Type: Ed25519 (1), Data: raw }
  const id = base58btc(Buffer.concat([Buffer.from([0x00, 0x24, 0x08, 0x01, 0x12, 0x20]), raw]))
  return { id, sign: m => new Uint8Array(sign(null, m, priv)) }
}

const isIndex = (k: string): boolean => /^(0|[1-9][0-9]*)$/.test(k) && Number(k) < 2 ** 32 - 1
function canonical (v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v)
    const ix = keys.filter(isIndex).sort((a, b) => Number(a) - Number(b))
    const rest = keys.filter(k => !isIndex(k)).sort() // UTF-16 code units
    return `{${[...ix, ...rest].map(k => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`
  }
  return JSON.stringify(v) // strings, numbers (Number::toString), booleans, null
}
const message = (doc: string, map: string, key: string, value: unknown): Uint8Array =>
  new TextEncoder().encode(`riftmesh-entry/1\n${doc}\n${map}\n${key}\n${canonical(value)}`)
function signed (k: Key, doc: string, map: string, key: string, value: Record<string, unknown>): Record<string, unknown> {
  return { ...value, sig: { by: k.id, s: Buffer.from(k.sign(message(doc, map, key, value))).toString('base64') } }
}

// ---- checks against riftmesh ----

function put (state: ClusterState, doc: DocName, map: string, key: string, raw: unknown): void {
  const d = new Y.Doc()
  Y.applyUpdateV2(d, Y.encodeStateAsUpdateV2(state.docs.ensure(doc)))
  const sv = Y.encodeStateVector(d)
  d.getMap(map).set(key, raw)
  state.docs.apply(doc, Y.encodeStateAsUpdateV2(d, sv), REMOTE_ORIGIN)
}

describe('an independent implementation of the signed form (protocols/STATE.md)', () => {
  it('derives the same peer id libp2p does, and builds the same message bytes for awkward values', async () => {
    const { peerIdFromString } = await import('@libp2p/peer-id')
    const k = keyFromSeed('a')
    expect(k.id).toMatch(/^12D3KooW/)
    expect(peerIdFromString(k.id).publicKey?.type).toBe('Ed25519')
    const values: unknown[] = [
      { v: 1, b: 2, a: [3, { z: 1, y: null }], é: 'ü\u0001\n"\\', '10': 1, '9': 2, '01': 3, x: -0, big: 1e21, f: 0.1 + 0.2, t: true },
      { lone: '\ud800', emoji: '😀', tab: '\t\b\f\r', '4294967295': 1, '4294967294': 2 },
      [1, 'two', { c: 3, B: 4, a: 5 }]
    ]
    for (const v of values) expect(Buffer.from(message('jobs/e1-a-b', 'status', 'k/1', v)).toString()).toBe(Buffer.from(entryMessage('jobs/e1-a-b', 'status', 'k/1', v)).toString())
  })

  it('a node accepts an entry the independent writer signed about itself, and refuses it changed or under another key', () => {
    const k = keyFromSeed('node')
    const reader = makeState(1)
    const cand = { v: 1, nodeId: k.id, epoch: 3, round: 1, sentAt: 1_000, renounced: false }
    put(reader, 'control', 'election', `cand/${k.id}`, signed(k, 'control', 'election', `cand/${k.id}`, cand))
    expect(reader.candidacies()).toEqual([cand])
    expect(reader.stats.snapshot()).toEqual({})

    const other = makeState(2)
    put(other, 'control', 'election', `cand/${k.id}`, { ...signed(k, 'control', 'election', `cand/${k.id}`, cand), epoch: 4 })
    put(other, 'control', 'election', `cand/${keyFromSeed('x').id}`, signed(k, 'control', 'election', `cand/${k.id}`, cand))
    expect(other.candidacies()).toEqual([])
    expect(Object.values(other.stats.snapshot()).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(2)
  })

  it('a node started with an operator id in its trust root takes a cluster setting the independent operator signed, and refuses one by a non-operator', () => {
    const op = keyFromSeed('operator')
    const member = keyFromSeed('member')
    const reader = makeState(1, 1, { operators: [op.id] })
    const setting = (k: Key, value: Record<string, number>): Record<string, unknown> =>
      ({ v: 1, name: 'staticPriority', writer: k.id, version: 1, value })
    put(reader, 'control', 'settings', `staticPriority@${member.id}`, signed(member, 'control', 'settings', `staticPriority@${member.id}`, setting(member, { hex8_2p: 9 })))
    expect(reader.setting('staticPriority')).toBeUndefined()
    expect(reader.stats.snapshot()).toMatchObject({ 'settings:not-operator': 1 })
    put(reader, 'control', 'settings', `staticPriority@${op.id}`, signed(op, 'control', 'settings', `staticPriority@${op.id}`, setting(op, { hex8_2p: 7 })))
    expect(reader.setting('staticPriority')).toEqual({ hex8_2p: 7 })
  })
})
