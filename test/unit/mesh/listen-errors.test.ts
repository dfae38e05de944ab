/**
 * libp2p's listen-failure paragraph → one ListenError in riftmesh's words. The parser is fed
 * libp2p's real text, and a real Libp2pMesh is started on a port already taken.
 */
import { createServer, type Server } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { ListenError } from '../../../src/core/errors.js'
import { silentLogger } from '../../../src/core/logger.js'
import { Libp2pMesh } from '../../../src/mesh/libp2p-mesh.js'
import { explainListenFailure, listenError, parseListenFailures } from '../../../src/mesh/listen-errors.js'

/** What libp2p 3 throws, as printed by a node before this change (port in use, with stack frames). */
const LIBP2P_IN_USE = `Some configured addresses failed to be listened on, you may need to remove one or more listen addresses from your configuration or set \`transportManager.faultTolerance\` to NO_FATAL:

  /ip4/127.0.0.1/tcp/4555: Error: listen EADDRINUSE: address already in use 127.0.0.1:4555
      at Server.setupListenHandle [as _listen2] (node:net:1941:16)
      at listenInCluster (node:net:1998:12)
`

describe('a listen failure', () => {
  it('is read address by address out of libp2p\'s paragraph, stack frames left out', () => {
    expect(parseListenFailures(LIBP2P_IN_USE)).toEqual([{ address: '/ip4/127.0.0.1/tcp/4555', error: 'Error: listen EADDRINUSE: address already in use 127.0.0.1:4555' }])
    expect(parseListenFailures('libp2p exploded')).toEqual([])
  })

  // [case, address, libp2p's error line, what riftmesh says]
  const CASES: Array<[string, string, string, RegExp]> = [
    ['a port in use', '/ip4/0.0.0.0/tcp/4100', 'Error: listen EADDRINUSE: address already in use 0.0.0.0:4100',
      /^port 4100 is in use \(another riftmesh node\? pick another with --listen \/ip4\/0\.0\.0\.0\/tcp\/4101\)$/],
    ['an address of another machine', '/ip4/10.9.9.9/tcp/4100', 'Error: listen EADDRNOTAVAIL: address not available 10.9.9.9:4100',
      /^10\.9\.9\.9 is not an address of this machine/],
    ['a privileged port', '/ip4/0.0.0.0/tcp/80', 'Error: listen EACCES: permission denied 0.0.0.0:80', /^port 80 needs privileges/],
    ['a UDP address', '/ip4/0.0.0.0/udp/4100', 'UnsupportedListenAddressError: No transport was configured to listen on this address',
      /^riftmesh listens on TCP only/],
    ['anything else', '/ip4/0.0.0.0/tcp/4100', 'Error: something odd', /^cannot listen there \(Error: something odd\)$/]
  ]
  it.each(CASES)('explains %s with the flag that fixes it', (_name, address, error, expected) => {
    expect(explainListenFailure({ address, error })).toMatch(expected)
  })

  it('becomes a ListenError naming --listen and the address; other start failures do not', () => {
    const err = listenError(LIBP2P_IN_USE)
    expect(err).toBeInstanceOf(ListenError)
    expect(err?.message).toBe('--listen /ip4/127.0.0.1/tcp/4555: port 4555 is in use (another riftmesh node? pick another with --listen /ip4/127.0.0.1/tcp/4556)')
    expect(listenError('libp2p exploded')).toBeUndefined()
  })
})

describe('Libp2pMesh on a port already taken', () => {
  let server: Server | undefined
  afterEach(async () => { await new Promise<void>(resolve => server?.close(() => resolve()) ?? resolve()) })

  it('fails to start with a one-line ListenError', async () => {
    server = createServer()
    const port = await new Promise<number>(resolve => server?.listen(0, '127.0.0.1', () => resolve((server?.address() as { port: number }).port)))
    const mesh = new Libp2pMesh({ logger: silentLogger() }, { privateKey: await generateKeyPair('Ed25519'), swarmKey: null, listen: [`/ip4/127.0.0.1/tcp/${port}`], bootstrap: [] })
    const err = await mesh.start().then(() => undefined, (e: unknown) => e)
    await mesh.stop()
    expect(err).toBeInstanceOf(ListenError)
    expect((err as ListenError).message).toBe(`--listen /ip4/127.0.0.1/tcp/${port}: port ${port} is in use (another riftmesh node? pick another with --listen /ip4/127.0.0.1/tcp/${port + 1})`)
  })
})
