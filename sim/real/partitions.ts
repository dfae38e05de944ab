/**
 * Which node pairs may talk in real mode. One shared `LinkPolicy` answers every node's
 * connection gater, so a partition, a cut or an isolated (paused) node denies new connections
 * at once; the runner also hangs up the connections that already exist across it (a gater only
 * sees new ones — docs/notes/libp2p-recipe.md §7).
 *
 * The real stack cannot cut one direction of a connection, so every cut is symmetric here.
 */
import type { ConnectionGater, PeerId } from '@libp2p/interface'

const pairKey = (a: number, b: number): string => (a < b ? `${a}-${b}` : `${b}-${a}`)

export class LinkPolicy {
  /** Group of each node while a partition holds; nodes named in no group form one more group (-1), as in the model. */
  private groupOf: Map<number, number> | undefined
  private readonly cuts = new Set<string>()
  /** Held links (`hold` events), approximated as cuts until `release`. */
  private readonly holds = new Set<string>()
  /** Nodes cut off from everyone (a paused node). */
  private readonly isolated = new Set<number>()

  constructor (private readonly nodes: number) {}

  /** Cut every link between different groups; replaces an earlier partition. */
  partition (groups: readonly (readonly number[])[]): void {
    const groupOf = new Map<number, number>()
    groups.forEach((g, i) => { for (const n of g) groupOf.set(n, i) })
    for (let n = 0; n < this.nodes; n++) if (!groupOf.has(n)) groupOf.set(n, -1)
    this.groupOf = groupOf
  }

  cut (a: number, b: number): void {
    this.cuts.add(pairKey(a, b))
  }

  /** As in the model, `heal {a, b}` removes a cut between a and b, not a partition. */
  heal (a: number, b: number): void {
    this.cuts.delete(pairKey(a, b))
  }

  hold (a: number, b: number): void {
    this.holds.add(pairKey(a, b))
  }

  release (a: number, b: number): void {
    this.holds.delete(pairKey(a, b))
  }

  isolate (n: number): void {
    this.isolated.add(n)
  }

  rejoin (n: number): void {
    this.isolated.delete(n)
  }

  /** Heal every cut, partition and held link (isolated nodes stay isolated until they rejoin). */
  healAll (): void {
    this.groupOf = undefined
    this.cuts.clear()
    this.holds.clear()
  }

  /** Whether a connection between a and b is denied. */
  blocked (a: number, b: number): boolean {
    if (a === b) return false
    if (this.isolated.has(a) || this.isolated.has(b)) return true
    const key = pairKey(a, b)
    if (this.cuts.has(key) || this.holds.has(key)) return true
    return this.groupOf !== undefined && this.groupOf.get(a) !== this.groupOf.get(b)
  }
}

/** A connection gater for node `self`: denies peers the policy blocks (unknown peers pass). */
export function policyGater (self: number, policy: LinkPolicy, indexOf: (peerId: string) => number | undefined): ConnectionGater {
  const deny = (peer: PeerId): boolean => {
    const other = indexOf(peer.toString())
    return other !== undefined && policy.blocked(self, other)
  }
  return { denyDialPeer: deny, denyInboundEncryptedConnection: deny, denyOutboundEncryptedConnection: deny }
}
