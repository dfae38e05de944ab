/**
 * The revocation gater on real libp2p meshes (memory transport): a revoked peer can neither dial
 * in nor be dialled, and RevocationGuard hangs up on one already connected when its revocation
 * arrives. Peers not revoked connect as before.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { silentLogger } from '../../../src/core/logger.js'
import { RevocationGuard, peersToCutOff } from '../../../src/mesh/revocation-gater.js'
import type { Libp2pMesh } from '../../../src/mesh/libp2p-mesh.js'
import { startBareMesh, testSwarmKey } from '../../support/memory-peer.js'

const started: Libp2pMesh[] = []
let next = 0
afterEach(async () => { await Promise.all(started.splice(0).map(async m => await m.stop())) })

async function mesh (swarmKey: Uint8Array, guard?: RevocationGuard): Promise<Libp2pMesh> {
  const m = await startBareMesh({ swarmKey, transport: 'memory', listen: `/memory/revocation-${process.pid}-${next++}`, ...(guard !== undefined ? { connectionGater: guard.gater() } : {}) })
  started.push(m)
  return m
}

/** An honest mesh whose revoked set the test changes, with its guard. */
async function honest (swarmKey: Uint8Array): Promise<{ mesh: Libp2pMesh, guard: RevocationGuard, revoked: Set<string> }> {
  const revoked = new Set<string>()
  let self: Libp2pMesh | undefined
  const guard = new RevocationGuard({
    isRevoked: id => revoked.has(id),
    connectedPeers: () => self?.connectedPeers() ?? [],
    hangUp: async id => await self?.hangUp(id),
    logger: silentLogger()
  })
  self = await mesh(swarmKey, guard)
  return { mesh: self, guard, revoked }
}

describe('peersToCutOff', () => {
  it('picks the connected peers that are revoked', () => {
    expect(peersToCutOff(['A', 'B', 'C'], id => id === 'B' || id === 'D')).toEqual(['B'])
    expect(peersToCutOff([], () => true)).toEqual([])
  })
})

describe('revocation gater on libp2p', () => {
  it('hangs up on a connected peer when it is revoked, and refuses it both ways from then on', async () => {
    const key = testSwarmKey()
    const h = await honest(key)
    const r = await mesh(key)
    const other = await mesh(key)
    await r.dial(h.mesh.listenAddrs())
    await other.dial(h.mesh.listenAddrs())
    await vi.waitFor(() => expect(h.mesh.connectedPeers().sort()).toEqual([r.selfId, other.selfId].sort()), { timeout: 10_000 })
    expect(h.guard.check()).toEqual([])

    h.revoked.add(r.selfId)
    expect(h.guard.check()).toEqual([r.selfId])
    await vi.waitFor(() => expect(h.mesh.connectedPeers()).toEqual([other.selfId]), { timeout: 10_000 })

    await expect(r.dial(h.mesh.listenAddrs())).rejects.toThrow()
    await expect(h.mesh.dial(r.listenAddrs())).rejects.toThrow()
    expect(h.mesh.connectedPeers()).toEqual([other.selfId])

    h.revoked.delete(r.selfId) // reinstated
    await r.dial(h.mesh.listenAddrs())
    await vi.waitFor(() => expect(h.mesh.connectedPeers()).toContain(r.selfId), { timeout: 10_000 })
  })
})
