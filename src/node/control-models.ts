/**
 * Control ops of the models register (`riftmesh models`): read each config's best model in full,
 * and an operator's promotion override — the node drafts the register (`modelDraft`), the CLI
 * signs it with the operator key, which never leaves it, and sends it back
 * (`writeSignedModel`); the node checks signature and authority as every reader does and
 * stores it. An override wins as the newest register of its config until the leader's next
 * promotion of that config, which writes a newer one.
 */
import { OwnershipError } from '../core/errors.js'
import { timestampMs, type Clock } from '../core/clock.js'
import type { ControlHandler } from '../repl/control.js'
import { ControlError } from '../repl/control.js'
import { isSigningId } from '../state/entry-sig.js'
import type { ClusterState } from '../state/cluster-state.js'
import { configKeySchema, modelSchema, type ConfigKey, type ModelEntry } from '../state/schema.js'

type ModelsParts = { state: ClusterState, store: { flush: () => Promise<void> } }

/** What an operator names to promote: the rest of the entry is the node's to fill in. */
export interface ModelChoice {
  modelId: string
  path: string
  ownerNode: string
  /** The Elo rating to carry; the current champion's when left out (a first model: the initial rating). */
  elo?: number
}

/** Rating of a config's first model when an override names none (as the training coordinator starts). */
export const OVERRIDE_INITIAL_ELO = 1500

/**
 * The entry an override writes for `config`: the choice, rated as given or as the champion,
 * promoted now under the highest epoch known, with the champion appended to the history (unless
 * the choice is the champion itself).
 */
export function overrideEntry (config: ConfigKey, choice: ModelChoice, champion: ModelEntry | undefined, nowMs: number, epoch: number): { entry: ModelEntry } | { issue: string } {
  const history = champion === undefined
    ? []
    : champion.modelId === choice.modelId ? champion.history : [...champion.history, champion.modelId].slice(-64)
  const r = modelSchema.safeParse({
    v: 1,
    config,
    modelId: choice.modelId,
    path: choice.path,
    ownerNode: choice.ownerNode,
    elo: choice.elo ?? champion?.elo ?? OVERRIDE_INITIAL_ELO,
    promotedAt: Math.max(0, Math.floor(nowMs)),
    epoch,
    history
  })
  if (r.success) return { entry: r.data }
  const i = r.error.issues[0]
  return { issue: `not a model entry: ${i === undefined ? 'invalid' : `${i.path.map(String).join('.')}: ${i.message}`}` }
}

function configArg (args: Record<string, unknown>, op: string): ConfigKey {
  const c = configKeySchema.safeParse(args.config)
  if (!c.success) throw new ControlError(`${op} needs a config key (e.g. hex8_2p), got ${JSON.stringify(args.config)}`)
  return c.data
}

function choiceArg (raw: unknown): ModelChoice {
  const m = raw as Partial<Record<keyof ModelChoice, unknown>> | null
  if (m === null || typeof m !== 'object') throw new ControlError('a model is {"modelId": …, "path": …, "ownerNode": …, "elo": … (optional)}')
  const str = (k: 'modelId' | 'path' | 'ownerNode'): string => {
    const v = m[k]
    if (typeof v !== 'string' || v.length === 0) throw new ControlError(`the model needs ${k} (a non-empty string)`)
    return v
  }
  const elo = m.elo
  if (elo !== undefined && (typeof elo !== 'number' || !Number.isFinite(elo))) throw new ControlError('the model\'s elo is a number')
  return { modelId: str('modelId'), path: str('path'), ownerNode: str('ownerNode'), ...(elo === undefined ? {} : { elo }) }
}

export function modelsControlHandlers (p: ModelsParts, clock: Clock): Record<string, ControlHandler> {
  return {
    /** Each config's best model in full (history and epoch too): what `models restore` takes back. */
    modelEntries: async () => Object.fromEntries([...p.state.models()].sort(([a], [b]) => (a < b ? -1 : 1))),
    /** The register an operator's promotion override needs, for `writer` (an operator id) to sign. */
    modelDraft: async args => {
      const config = configArg(args, 'modelDraft')
      const writer = args.writer
      if (typeof writer !== 'string' || !isSigningId(writer)) throw new ControlError('modelDraft needs the operator id of the signing key (writer)')
      if (!p.state.hasOperators()) {
        throw new ControlError('this cluster has no operator keys: list one in trust.operators on every node (riftmesh keygen --operator), then promote with it')
      }
      if (!p.state.isOperator(writer)) throw new ControlError(`operator key ${writer} is not an operator of this cluster (never added, or removed): sign with a key riftmesh operators list shows`)
      const made = overrideEntry(config, choiceArg(args.model), p.state.model(config), timestampMs(clock), p.state.maxKnownEpoch())
      if ('issue' in made) throw new ControlError(made.issue)
      return { config, draft: p.state.modelDraft(made.entry, writer) }
    },
    /** Store a models register an operator signed (modelDraft): checked as every reader checks it. */
    writeSignedModel: async args => {
      const key = args.key
      if (typeof key !== 'string' || key.length === 0 || key.length > 512) throw new ControlError('writeSignedModel needs the key of the signed entry')
      try {
        p.state.writeSigned('models', key, args.raw)
      } catch (err) {
        if (err instanceof OwnershipError) throw new ControlError(`signed model refused: ${err.message}`)
        throw err
      }
      await p.store.flush()
      const config = (args.raw as { name?: unknown }).name
      return { config, model: typeof config === 'string' ? p.state.model(config as ConfigKey) ?? null : null }
    }
  }
}
