/**
 * The set of Yjs documents that together make the cluster state: `control` (nodes, election,
 * models, settings), `manifests`, and one `jobs/<bucketId>` document per jobs bucket. Splitting
 * by concern bounds each document's size and sync cost and lets job buckets be retired whole.
 */
import { createHash } from 'node:crypto'
import * as Y from 'yjs'
import type { Rng } from '../core/rng.js'
import { ValidationError } from '../core/errors.js'
import { BUCKET_DOC_PREFIX, parseBucketEpoch } from './jobs.js'

export type DocName = 'control' | 'manifests' | `jobs/${string}`
export const FIXED_DOCS: readonly DocName[] = ['control', 'manifests']

/** Origin tag for updates that came from a peer, so listeners can tell them from local writes. */
export const REMOTE_ORIGIN = Symbol('riftmesh.remote')
/** Origin tag for updates replayed from the local store at start. */
export const RESTORE_ORIGIN = Symbol('riftmesh.restore')

export type UpdateOrigin = 'local' | 'remote' | 'restore'

export interface DocUpdate {
  doc: DocName
  /** Yjs update, encoding V2. */
  update: Uint8Array
  origin: UpdateOrigin
}

export function isDocName (name: string): name is DocName {
  if (name === 'control' || name === 'manifests') return true
  return name.startsWith(BUCKET_DOC_PREFIX) && parseBucketEpoch(name.slice(BUCKET_DOC_PREFIX.length)) !== undefined
}

export function bucketDocName (bucketId: string): DocName {
  return `${BUCKET_DOC_PREFIX}${bucketId}`
}

export function bucketIdOfDoc (name: DocName): string | undefined {
  return name.startsWith(BUCKET_DOC_PREFIX) ? name.slice(BUCKET_DOC_PREFIX.length) : undefined
}

/** A copy with object keys sorted at every level, so equal contents give equal JSON text. */
export function sortKeys (value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys)
  if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array)) {
    const out: Record<string, unknown> = {}
    for (const k of Object.keys(value).sort()) out[k] = sortKeys((value as Record<string, unknown>)[k])
    return out
  }
  return value
}

function originOf (origin: unknown): UpdateOrigin {
  if (origin === REMOTE_ORIGIN) return 'remote'
  if (origin === RESTORE_ORIGIN) return 'restore'
  return 'local'
}

export interface DocSetInit {
  /** Most documents held at once (a peer cannot make us open unbounded buckets). @default 4096 */
  maxDocs?: number
}
export const DEFAULT_MAX_DOCS = 4096

/** Owns the Y.Docs, gives each a client id from the injected Rng, and reports every update. */
export class DocSet {
  private readonly docs = new Map<DocName, Y.Doc>()
  private readonly listeners = new Set<(u: DocUpdate) => void>()
  private readonly created = new Set<(name: DocName, doc: Y.Doc) => void>()
  private readonly retired = new Set<string>()
  /** Snapshot digests, dropped when their document changes. */
  private readonly digests = new Map<DocName, Uint8Array>()
  readonly maxDocs: number

  constructor (private readonly rng: Rng, init: DocSetInit = {}) {
    this.maxDocs = init.maxDocs ?? DEFAULT_MAX_DOCS
    if (!Number.isInteger(this.maxDocs) || this.maxDocs < FIXED_DOCS.length) {
      throw new RangeError(`maxDocs must be an integer ≥ ${FIXED_DOCS.length}`)
    }
    for (const name of FIXED_DOCS) this.ensure(name)
  }

  get (name: DocName): Y.Doc | undefined {
    return this.docs.get(name)
  }

  names (): DocName[] {
    return [...this.docs.keys()].sort()
  }

  isRetired (name: DocName): boolean {
    return this.retired.has(name)
  }

  retiredNames (): string[] {
    return [...this.retired].sort()
  }

  /** The document, created when missing. Throws ValidationError for a bad name, a retired one, or past the limit. */
  ensure (name: DocName): Y.Doc {
    const existing = this.docs.get(name)
    if (existing !== undefined) return existing
    this.assertCanCreate(name)
    const doc = new Y.Doc({ gc: true })
    doc.clientID = this.rng.uint32()
    doc.on('updateV2', (update: Uint8Array, origin: unknown) => {
      this.digests.delete(name)
      const event: DocUpdate = { doc: name, update, origin: originOf(origin) }
      for (const l of this.listeners) l(event)
    })
    this.docs.set(name, doc)
    for (const c of this.created) c(name, doc)
    return doc
  }

