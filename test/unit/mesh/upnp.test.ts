/**
 * `node.upnp` (off by default): with it, the node runs libp2p's UPnP port mapper. riftmesh runs no
 * AutoNAT, which the mapper requires unless it confirms mapped addresses itself — so it must be
 * built to confirm them (the dial-back probe checks them afterwards), or the node cannot start.
 * Without a gateway on the network the node starts and advertises only its own addresses.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { silentLogger } from '../../../src/core/logger.js'
import { Libp2pMesh } from '../../../src/mesh/libp2p-mesh.js'
import { DEFAULT_UPNP } from '../../../src/config/defaults.js'

describe('UPnP port mapping', () => {
  let mesh: Libp2pMesh | undefined
  afterEach(async () => { await mesh?.stop() })

  const start = async (upnp: boolean): Promise<Libp2pMesh> => {
    const m = new Libp2pMesh({ logger: silentLogger() }, { privateKey: await generateKeyPair('Ed25519'), swarmKey: null, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], upnp })
    mesh = m
    await m.start()
    return m
  }

  it('is off by default', () => {
    expect(DEFAULT_UPNP).toBe(false)
  })

  it('with upnp the node starts (no AutoNAT needed) and runs the mapper; without a gateway it advertises only its own address', async () => {
    const m = await start(true)
    expect(Object.keys(m.libp2p.services)).toContain('upnp')
    expect(m.listenAddrs()).toEqual([expect.stringMatching(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\//)])
  })

  it('without upnp there is no mapper', async () => {
    const m = await start(false)
    expect(Object.keys(m.libp2p.services)).not.toContain('upnp')
  })
})
