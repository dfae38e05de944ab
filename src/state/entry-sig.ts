/**
 * Signed entries. Every value in the replicated documents carries `sig: { by, s }`: `by` is the
 * signer's id — a libp2p Ed25519 peer id string, which embeds the public key, so a signature is
 * checked with nothing but the entry — and `s` the Ed25519 signature (base64) over
 * {@link entryMessage}: a fixed prefix, the document, the map, the key and the value's canonical
 * JSON (keys sorted, `sig` left out). Binding document, map and key means a signed value cannot
 * be replayed under another key. Who may sign which key is decided by the reader (authority.ts).
 */
import { createHash, createPrivateKey, createPublicKey, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto'
import { peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id'
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { sortKeys } from './docs.js'

export const ENTRY_SIG_PREFIX = 'riftmesh-entry/1'
/** Most public keys kept decoded (a peer cannot grow this without bound). */
export const MAX_CACHED_KEYS = 4_096

export interface EntrySig {
  /** The signer's id (an Ed25519 peer id string). */
  by: string
  /** Ed25519 signature over entryMessage, base64. */
  s: string
}

/** Something that signs as one identity: a node's libp2p key, or an operator key. */
export interface EntrySigner {
  readonly id: string
  sign: (message: Uint8Array) => Uint8Array
}

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')

/** A signer for an Ed25519 key given as its 32-byte seed (or libp2p's 64-byte seed‖public raw form). */
export function ed25519Signer (raw: Uint8Array): EntrySigner {
  if (raw.length !== 32 && raw.length !== 64) throw new RangeError(`an Ed25519 private key is 32 or 64 bytes, got ${raw.length}`)
  const seed = raw.subarray(0, 32)
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' })
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' })
  const pub = new Uint8Array(spki.subarray(SPKI_ED25519_PREFIX.length))
  const id = peerIdFromPublicKey(publicKeyFromRaw(pub)).toString()
  return { id, sign: message => new Uint8Array(edSign(null, message, key)) }
}

/** A signer derived from a label (the simulator's and tests' nodes): the same label gives the same key and id. */
export function seededSigner (label: string): EntrySigner {
  return ed25519Signer(new Uint8Array(createHash('sha256').update(`riftmesh-seeded-key/${label}`).digest()))
}

/**
 * `count` derived signers sorted by id, so that the i-th has the i-th smallest id: simulated and
 * test nodes keep the order of their indexes where a rule breaks ties by node id.
 */
export function orderedSeededSigners (label: string, count: number): EntrySigner[] {
  return Array.from({ length: count }, (_, i) => seededSigner(`${label}/${i}`)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}

const keyCache = new Map<string, KeyObject | null>()

/** The Ed25519 public key an id names, or null when the id is not an Ed25519 peer id. Cached. */
export function publicKeyOf (id: string): KeyObject | null {
  const hit = keyCache.get(id)
  if (hit !== undefined) return hit
  let key: KeyObject | null = null
  try {
    const pub = peerIdFromString(id).publicKey
    if (pub?.type === 'Ed25519') key = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, pub.raw]), format: 'der', type: 'spki' })
  } catch {
    key = null // not a peer id: the entry is refused as unsigned-by-a-key
  }
  if (keyCache.size >= MAX_CACHED_KEYS) keyCache.clear()
  keyCache.set(id, key)
  return key
}

/** Whether `id` is an Ed25519 peer id (the only ids that can sign). */
export function isSigningId (id: string): boolean {
  return publicKeyOf(id) !== null
}

const encoder = new TextEncoder()

function messageText (doc: string, map: string, key: string, value: unknown): string {
  return `${ENTRY_SIG_PREFIX}\n${doc}\n${map}\n${key}\n${JSON.stringify(sortKeys(value))}`
}

export function entryMessage (doc: string, map: string, key: string, value: unknown): Uint8Array {
  return encoder.encode(messageText(doc, map, key, value))
}

/**
 * Signatures already verified in this process, each with the entry it was verified on exactly as
 * stored (document, map, key and the stored value's JSON, signature included): the same entry read
 * by another document replica (a simulated node, a restored store) costs no second Ed25519 check
 * and no canonical encoding — only a value byte-identical to the one verified is a hit.
 */
const verified = new Map<string, string>()
/** Most verified signatures remembered. */
export const MAX_VERIFIED_CACHE = 65_536

/** The value with its signature attached, ready to store under (doc, map, key). */
export function signEntry<T extends object> (signer: EntrySigner, doc: string, map: string, key: string, value: T): T & { sig: EntrySig } {
  const s = Buffer.from(signer.sign(entryMessage(doc, map, key, value))).toString('base64')
  return { ...value, sig: { by: signer.id, s } }
}

export type VerifyResult =
  | { ok: true, value: unknown, by: string }
  | { ok: false, reason: 'unsigned' | 'bad-signature' }

/** Checks a stored value's signature; on success returns the value without `sig`, and its signer. */
export function verifyEntry (doc: string, map: string, key: string, raw: unknown): VerifyResult {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { ok: false, reason: 'unsigned' }
  const { sig, ...value } = raw as Record<string, unknown>
  if (sig === null || typeof sig !== 'object') return { ok: false, reason: 'unsigned' }
  const { by, s } = sig as Record<string, unknown>
  if (typeof by !== 'string' || typeof s !== 'string' || s.length > 200) return { ok: false, reason: 'bad-signature' }
  // Stored JSON keeps the writer's key order (Yjs keeps it), so equal text means an equal value,
  // hence an equal canonical message; a few µs cheaper than building the canonical one.
  const json = storedJson(raw)
  // a value JSON cannot hold (a BigInt, which Yjs carries) was never signed: refused, not thrown
  if (json === undefined) return { ok: false, reason: 'bad-signature' }
  const stored = `${doc}\n${map}\n${key}\n${json}`
  const cacheKey = `${by}:${s}`
  if (verified.get(cacheKey) === stored) return { ok: true, value, by }
  const pub = publicKeyOf(by)
  if (pub === null) return { ok: false, reason: 'bad-signature' }
  const signature = Buffer.from(s, 'base64')
  if (signature.length !== 64) return { ok: false, reason: 'bad-signature' }
  if (!edVerify(null, entryMessage(doc, map, key, value), pub, signature)) return { ok: false, reason: 'bad-signature' }
  if (verified.size >= MAX_VERIFIED_CACHE) verified.clear()
  verified.set(cacheKey, stored)
  return { ok: true, value, by }
}

function storedJson (raw: unknown): string | undefined {
  try {
    return JSON.stringify(raw)
  } catch (err) {
    if (err instanceof TypeError) return undefined // BigInt
    throw err
  }
}
