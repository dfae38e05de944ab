/**
 * Relays and reachability on real libp2p over loopback TCP: a node whose announced address
 * nobody can dial finds itself private by dial-back, reserves a slot on a member that relays,
 * advertises the relayed address, and a third node reaches it through the relay — a limited
 * connection on which riftmesh's streams still run.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { silentLogger } from '../../../src/core/logger.js'
import { Libp2pMesh } from '../../../src/mesh/libp2p-mesh.js'
import { testSwarmKey } from '../../support/memory-peer.js'

const meshes: Libp2pMesh[] = []
afterEach(async () => { await Promise.all(meshes.splice(0).map(async m => await m.stop())) })

async function node (swarmKey: Uint8Array, announce: string[] = []): Promise<Libp2pMesh> {
  const m = new Libp2pMesh({ logger: silentLogger() }, {
    privateKey: await generateKeyPair('Ed25519'),
    swarmKey,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    bootstrap: [],
    announce,
    relay: { reservations: 1 }
  })
  meshes.push(m)
  await m.start()
  return m
}

const PROTO = '/riftmesh-test/echo/1.0.0'

describe('relays and reachability (loopback TCP)', () => {
  it('a node nobody can dial is found private, reserves on a relay, and is reached through it with streams working', async () => {
    const key = testSwarmKey()
    const relay = await node(key)
    // port 1: nothing listens there, so a dial-back is refused
    const hidden = await node(key, ['/ip4/127.0.0.1/tcp/1'])
    // the dialling node cannot be dialled either (port 2): nothing upgrades the relayed connection
    const other = await node(key, ['/ip4/127.0.0.1/tcp/2'])
    await hidden.dial(relay.listenAddrs()[0] as string)
    await other.dial(relay.listenAddrs()[0] as string)
    await expect.poll(() => relay.reachability()?.state, { timeout: 15_000 }).toBe('public')
    await expect.poll(() => hidden.reachability()?.state, { timeout: 15_000 }).toBe('private')
    expect(hidden.reachability()?.why).toMatch(/could not dial \/ip4\/127\.0\.0\.1\/tcp\/1\/.* \(refused\)/)
    let relayed: string | undefined
    await expect.poll(() => {
      relayed = hidden.listenAddrs().find(a => a.includes(`/p2p/${relay.selfId}/p2p-circuit/p2p/${hidden.selfId}`))
      return relayed !== undefined
    }, { timeout: 15_000 }).toBe(true)
    await hidden.handle(PROTO, async (stream) => {
      const f = await stream.read()
      if (f !== undefined) await stream.write(f)
      await stream.close()
    }, { maxFrameBytes: 1024 })
    // the third node knows only the relayed address
    await other.dial(relayed as string)
    expect(other.peerPath(hidden.selfId)).toBe('relayed')
    expect(other.connections().find(c => c.peer === hidden.selfId)?.relayed).toBe(true)
    const s = await other.open(hidden.selfId, PROTO, { maxFrameBytes: 1024, signal: AbortSignal.timeout(10_000) })
    await s.write(new TextEncoder().encode('over the relay'))
    expect(new TextDecoder().decode(await s.read())).toBe('over the relay')
    expect(other.peerPath(hidden.selfId)).toBe('relayed')
  }, 60_000)

  it('a node reached through a relay by a member it can dial directly replaces the relayed connection with a direct one', async () => {
    const key = testSwarmKey()
    const relay = await node(key)
    const hidden = await node(key, ['/ip4/127.0.0.1/tcp/1'])
    const reachable = await node(key)
    await hidden.dial(relay.listenAddrs()[0] as string)
    let relayed: string | undefined
    await expect.poll(() => {
      relayed = hidden.listenAddrs().find(a => a.includes('/p2p-circuit/'))
      return relayed !== undefined
    }, { timeout: 20_000 }).toBe(true)
    await reachable.dial(relayed as string)
    await expect.poll(() => reachable.peerPath(hidden.selfId), { timeout: 15_000 }).toBe('direct')
    expect(reachable.connections().filter(c => c.peer === hidden.selfId).map(c => c.relayed)).toEqual([false])
  }, 60_000)
})
