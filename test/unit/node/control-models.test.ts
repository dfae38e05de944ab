/** The entry an operator's model override writes, and the CLI's check that the node drafted what was asked. */
import { describe, expect, it } from 'vitest'
import { overrideEntry, OVERRIDE_INITIAL_ELO } from '../../../src/node/control-models.js'
import { modelDraftMismatch } from '../../../src/repl/operator-sign.js'
import type { ModelEntry } from '../../../src/state/schema.js'

const champion: ModelEntry = { v: 1, config: 'hex8_2p', modelId: 'm-2', path: 'p2', ownerNode: 'n1', elo: 1610, promotedAt: 5, epoch: 3, history: ['m-1'] }
const choice = { modelId: 'm-3', path: 'p3', ownerNode: 'n2' }

describe('overrideEntry', () => {
  it('keeps the champion\'s rating unless one is given, appends it to the history, and stamps now and the known epoch', () => {
    expect(overrideEntry('hex8_2p', choice, champion, 9_000.7, 4)).toEqual({ entry: { v: 1, config: 'hex8_2p', ...choice, elo: 1610, promotedAt: 9_000, epoch: 4, history: ['m-1', 'm-2'] } })
    expect(overrideEntry('hex8_2p', { ...choice, elo: 1400 }, champion, 1, 4)).toMatchObject({ entry: { elo: 1400 } })
    expect(overrideEntry('hex8_2p', choice, undefined, 1, 0)).toMatchObject({ entry: { elo: OVERRIDE_INITIAL_ELO, history: [] } })
    // re-promoting the champion itself does not list it in its own history
    expect(overrideEntry('hex8_2p', { ...choice, modelId: 'm-2' }, champion, 1, 4)).toMatchObject({ entry: { history: ['m-1'] } })
  })

  it('names what is wrong with a choice the schema refuses', () => {
    expect(overrideEntry('hex8_2p', { ...choice, elo: 1e9 }, champion, 1, 4)).toEqual({ issue: expect.stringMatching(/^not a model entry: elo: /) as unknown })
  })
})

describe('modelDraftMismatch', () => {
  const req = { config: 'hex8_2p', model: { ...choice, elo: 1500 } }
  const draft = (over: Record<string, unknown> = {}, value: Record<string, unknown> = {}): unknown =>
    ({ key: 'hex8_2p@OP', entry: { v: 1, name: 'hex8_2p', writer: 'OP', version: 3, value: { config: 'hex8_2p', ...choice, elo: 1500, ...value }, ...over } })
  it.each([
    ['the override asked for', draft(), null],
    ['another key', { ...(draft() as object), key: 'hex8_2p@X' }, 'key hex8_2p@X'],
    ['another writer', draft({ writer: 'X' }), 'another config or writer'],
    ['another model', draft({}, { path: '/tmp/evil.pt' }), 'another model'],
    ['another owner', draft({}, { ownerNode: 'evil' }), 'another model'],
    ['another rating', draft({}, { elo: 9000 }), 'another rating'],
    ['no version', draft({ version: 'x' }), 'no version'],
    ['nothing', null, 'no draft']
  ])('%s', (_name, d, want) => {
    expect(modelDraftMismatch(d, req, 'OP')).toBe(want)
  })
})
