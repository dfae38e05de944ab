import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { REMOTE_ORIGIN, type DocName } from '../../../src/state/docs.js'
import { formatBucketId, formatJobId } from '../../../src/state/jobs.js'
import { makeState, nodeId, sampleNodeInfo, signedAs } from '../../helpers.js'

/** A hostile or buggy peer: writes raw values into a doc of the same name, bypassing ClusterState. */
let nextClient = 900_000
function rawUpdate (write: (doc: Y.Doc) => void): Uint8Array {
  const doc = new Y.Doc()
  doc.clientID = nextClient++
  write(doc)
  return Y.encodeStateAsUpdateV2(doc)
}

const peer = nodeId(7)
const good = sampleNodeInfo(peer)

describe('validation of entries read from the document', () => {
  const cases: Array<{ name: string, doc: DocName, map: string, key: string, value: unknown }> = [
    { name: 'wrong type', doc: 'control', map: 'nodes', key: nodeId(8), value: { ...sampleNodeInfo(nodeId(8)), hardware: { ...good.hardware, cpuCount: '16' } } },
    { name: 'missing field', doc: 'control', map: 'nodes', key: nodeId(9), value: (({ host, ...rest }) => rest)(sampleNodeInfo(nodeId(9))) },
    { name: 'huge string', doc: 'control', map: 'nodes', key: nodeId(10), value: sampleNodeInfo(nodeId(10), { host: 'x'.repeat(2_000_000) }) },
    { name: 'unknown field', doc: 'control', map: 'nodes', key: nodeId(11), value: { ...sampleNodeInfo(nodeId(11)), evil: true } },
    { name: 'key not the owner', doc: 'control', map: 'nodes', key: nodeId(12), value: sampleNodeInfo(nodeId(13)) },
    { name: 'not an object', doc: 'control', map: 'nodes', key: nodeId(14), value: 'hello' },
    { name: 'NaN-ish number', doc: 'control', map: 'nodes', key: nodeId(15), value: sampleNodeInfo(nodeId(15), { startedAt: -5 }) },
    { name: 'election key of the wrong kind', doc: 'control', map: 'election', key: `grant/${peer}`, value: { v: 1, nodeId: peer, epoch: 1, round: 0, sentAt: 0, renounced: false } },
    { name: 'unknown election key', doc: 'control', map: 'election', key: 'boss', value: { v: 1, nodeId: peer, epoch: 99, round: 0, sentAt: 0, renounced: false } },
    { name: 'setting without a writer in its key', doc: 'control', map: 'settings', key: 'voters', value: { v: 1, name: 'voters', writer: peer, version: 1, value: [] } },
    { name: 'setting with a nested object too deep', doc: 'control', map: 'settings', key: `x@${peer}`, value: { v: 1, name: 'x', writer: peer, version: 1, value: { a: { b: { c: 1 } } } } },
    { name: 'model for another config than its key', doc: 'control', map: 'models', key: `hex8_2p@${peer}`, value: { v: 1, name: 'hex8_2p', writer: peer, version: 1, value: { v: 1, config: 'hexagonal_2p', modelId: 'm', path: 'p', ownerNode: peer, elo: 1, promotedAt: 1, epoch: 1, history: [] } } },
    { name: 'manifest with a bad hash', doc: 'manifests', map: 'manifests', key: peer, value: { v: 1, nodeId: peer, generatedAt: 1, totalFiles: 1, totalBytes: 1, summary: {}, files: { 'selfplay/a.jsonl': { size: 1, mtimeMs: 1, sha256: 'nothex', kind: 'selfplay', config: null, gameCount: 1 } }, truncated: false } }
  ]

  it('skips and counts each malformed entry once while valid entries are still read', () => {
    const s = makeState(1)
    s.setNodeInfo(sampleNodeInfo(nodeId(1)))
    s.docs.apply('control', rawUpdate(d => d.getMap('nodes').set(peer, signedAs(peer, 'control', 'nodes', peer, good))), REMOTE_ORIGIN)
    for (const c of cases) {
      // signed by the peer, so what is checked is the entry itself (a string cannot carry a signature)
      const value = typeof c.value === 'object' && c.value !== null ? signedAs(peer, c.doc, c.map, c.key, c.value) : c.value
      s.docs.apply(c.doc, rawUpdate(d => d.getMap(c.map).set(c.key, value)), REMOTE_ORIGIN)
    }
    // read everything twice: counts must not grow on the second read
    for (let i = 0; i < 2; i++) {
      expect(s.nodes().map(n => n.nodeId).sort()).toEqual([nodeId(1), peer].sort())
      expect(s.candidacies()).toEqual([])
      expect(s.grants()).toEqual([])
      expect(s.maxKnownEpoch()).toBe(0)
      expect(s.settings().size).toBe(0)
      expect(s.models().size).toBe(0)
      expect(s.manifests()).toEqual([])
    }
    expect(s.stats.total).toBe(cases.length)
    expect(s.stats.snapshot()).toMatchObject({ 'nodes:schema': 5, 'nodes:unsigned': 1, 'nodes:key': 1, 'election:key': 2, 'settings:key': 1, 'settings:schema': 1, 'models:key': 1, 'manifests:schema': 1 })
  })

  it('counts a replaced invalid value again, and reads a corrected one', () => {
    const s = makeState(1)
    s.docs.apply('control', rawUpdate(d => d.getMap('nodes').set(peer, { bad: 1 })), REMOTE_ORIGIN)
    expect(s.nodes()).toEqual([])
    expect(s.stats.total).toBe(1)
    s.docs.apply('control', rawUpdate(d => { d.clientID = 1_000_001; d.getMap('nodes').set(peer, { bad: 2 }) }), REMOTE_ORIGIN)
    s.nodes()
    expect(s.stats.total).toBe(2)
  })

  it('ignores job entries that do not belong to their bucket and status from a node the job is not assigned to', () => {
    const s = makeState(1)
    const bucketId = formatBucketId(1, peer, 'abc')
    const jobId = formatJobId(bucketId, 1)
    const dispatch = { v: 1, jobId, type: 'selfplay', config: 'hex8_2p', engineMode: 'random', spec: {}, assignedNode: nodeId(3), dispatchEpoch: 1, dispatchedBy: peer, createdAt: 1, attempt: 0, previousJobId: null }
    const doc = `jobs/${bucketId}` as const
    const other = formatJobId(formatBucketId(1, peer, 'zzz'), 1)
    s.docs.apply(doc, rawUpdate(d => {
      d.getMap('meta').set('meta', signedAs(peer, doc, 'meta', 'meta', { v: 1, bucketId, dispatcher: peer, epoch: 1, sealed: false, jobCount: 1 }))
      d.getMap('dispatch').set(jobId, signedAs(peer, doc, 'dispatch', jobId, dispatch))
      d.getMap('dispatch').set(other, signedAs(peer, doc, 'dispatch', other, { ...dispatch, jobId: other }))
      d.getMap('status').set(jobId, signedAs(nodeId(4), doc, 'status', jobId, { v: 1, jobId, node: nodeId(4), state: 'COMPLETE', pid: 1, startedAt: 1, heartbeatAt: 1, endedAt: 2, exitCode: 0, error: null, outputs: [], engineMode: null }))
    }), REMOTE_ORIGIN)
    const jobs = s.jobs()
    expect(jobs.map(j => j.jobId)).toEqual([jobId])
    expect(jobs[0]!.state).toBe('PENDING')
    expect(s.stats.snapshot()['jobs.dispatch:key']).toBe(1)
  })

  it('refuses updates that do not decode, for unknown document names, and past the document limit', () => {
    const s = makeState(1, 1, { maxDocs: 3 })
    expect(() => s.docs.apply('control', new Uint8Array([1, 2, 3, 250, 251]), REMOTE_ORIGIN)).toThrow(/does not decode/)
    expect(() => s.docs.apply('secrets' as DocName, new Uint8Array(), REMOTE_ORIGIN)).toThrow(/invalid document name/)
    s.docs.apply(`jobs/${formatBucketId(1, peer, 'a')}`, rawUpdate(() => {}), REMOTE_ORIGIN)
    expect(() => s.docs.apply(`jobs/${formatBucketId(1, peer, 'b')}`, rawUpdate(() => {}), REMOTE_ORIGIN)).toThrow(/limit/)
    expect(s.nodes()).toEqual([])
  })
})
