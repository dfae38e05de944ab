/**
 * Epoch certificates: a leader's proof that it held an epoch — the voters' own signed grant
 * entries for (leader, epoch), copied as they were stored, under `certs/<epoch>/<leader>`. A
 * reader accepts a certificate when a strict majority of the voters in effect signed a grant for
 * exactly that leader and epoch. Leader-only entries (models, training records, verdicts) are
 * checked against it, so they stay valid after the grants in the `election` map move on. With
 * fewer than 3 voters there is no majority to prove (epoch mode): every node holds every epoch.
 */
import { verifyEntry } from './entry-sig.js'
import { certSchema, grantSchema, type EpochCertificate } from './schema.js'
import type { ValidatedMap } from './validated-map.js'

/** Certificates kept per leader, newest epochs first; older ones are deleted by their writer. */
export const CERTS_KEPT = 16
export const MIN_CERT_VOTERS = 3

export { certSchema, type EpochCertificate } from './schema.js'

export function certKey (epoch: number, leader: string): string {
  return `${String(epoch).padStart(12, '0')}/${leader}`
}

interface Trust { isRevoked: (id: string) => boolean }

export class EpochCertificates {
  private readonly verdicts = new Map<string, { cert: EpochCertificate, votersKey: string, generation: number, ok: boolean }>()

  constructor (private readonly map: ValidatedMap<EpochCertificate>, private readonly generation: () => number) {}

  /** Whether `leader` held `epoch` under `voters`. */
  held (leader: string, epoch: number, voters: readonly string[], trust: Trust): boolean {
    if (voters.length < MIN_CERT_VOTERS) return true
    const key = certKey(epoch, leader)
    const cert = this.map.get(key)
    if (cert === undefined) return false
    const votersKey = voters.join(',')
    const gen = this.generation()
    const hit = this.verdicts.get(key)
    if (hit !== undefined && hit.cert === cert && hit.votersKey === votersKey && hit.generation === gen) return hit.ok
    const ok = countCertified(cert, voters, trust) >= Math.floor(voters.length / 2) + 1
    if (this.verdicts.size > 4 * CERTS_KEPT * 64) this.verdicts.clear()
    this.verdicts.set(key, { cert, votersKey, generation: gen, ok })
    return ok
  }

  /** Whether the stored certificate for the same (epoch, leader) already carries these grants. */
  sameAsStored (cert: EpochCertificate): boolean {
    const cur = this.map.get(certKey(cert.epoch, cert.leader))
    return cur !== undefined && JSON.stringify(cur.grants) === JSON.stringify(cert.grants)
  }

  /** Keys of `leader`'s certificates beyond its newest CERTS_KEPT (its writer deletes them). */
  staleKeys (leader: string): string[] {
    const own = this.map.entries().filter(([, c]) => c.leader === leader).sort(([, a], [, b]) => b.epoch - a.epoch)
    return own.slice(CERTS_KEPT).map(([k]) => k)
  }
}

/** Distinct voters (of `voters`, not revoked) whose validly signed grant in `cert` is for its leader and epoch. */
export function countCertified (cert: EpochCertificate, voters: readonly string[], trust: Trust): number {
  const allowed = new Set(voters)
  const seen = new Set<string>()
  for (const raw of cert.grants) {
    const voter = typeof raw.voter === 'string' ? raw.voter : ''
    if (!allowed.has(voter) || seen.has(voter) || trust.isRevoked(voter)) continue
    const checked = verifyEntry('control', 'election', `grant/${voter}`, raw)
    if (!checked.ok || checked.by !== voter) continue
    const g = grantSchema.safeParse(checked.value)
    if (g.success && g.data.candidate === cert.leader && g.data.epoch === cert.epoch) seen.add(voter)
  }
  return seen.size
}
