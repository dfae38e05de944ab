/**
 * Revoked peers are cut off: a libp2p connection gater refuses every connection from or to a
 * revoked peer id (dial, inbound and outbound once the peer has proved its id, relayed both ways,
 * relay reservations), and `RevocationGuard.check()` — called when the trust may have changed —
 * hangs up on revoked peers still connected. Who is revoked is the cluster state's decision
 * (the operator-signed trust log); this module only enforces it on the wire.
 */
import type { ConnectionGater, PeerId } from '@libp2p/interface'
import type { Logger } from '../core/logger.js'

export type IsRevoked = (peerId: string) => boolean

/** A connection gater that denies every connection involving a revoked peer id. */
export function revocationGater (isRevoked: IsRevoked): ConnectionGater {
  const deny = (peer: PeerId): boolean => isRevoked(peer.toString())
  return {
    denyDialPeer: deny,
    denyOutboundConnection: deny,
    denyInboundEncryptedConnection: deny,
    denyOutboundEncryptedConnection: deny,
    denyInboundUpgradedConnection: deny,
    denyOutboundUpgradedConnection: deny,
    denyInboundRelayReservation: deny,
    denyOutboundRelayedConnection: (source, destination) => deny(source) || deny(destination),
    denyInboundRelayedConnection: (relay, remote) => deny(relay) || deny(remote)
  }
}

/** The connected peers to hang up on: those revoked now. */
export function peersToCutOff (connected: readonly string[], isRevoked: IsRevoked): string[] {
  return connected.filter(isRevoked)
}

export interface RevocationGuardComponents {
  isRevoked: IsRevoked
  connectedPeers: () => string[]
  hangUp: (peer: string) => Promise<void>
  logger: Logger
}

export class RevocationGuard {
  private readonly log: Logger
  /** Peers a hang-up is under way for (one at a time per peer). */
  private readonly hangingUp = new Set<string>()

  constructor (private readonly c: RevocationGuardComponents) {
    this.log = c.logger.child({ component: 'revocation' })
  }

  /** The gater to give libp2p. */
  gater (): ConnectionGater {
    return revocationGater(id => this.c.isRevoked(id))
  }

  /** Hang up on every connected peer that is revoked now. Returns the peers cut off. */
  check (): string[] {
    const cut = peersToCutOff(this.c.connectedPeers(), this.c.isRevoked).filter(p => !this.hangingUp.has(p))
    for (const peer of cut) {
      this.hangingUp.add(peer)
      this.log.warn({ peer }, 'hanging up on a revoked peer')
      this.c.hangUp(peer)
        .catch((err: unknown) => this.log.warn({ err, peer }, 'hang-up on a revoked peer failed'))
        .finally(() => this.hangingUp.delete(peer))
    }
    return cut
  }
}
