/**
 * protocols/STATE.md cannot drift from the code: its tables are what scripts/state-doc.ts renders
 * from the zod schemas, and a live node's documents — every entry of every map, after the node
 * has written its NodeInfo, election entries, a manifest, a job with its status and a verdict,
 * settings, a model and a training record — validate against the schema STATE.md names for that
 * map and key (the same STATE_MAPS table the generator renders), with key and value agreeing.
 */
import { seededSigner, verifyEntry } from '../../src/state/entry-sig.js'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Lease } from '../../src/state/schema.js'
import { ROOT, STATE_DOC, STATE_JSON_SCHEMA, STATE_MAPS, docPatternOf, renderStateDoc, schemaOf, type EntryKind } from '../../scripts/state-doc.js'
import { nodesRoot, startInProcessNode, type InProcessNode } from '../support/in-process-node.js'

const POLL = { timeout: 20_000, interval: 100 }
type Docs = Record<string, Record<string, Record<string, unknown>>>

const OPERATOR = seededSigner('state-doc-operator')

describe('protocols/STATE.md', () => {
  it('is what the schemas in src/state/schema.ts render, and so is state.schema.json (else: npm run state-doc)', async () => {
    const current = await readFile(join(ROOT, STATE_DOC), 'utf8')
    const { doc, jsonSchema } = renderStateDoc(current)
    expect(current, `${STATE_DOC} is out of date: run npm run state-doc`).toBe(doc)
    expect(await readFile(join(ROOT, STATE_JSON_SCHEMA), 'utf8'), `${STATE_JSON_SCHEMA} is out of date: run npm run state-doc`).toBe(jsonSchema)
  })

  it('documents every map once, each with at least one kind of key', () => {
    const seen = STATE_MAPS.map(m => `${m.doc} ${m.map}`)
    expect(new Set(seen).size).toBe(seen.length)
    for (const m of STATE_MAPS) expect(m.entries.length, `${m.doc} ${m.map}`).toBeGreaterThan(0)
  })
})

