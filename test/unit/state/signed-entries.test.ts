/**
 * Signed entries and who may write what (issue 25): every reader checks the signature of every
 * entry against the writer its key names, operator authority for cluster settings and the trust
 * log, epoch certificates for leader-only registers, and refuses what a revoked peer signed.
 * Each refusal is counted under its reason. The states here are real ClusterStates exchanging
 * real Yjs updates; the hostile writes go straight into a Y.Doc, as a member would.
 */
import { describe, expect, it } from 'vitest'
import { seededSigner, signEntry, verifyEntry } from '../../../src/state/entry-sig.js'
import { certKey } from '../../../src/state/certificates.js'
import type { ClusterState } from '../../../src/state/cluster-state.js'
import type { ModelEntry } from '../../../src/state/schema.js'
import { hostileWrite, makeState, nodeId, sampleNodeInfo, signedAs, syncAll, syncInto } from '../../helpers.js'

const OP_A = seededSigner('operator-a')
const OP_B = seededSigner('operator-b')


function model (config: 'hex8_2p', writerEpoch: number, owner: string): ModelEntry {
  return { v: 1, config, modelId: `m-${writerEpoch}`, path: 'models/m.pt', ownerNode: owner, elo: 1500, promotedAt: 1, epoch: writerEpoch, history: [] }
}

