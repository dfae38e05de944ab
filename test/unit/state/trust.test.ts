/** resolveTrust: the operator log applied in order from the trust root. */
import { describe, expect, it } from 'vitest'
import { resolveTrust, trustKey, type SignedTrustEntry, type TrustAction } from '../../../src/state/trust.js'

const entry = (seq: number, signer: string, action: TrustAction, target: string): SignedTrustEntry =>
  ({ key: trustKey(seq, signer), signer, entry: { v: 1, seq, action, target, at: seq, reason: null } })

const ops = (root: string[], log: SignedTrustEntry[]): string[] => [...resolveTrust(root, log).operators].sort()

describe('resolveTrust', () => {
  it('adds and removes operators in sequence order; a removed key\'s later entries change nothing', () => {
    const log = [entry(3, 'A', 'add-operator', 'C'), entry(1, 'A', 'add-operator', 'B'), entry(2, 'B', 'remove-operator', 'A')]
    expect(ops(['A'], log)).toEqual(['B'])
    expect(resolveTrust(['A'], log).ignored).toBe(1)
  })

  it('never removes the last operator key, even by an entry its holder signed itself', () => {
    expect(ops(['A'], [entry(1, 'A', 'remove-operator', 'A')])).toEqual(['A'])
    expect(resolveTrust(['A'], [entry(1, 'A', 'remove-operator', 'A')]).ignored).toBe(1)
    // the last of two, after the other was removed
    expect(ops(['A', 'B'], [entry(1, 'A', 'remove-operator', 'B'), entry(2, 'A', 'remove-operator', 'A')])).toEqual(['A'])
    // removing one of two is fine
    expect(ops(['A', 'B'], [entry(1, 'A', 'remove-operator', 'A')])).toEqual(['B'])
  })

  it('revokes and reinstates peers', () => {
    const t = resolveTrust(['A'], [entry(1, 'A', 'revoke', 'X'), entry(2, 'A', 'revoke', 'Y'), entry(3, 'A', 'reinstate', 'X')])
    expect([...t.revoked]).toEqual(['Y'])
  })
})