describe('a live node\'s documents, against the schemas STATE.md names', () => {
  let cleanup: (() => Promise<void>) | undefined
  let n: InProcessNode | undefined
  const node = (): InProcessNode => n as InProcessNode

  beforeAll(async () => {
    const root = await nodesRoot('riftmesh-state-doc-')
    cleanup = root.cleanup
    const dataDir = join(root.dir, 'node')
    // one self-play file, so the manifest lists a file with a config
    await mkdir(join(dataDir, 'selfplay', 'square8_2p'), { recursive: true, mode: 0o700 })
    await writeFile(join(dataDir, 'selfplay', 'square8_2p', 'seed.jsonl'), '{"moves":[]}\n')
    // no capabilities: the job dispatched below is refused (a REFUSED status), not run
    n = await startInProcessNode(dataDir, root.keyFile, { 'trust.operators': [OPERATOR.id], 'node.capabilities': [], 'sync.manifestCollectionIntervalMs': 300, 'sync.manifestCollectionTimeoutMs': 300 })
  }, 60_000)

  afterAll(async () => {
    try {
      await n?.stop()
    } finally {
      await cleanup?.()
    }
  }, 60_000)

  it('holds only documented maps and keys, and every entry validates', async () => {
    const state = node().node.state
    const self = node().node.peerId
    // what the node writes by itself: NodeInfo, its candidacy and lease (epoch mode), its manifest
    await expect.poll(() => state.leases().length > 0 && state.manifest(self)?.totalFiles === 1 && state.node(self) !== undefined, POLL).toBe(true)
    const lease = state.leases()[0] as Lease
    // what one node alone does not write: a grant (majority mode needs three voters) …
    state.setGrant({ v: 1, voter: self, candidate: self, epoch: lease.epoch, round: lease.round, leaseMs: lease.leaseMs })
    // … registers of each map …
    state.setSetting('stateDocTest', { weights: [1, 2], on: true })
    state.setSetting('stateDocScalar', 'x')
    state.setModel({ v: 1, config: 'square8_2p', modelId: 'm1', path: 'models/square8_2p/m1.json', ownerNode: self, elo: 1_500, promotedAt: Date.now(), epoch: lease.epoch, history: [] })
    state.setTrainingRecord({ v: 1, config: 'square8_2p', lastDispatchAt: Date.now(), lastJobId: null, dispatchedGames: 1, trainedGames: null, fingerprints: [], epoch: lease.epoch })
    // … and a job: the dispatch (and bucket meta) by the leader, the status by the worker, a verdict
    const job = state.dispatchJob({ type: 'selfplay', config: 'square8_2p', engineMode: null, spec: { games: 1 }, assignedNode: self, dispatchEpoch: lease.epoch, attempt: 0, previousJobId: null })
    await expect.poll(() => state.job(job.jobId)?.status?.state, POLL).toBe('REFUSED')
    state.addVerdict({ jobId: job.jobId, verdict: 'CANCELLED', epoch: lease.epoch, reason: 'state-doc test' })
    // … an epoch certificate (a leader writes one in majority mode) and an operator's trust entry
    const control = state.docs.ensure('control')
    const certKey = `${String(lease.epoch).padStart(12, '0')}/${self}`
    control.transact(() => control.getMap('certs').set(certKey, state.signAsSelf('control', 'certs', certKey, { v: 1, leader: self, epoch: lease.epoch, grants: [control.getMap('election').get(`grant/${self}`) as Record<string, unknown>] })))
    const revoke = state.signTrustEntry(OPERATOR, { action: 'revoke', target: seededSigner('state-doc-revoked').id, at: Date.now(), reason: 'state-doc test' })
    state.writeSigned('trust', revoke.key, revoke.raw)

    const docs = await node().request('doc') as Docs // what an outside reader gets: JSON
    const failures: string[] = []
    const seen = new Set<EntryKind>()
    for (const [docName, maps] of Object.entries(docs)) {
      const pattern = docPatternOf(docName)
      if (pattern === undefined) failures.push(`document ${docName} is not documented`)
      const bucketId = docName.startsWith('jobs/') ? docName.slice('jobs/'.length) : undefined
      for (const [mapName, entries] of Object.entries(maps)) {
        const spec = STATE_MAPS.find(m => m.doc === pattern && m.map === mapName)
        if (spec === undefined) {
          failures.push(`map ${mapName} of ${docName} is not documented in STATE_MAPS`)
          continue
        }
        for (const [key, value] of Object.entries(entries)) {
          const kind = spec.entries.find(e => e.matches(key))
          if (kind === undefined) {
            failures.push(`${docName} ${mapName}: key ${key} matches no documented key pattern`)
            continue
          }
          seen.add(kind)
          // every entry is signed (entry-sig.ts); the schema is of the value without its signature
          const signed = verifyEntry(docName, mapName, key, value)
          if (!signed.ok) { failures.push(`${docName} ${mapName} ${key}: ${signed.reason}`); continue }
          const parsed = schemaOf(kind.schema).safeParse(signed.value)
          if (!parsed.success) failures.push(`${docName} ${mapName} ${key}: not a ${kind.schema}: ${parsed.error.message}`)
          else if (!kind.agrees(key, parsed.data, bucketId)) failures.push(`${docName} ${mapName} ${key}: key and value disagree (${kind.rule})`)
        }
      }
    }
    expect(failures).toEqual([])
    // every documented kind of entry was seen and checked
    const unseen = STATE_MAPS.flatMap(m => m.entries.filter(e => !seen.has(e)).map(e => `${m.doc} ${m.map} ${e.key}`))
    expect(unseen).toEqual([])
    expect(docs.control?.election?.[`lease/${self}`]).toHaveProperty('renewedAt')
  })
})
