import { describe, expect, it } from 'vitest'
import { trustChangeIssue, type TrustChange } from '../../../src/node/trust-change.js'
import type { TrustState } from '../../../src/state/trust.js'

const isPeerId = (id: string): boolean => /^P\d$/.test(id)
const trust = (operators: string[], revoked: string[] = []): TrustState => ({ operators: new Set(operators), revoked: new Set(revoked) })

describe('trustChangeIssue', () => {
  const table: Array<{ name: string, change: TrustChange, trust: TrustState, issue: RegExp | null }> = [
    { name: 'an operator adds another', change: { action: 'add-operator', target: 'P2', by: 'P1' }, trust: trust(['P1']), issue: null },
    { name: 'a target that is no peer id', change: { action: 'revoke', target: 'laptop', by: 'P1' }, trust: trust(['P1']), issue: /^laptop is not a peer id/ },
    { name: 'no operator keys at all: the first goes into trust.operators', change: { action: 'add-operator', target: 'P2', by: 'P1' }, trust: trust([]), issue: /no operator keys yet: list the first operator id in trust\.operators/ },
    { name: 'a signer that is not an operator', change: { action: 'revoke', target: 'P3', by: 'P2' }, trust: trust(['P1']), issue: /^operator key P2 is not an operator of this cluster/ },
    { name: 'adding an operator twice', change: { action: 'add-operator', target: 'P1', by: 'P1' }, trust: trust(['P1']), issue: /^P1 is already an operator$/ },
    { name: 'removing one of two operators, itself included', change: { action: 'remove-operator', target: 'P1', by: 'P1' }, trust: trust(['P1', 'P2']), issue: null },
    { name: 'removing the last operator', change: { action: 'remove-operator', target: 'P1', by: 'P1' }, trust: trust(['P1']), issue: /^refused: P1 is the last operator key.*add another first/ },
    { name: 'removing a key that is no operator', change: { action: 'remove-operator', target: 'P3', by: 'P1' }, trust: trust(['P1', 'P2']), issue: /^P3 is not an operator/ },
    { name: 'revoking a peer', change: { action: 'revoke', target: 'P3', by: 'P1' }, trust: trust(['P1']), issue: null },
    { name: 'revoking a revoked peer', change: { action: 'revoke', target: 'P3', by: 'P1' }, trust: trust(['P1'], ['P3']), issue: /^P3 is already revoked$/ },
    { name: 'reinstating a revoked peer', change: { action: 'reinstate', target: 'P3', by: 'P1' }, trust: trust(['P1'], ['P3']), issue: null },
    { name: 'reinstating a peer not revoked', change: { action: 'reinstate', target: 'P3', by: 'P1' }, trust: trust(['P1']), issue: /^P3 is not revoked$/ }
  ]
  for (const t of table) {
    it(t.name, () => {
      const issue = trustChangeIssue(t.change, t.trust, isPeerId)
      if (t.issue === null) expect(issue).toBeNull()
      else expect(issue).toMatch(t.issue)
    })
  }
})