describe('signatures', () => {
  it('binds a signature to document, map and key: the same signed value under another key fails', () => {
    const v = { v: 1, x: 1 }
    const raw = signEntry(OP_A, 'control', 'settings', 'a@x', v)
    expect(verifyEntry('control', 'settings', 'a@x', raw)).toMatchObject({ ok: true, by: OP_A.id })
    expect(verifyEntry('control', 'settings', 'b@x', raw)).toEqual({ ok: false, reason: 'bad-signature' })
    expect(verifyEntry('manifests', 'settings', 'a@x', raw)).toEqual({ ok: false, reason: 'bad-signature' })
    expect(verifyEntry('control', 'settings', 'a@x', { ...raw, x: 2 })).toEqual({ ok: false, reason: 'bad-signature' })
    expect(verifyEntry('control', 'settings', 'a@x', v)).toEqual({ ok: false, reason: 'unsigned' })
    expect(verifyEntry('control', 'settings', 'a@x', { ...raw, sig: { by: 'notapeerid', s: raw.sig.s } })).toEqual({ ok: false, reason: 'bad-signature' })
  })

  it('takes a signature already verified in the process only for the same entry stored byte for byte: a changed value under a verified signature still fails, and the same value in another key order is checked again and passes', () => {
    const v = { v: 1, a: 'x', b: [1, 2] }
    const raw = signEntry(OP_A, 'control', 'settings', 'c@x', v)
    expect(verifyEntry('control', 'settings', 'c@x', raw)).toMatchObject({ ok: true })
    // a second time: a hit
    expect(verifyEntry('control', 'settings', 'c@x', { ...raw })).toMatchObject({ ok: true, value: v, by: OP_A.id })
    expect(verifyEntry('control', 'settings', 'c@x', { ...raw, b: [1, 3] })).toEqual({ ok: false, reason: 'bad-signature' })
    expect(verifyEntry('control', 'settings', 'c@x', { ...raw, b: [1, 2, 3] })).toEqual({ ok: false, reason: 'bad-signature' })
    expect(verifyEntry('control', 'settings', 'c@x', { sig: raw.sig, b: [1, 2], a: 'x', v: 1 })).toMatchObject({ ok: true, by: OP_A.id })
    expect(verifyEntry('control', 'settings', 'c@x', { sig: raw.sig, b: [1, 2], a: 'y', v: 1 })).toEqual({ ok: false, reason: 'bad-signature' })
  })

  it('refuses, and counts, an entry holding a value JSON cannot encode (a BigInt, which Yjs carries) instead of throwing on every read', () => {
    const [victim, reader] = [makeState(1), makeState(2)]
    victim.setNodeInfo(sampleNodeInfo(nodeId(1)))
    syncInto(victim, reader)
    const honest = reader.node(nodeId(1))
    const stored = victim.docs.ensure('control').getMap('nodes').get(nodeId(1)) as Record<string, unknown>
    expect(verifyEntry('control', 'nodes', nodeId(1), { ...stored, startedAt: 1n })).toEqual({ ok: false, reason: 'bad-signature' })
    hostileWrite(reader, 'control', d => d.getMap('nodes').set(nodeId(1), { ...stored, startedAt: 1n }))
    expect(reader.node(nodeId(1))).toEqual(honest)
    expect(reader.nodes()).toHaveLength(1)
    expect(reader.stats.snapshot()).toMatchObject({ 'nodes:bad-signature': 1 })
  })

  it('skips a NodeInfo another member wrote under a node\'s key, signed by itself or with the victim\'s signature on changed contents, and keeps the node\'s own', () => {
    const [victim, reader] = [makeState(1), makeState(2)]
    victim.setNodeInfo(sampleNodeInfo(nodeId(1)))
    syncInto(victim, reader)
    const honest = reader.node(nodeId(1))
    expect(honest?.host).toBe('host-a')
    const key = nodeId(1)
    hostileWrite(reader, 'control', d => d.getMap('nodes').set(key, signedAs(nodeId(9), 'control', 'nodes', key, sampleNodeInfo(nodeId(1), { host: 'evil' }))))
    expect(reader.node(nodeId(1))).toEqual(honest)
    const stored = victim.docs.ensure('control').getMap('nodes').get(key) as Record<string, unknown>
    hostileWrite(reader, 'control', d => d.getMap('nodes').set(key, { ...stored, host: 'evil' }))
    expect(reader.node(nodeId(1))).toEqual(honest)
    expect(reader.stats.snapshot()).toEqual({ 'nodes:wrong-signer': 1, 'nodes:bad-signature': 1, 'nodes:overwrote-signed-entry': 2 })
  })

  it('ignores grants written in voters\' names, keeping the voter\'s own grant, which the voter writes back', async () => {
    const [voter, reader] = [makeState(1), makeState(2)]
    voter.setGrant({ v: 1, voter: nodeId(1), candidate: nodeId(1), epoch: 3, round: 1, leaseMs: 4_000 })
    syncInto(voter, reader)
    for (const v of [1, 3, 4]) {
      const key = `grant/${nodeId(v)}`
      hostileWrite(reader, 'control', d => d.getMap('election').set(key, signedAs(nodeId(9), 'control', 'election', key, { v: 1, voter: nodeId(v), candidate: nodeId(9), epoch: 99, round: 1, leaseMs: 4_000 })))
    }
    expect(reader.grants()).toEqual([{ v: 1, voter: nodeId(1), candidate: nodeId(1), epoch: 3, round: 1, leaseMs: 4_000 }])
    expect(reader.stats.snapshot()).toEqual({ 'election:wrong-signer': 3, 'election:overwrote-signed-entry': 1 })
    // the voter itself writes its grant back over the forgery (another node's kept copy may be older)
    const key = `grant/${nodeId(1)}`
    const own = voter.docs.ensure('control').getMap('election').get(key)
    hostileWrite(voter, 'control', d => d.getMap('election').set(key, signedAs(nodeId(9), 'control', 'election', key, { v: 1, voter: nodeId(1), candidate: nodeId(9), epoch: 99, round: 1, leaseMs: 4_000 })))
    voter.grants()
    await Promise.resolve()
    expect(voter.docs.ensure('control').getMap('election').get(key)).toEqual(own)
    expect(reader.docs.ensure('control').getMap('election').get(key)).not.toEqual(own)
  })
})

