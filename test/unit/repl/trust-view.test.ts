import { describe, expect, it } from 'vitest'
import { NO_OPERATOR_KEYS_WARNING, otherRootsWarning, trustLines, withTrustLines } from '../../../src/repl/trust-view.js'

const OP = '12D3KooWHmNVyxY7vrTCdZzGsnwUchaYGY2WY6vem2t1dKjEVSMX'
const PEER = '12D3KooWMN4uQ7Zx7D4hXQZzYdC4u1bB1xAnAkdRtdhyzd1DkMrq'

describe('trust lines of status', () => {
  const table: Array<{ name: string, report: unknown, lines: string[] }> = [
    { name: 'no operator keys: the warning, nothing revoked', report: { hasOperators: false, operators: [], revoked: [] }, lines: [NO_OPERATOR_KEYS_WARNING, 'revoked: none'] },
    { name: 'operators and revoked peers, ids cut to a prefix and a suffix', report: { hasOperators: true, operators: [OP], revoked: [PEER] }, lines: ['operators: 1 (12D3KooWHmNVyx…jEVSMX)', 'revoked: 1 (12D3KooWMN4uQ7…1DkMrq)'] },
    { name: 'a node older than operator keys: no lines', report: undefined, lines: [] },
    { name: 'a live peer started with other operator keys: warned first', report: { hasOperators: true, operators: [OP], revoked: [], otherRoots: [PEER] }, lines: [otherRootsWarning(['12D3KooWMN4uQ7…1DkMrq']), 'operators: 1 (12D3KooWHmNVyx…jEVSMX)', 'revoked: none'] }
  ]
  for (const t of table) it(t.name, () => expect(trustLines(t.report)).toEqual(t.lines))

  it('operators list shows whole ids, one a line', () => {
    expect(trustLines({ hasOperators: true, operators: [OP, PEER], revoked: [] }, { full: true })).toEqual([`operators: 2\n  ${OP}\n  ${PEER}`, 'revoked: none'])
  })

  it('puts the warning above the status and the rest below it', () => {
    expect(withTrustLines('STATUS', { hasOperators: false, operators: [], revoked: [] })).toBe(`${NO_OPERATOR_KEYS_WARNING}\nSTATUS\nrevoked: none`)
    expect(withTrustLines('STATUS', { hasOperators: true, operators: [OP], revoked: [] })).toBe('STATUS\noperators: 1 (12D3KooWHmNVyx…jEVSMX)\nrevoked: none')
    expect(withTrustLines('STATUS', { hasOperators: true, operators: [OP], revoked: [], otherRoots: [PEER] })).toBe(`${otherRootsWarning(['12D3KooWMN4uQ7…1DkMrq'])}\nSTATUS\noperators: 1 (12D3KooWHmNVyx…jEVSMX)\nrevoked: none`)
    expect(otherRootsWarning(['x'])).toBe('WARNING 1 node(s) were started with other operator keys (trust.operators) than this one: x — cluster settings one side accepts the other ignores; give every node the same trust.operators and restart it')
  })
})