  /** Throws ValidationError when `name` cannot be created: a bad name, retired, or past the limit. */
  private assertCanCreate (name: DocName): void {
    if (!isDocName(name)) throw new ValidationError('doc', `invalid document name ${JSON.stringify(String(name).slice(0, 80))}`)
    if (this.retired.has(name)) throw new ValidationError('doc', `document ${name} is retired`)
    if (this.docs.size >= this.maxDocs) throw new ValidationError('doc', `document limit ${this.maxDocs} reached`)
  }

  /** Drop a document for good: later updates for it are refused. */
  retire (name: DocName): void {
    if (FIXED_DOCS.includes(name)) throw new RangeError(`${name} cannot be retired`)
    this.digests.delete(name)
    const doc = this.docs.get(name)
    this.docs.delete(name)
    this.retired.add(name)
    doc?.destroy()
  }

  /** Mark names retired without having held them (restored from the local store). */
  markRetired (names: Iterable<string>): void {
    for (const n of names) {
      if (isDocName(n) && !FIXED_DOCS.includes(n)) {
        this.retired.add(n)
        const doc = this.docs.get(n)
        this.docs.delete(n)
        doc?.destroy()
      }
    }
  }

  onUpdate (listener: (u: DocUpdate) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  onCreate (listener: (name: DocName, doc: Y.Doc) => void): () => void {
    this.created.add(listener)
    return () => this.created.delete(listener)
  }

  /** Apply a V2 update with the given origin. Throws ValidationError when the bytes do not decode. */
  apply (name: DocName, update: Uint8Array, origin: typeof REMOTE_ORIGIN | typeof RESTORE_ORIGIN): void {
    // Decode the whole update before touching any document: Yjs integrates the structs of a
    // truncated update and only then fails on its delete set, and `ensure` would leave an empty
    // document behind for a name that arrived with garbage.
    if (!this.docs.has(name)) this.assertCanCreate(name)
    try {
      Y.decodeUpdateV2(update)
    } catch (err) {
      throw new ValidationError('doc', `update for ${name} does not decode`, { cause: err })
    }
    const doc = this.ensure(name)
    try {
      Y.applyUpdateV2(doc, update, origin)
    } catch (err) {
      throw new ValidationError('doc', `update for ${name} does not apply`, { cause: err })
    }
  }

  /**
   * First 16 bytes of sha256 over the document's snapshot (state vector and delete set):
   * equal digests mean equal documents, which a state vector alone cannot tell (a delete does
   * not move it). Cached until the document changes.
   */
  digest (name: DocName): Uint8Array {
    let d = this.digests.get(name)
    if (d === undefined) {
      const snap = Y.encodeSnapshotV2(Y.snapshot(this.ensure(name)))
      d = new Uint8Array(createHash('sha256').update(snap).digest().subarray(0, 16))
      this.digests.set(name, d)
    }
    return d
  }

  stateVector (name: DocName): Uint8Array {
    return Y.encodeStateVector(this.ensure(name))
  }

  /** What `name` has that a replica with state vector `sv` lacks (V2); everything when sv is omitted. */
  diff (name: DocName, sv?: Uint8Array): Uint8Array {
    return Y.encodeStateAsUpdateV2(this.ensure(name), sv)
  }

  /** The documents' contents as JSON (for tests, the REPL and convergence checks). */
  toJSON (): Record<string, unknown> {
    const out: Record<string, unknown> = {}
    for (const name of this.names()) {
      const doc = this.docs.get(name) as Y.Doc
      const maps: Record<string, unknown> = {}
      for (const key of [...doc.share.keys()].sort()) maps[key] = sortKeys(doc.getMap(key).toJSON())
      out[name] = maps
    }
    return out
  }

  destroy (): void {
    for (const doc of this.docs.values()) doc.destroy()
    this.docs.clear()
    this.listeners.clear()
    this.created.clear()
  }
}