describe('operator authority', () => {
  it('without operator keys any member may change settings but jobCommands; with them, only an operator\'s signed setting counts', () => {
    const [legacy, legacyReader] = [makeState(1), makeState(2)]
    legacy.setSetting('curriculumWeights', { hex8_2p: 2 })
    expect(legacy.setting('curriculumWeights')).toEqual({ hex8_2p: 2 })
    // jobCommands runs programs on every node: no member's, not even the writer's own view
    legacy.setSetting('jobCommands', { selfplay: ['/tmp/evil.sh'] })
    syncInto(legacy, legacyReader)
    for (const s of [legacy, legacyReader]) expect(s.setting('jobCommands')).toBeUndefined()
    expect(legacyReader.stats.snapshot()).toEqual({ 'settings:not-operator': 1 })
    expect(legacyReader.setting('curriculumWeights')).toEqual({ hex8_2p: 2 })

    const [node, reader] = [makeState(1, 1, { operators: [OP_A.id] }), makeState(2, 2, { operators: [OP_A.id] })]
    node.setSetting('jobCommands', { selfplay: ['/tmp/evil.sh'] })
    syncInto(node, reader)
    expect(reader.setting('jobCommands')).toBeUndefined()
    expect(reader.stats.snapshot()).toEqual({ 'settings:not-operator': 1 })
    const { key, entry } = reader.settingDraft('curriculumWeights', { hex8_2p: 3 }, OP_A.id)
    reader.writeSigned('settings', key, signEntry(OP_A, 'control', 'settings', key, entry))
    syncInto(reader, node)
    expect(node.setting('curriculumWeights')).toEqual({ hex8_2p: 3 })
    // a node cannot store a setting it signed itself as if an operator had
    const own = reader.settingDraft('voters', [nodeId(2)], nodeId(2))
    expect(() => reader.writeSigned('settings', own.key, reader.signAsSelf('control', 'settings', own.key, own.entry))).toThrow(/refused: not-operator/)
  })

  it('keeps an operator\'s setting that a member deletes in effect, and puts it back', async () => {
    const s = makeState(1, 1, { operators: [OP_A.id] })
    const { key, entry } = s.settingDraft('curriculumWeights', { hex8_2p: 4 }, OP_A.id)
    const raw = signEntry(OP_A, 'control', 'settings', key, entry)
    s.writeSigned('settings', key, raw)
    expect(s.setting('curriculumWeights')).toEqual({ hex8_2p: 4 })
    hostileWrite(s, 'control', d => d.getMap('settings').delete(key))
    expect(s.docs.ensure('control').getMap('settings').has(key)).toBe(false)
    expect(s.setting('curriculumWeights')).toEqual({ hex8_2p: 4 })
    expect(s.stats.snapshot()).toEqual({ 'settings:deleted-signed-entry': 1 })
    // a deleted operator entry is put back by the nodes that held it, so the others get it too
    await Promise.resolve()
    expect(s.docs.ensure('control').getMap('settings').get(key)).toEqual(raw)
    expect(s.setting('curriculumWeights')).toEqual({ hex8_2p: 4 })
  })

  it('rotates operator keys: after A adds B and B removes A, what A signs no longer counts', () => {
    const s = makeState(1, 1, { operators: [OP_A.id] })
    const add = s.signTrustEntry(OP_A, { action: 'add-operator', target: OP_B.id, at: 1, reason: null })
    s.writeSigned('trust', add.key, add.raw)
    const remove = s.signTrustEntry(OP_B, { action: 'remove-operator', target: OP_A.id, at: 2, reason: null })
    s.writeSigned('trust', remove.key, remove.raw)
    expect([...s.trust().operators]).toEqual([OP_B.id])
    const byA = s.settingDraft('curriculumWeights', { hex8_2p: 5 }, OP_A.id)
    expect(() => s.writeSigned('settings', byA.key, signEntry(OP_A, 'control', 'settings', byA.key, byA.entry))).toThrow(/not-operator/)
    // one A signed before its removal stops counting too
    const later = makeState(2, 2, { operators: [OP_A.id] })
    const early = later.settingDraft('curriculumWeights', { hex8_2p: 6 }, OP_A.id)
    later.writeSigned('settings', early.key, signEntry(OP_A, 'control', 'settings', early.key, early.entry))
    expect(later.setting('curriculumWeights')).toEqual({ hex8_2p: 6 })
    syncInto(s, later)
    expect(later.setting('curriculumWeights')).toBeUndefined()
    // and a trust entry A signs after its removal changes nothing
    const again = later.signTrustEntry(OP_A, { action: 'add-operator', target: OP_A.id, at: 3, reason: null })
    expect(() => later.writeSigned('trust', again.key, again.raw)).toThrow(/not-operator/)
  })

  it('ignores every entry a revoked peer signs', () => {
    const [peer, reader] = [makeState(3, 3, { operators: [OP_A.id] }), makeState(2, 2, { operators: [OP_A.id] })]
    peer.setNodeInfo(sampleNodeInfo(nodeId(3)))
    syncInto(peer, reader)
    expect(reader.node(nodeId(3))).toBeDefined()
    const revoke = reader.signTrustEntry(OP_A, { action: 'revoke', target: nodeId(3), at: 1, reason: 'laptop lost' })
    reader.writeSigned('trust', revoke.key, revoke.raw)
    expect(reader.isRevoked(nodeId(3))).toBe(true)
    expect(reader.node(nodeId(3))).toBeUndefined()
    expect(reader.stats.snapshot()).toMatchObject({ 'nodes:revoked': 1 })
  })
})

describe('leader-only entries', () => {
  const VOTERS = [nodeId(1), nodeId(2), nodeId(3)]

  it('accepts a model register from the leader of its epoch (certificate of a majority of grants) and no one else\'s', () => {
    const states = [1, 2, 3, 4].map(n => makeState(n, n, { operators: [OP_A.id], voters: VOTERS }))
    const [v1, v2, , member] = states as [ClusterState, ClusterState, ClusterState, ClusterState]
    for (const v of [v1, v2]) v.setGrant({ v: 1, voter: v.selfId, candidate: nodeId(1), epoch: 5, round: 1, leaseMs: 4_000 })
    syncAll(states)
    expect(v1.writeEpochCertificate(5)).toBe(true)
    expect(v1.writeEpochCertificate(5)).toBe(false) // once per epoch
    v1.setModel(model('hex8_2p', 5, nodeId(1)))
    member.setModel(model('hex8_2p', 5, nodeId(4))) // a later version, but no certificate for epoch 5
    syncAll(states)
    for (const s of states) expect(s.model('hex8_2p')?.ownerNode).toBe(nodeId(1))
    expect(v2.stats.snapshot()).toMatchObject({ 'models:no-epoch-authority': 1 })
    // a certificate the member writes for itself with the voters' grants for node 1 proves nothing
    const key = certKey(5, nodeId(4))
    const grants = [...v2.docs.ensure('control').getMap('election').values()]
    hostileWrite(v2, 'control', d => d.getMap('certs').set(key, signedAs(nodeId(4), 'control', 'certs', key, { v: 1, leader: nodeId(4), epoch: 5, grants })))
    expect(v2.heldEpoch(nodeId(4), 5)).toBe(false)
    expect(v2.heldEpoch(nodeId(1), 5)).toBe(true)
  })

  it('counts a dispatch for another node only under an epoch its dispatcher held, and a verdict only from the job\'s dispatcher, the leader of its epoch, or an operator', () => {
    const [leader, worker] = [makeState(1, 1, { operators: [OP_A.id], voters: VOTERS }), makeState(2, 2, { operators: [OP_A.id], voters: VOTERS })]
    // a dispatch for another node counts only under an epoch its dispatcher held
    const early = leader.dispatchJob({ type: 'selfplay', config: 'hex8_2p', engineMode: 'random', spec: {}, assignedNode: nodeId(2), dispatchEpoch: 1, attempt: 0, previousJobId: null })
    syncInto(leader, worker)
    expect(worker.job(early.jobId)).toBeUndefined()
    expect(worker.stats.snapshot()).toEqual({ 'jobs.dispatch:no-epoch-authority': 1 })
    for (const s of [leader, worker]) s.setGrant({ v: 1, voter: s.selfId, candidate: nodeId(1), epoch: 1, round: 1, leaseMs: 4_000 })
    syncAll([leader, worker])
    leader.writeEpochCertificate(1)
    syncInto(leader, worker)
    expect(worker.job(early.jobId)?.state).toBe('PENDING')
    const d = leader.dispatchJob({ type: 'selfplay', config: 'hex8_2p', engineMode: 'random', spec: {}, assignedNode: nodeId(2), dispatchEpoch: 1, attempt: 0, previousJobId: null })
    syncInto(leader, worker)
    worker.addVerdict({ jobId: d.jobId, verdict: 'FAILED', epoch: 1, reason: 'forged' })
    syncInto(worker, leader)
    expect(leader.job(d.jobId)?.state).toBe('PENDING')
    expect(leader.stats.snapshot()).toMatchObject({ 'jobs.verdicts:no-epoch-authority': 1 })
    leader.addVerdict({ jobId: d.jobId, verdict: 'CANCELLED', epoch: 1, reason: 'by its dispatcher' })
    expect(leader.job(d.jobId)?.state).toBe('CANCELLED')
  })
})
