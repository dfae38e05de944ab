/**
 * `riftmesh models`: each config's best model as a running node sees it, and an operator's
 * promotion override — `set` one config, or `restore` every config from a file `get --json`
 * wrote (the upgrade to signed entries, §12 of OPERATIONS) — signed with --operator-key FILE,
 * which never leaves this machine.
 */
import { readFile } from 'node:fs/promises'
import { attach } from '../../repl/attach.js'
import { OPERATOR_KEY_NEEDED, OperatorKeyError, loadOperatorKey } from '../../repl/operator-key.js'
import { signedModelOverride, type ModelOverrideRequest } from '../../repl/operator-sign.js'
import { table } from '../../repl/format.js'
import type { FlagSpec, ParsedArgs } from '../args.js'
import { UsageError, subcommandError } from '../usage.js'
import { inspectFlags, socketOf } from './inspect.js'
import { operatorKeyFlag, operatorKeyOf } from './settings-signing.js'

export const modelsFlags: readonly FlagSpec[] = [...inspectFlags, operatorKeyFlag]

const USAGE = 'riftmesh models [get [CONFIG]] | set CONFIG JSON | restore FILE  [--operator-key FILE]'

export const modelsHelp = `riftmesh models [get [CONFIG]] [--json]             [--data-dir D | --socket S]
riftmesh models set CONFIG JSON --operator-key FILE  [--data-dir D | --socket S]
riftmesh models restore FILE --operator-key FILE     [--data-dir D | --socket S]

get (the default) prints each config's best model: the one self-play and evaluation use.
--json prints the entries in full (with their history), the form restore takes back.
set makes a model the best of its config — an operator's promotion override, e.g. to roll back:
  riftmesh models set hex8_2p '{"modelId": "e3-…", "path": "models/hex8_2p/e3-….pt", "ownerNode": "12D3KooW…"}' --operator-key op.key
("elo" is optional: the current best model's rating is kept). The leader's next promotion of the
config replaces it as usual. restore sets every config of a file written by get --json (the
upgrade to signed entries keeps the best models that way). Both are signed with an operator key
(--operator-key FILE or RIFTMESH_OPERATOR_KEY); every node checks the signature.`

type Entries = Record<string, { modelId: string, path: string, ownerNode: string, elo: number, promotedAt: number, history?: string[] }>

function keyFileOf (args: ParsedArgs): string {
  const file = operatorKeyOf(args)
  if (file === undefined) throw new OperatorKeyError(OPERATOR_KEY_NEEDED.replace('cluster settings need', 'a model override needs'))
  return file
}

function choiceOf (config: string, raw: unknown, where: string): ModelOverrideRequest {
  const m = raw as Record<string, unknown> | null
  if (m === null || typeof m !== 'object' || Array.isArray(m)) throw new UsageError(`${where}: a model is a JSON object {"modelId", "path", "ownerNode", "elo"?}`, USAGE)
  const model: ModelOverrideRequest['model'] = { modelId: String(m.modelId ?? ''), path: String(m.path ?? ''), ownerNode: String(m.ownerNode ?? '') }
  if (typeof m.elo === 'number') model.elo = m.elo
  return { config, model }
}

function parseJson (text: string, what: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    throw new UsageError(`${what} is not JSON`, USAGE)
  }
}

export async function runModels (args: ParsedArgs, out: (s: string) => void): Promise<number> {
  const [sub = 'get', a, b, ...extra] = args.positionals
  const json = args.values.get('json') === true
  const call = attach(socketOf(args))
  switch (sub) {
    case 'get': {
      if (b !== undefined) throw new UsageError('get takes at most one config', USAGE)
      const all = await call('modelEntries') as Entries
      const shown = a === undefined ? all : Object.fromEntries(Object.entries(all).filter(([c]) => c === a))
      if (json) { out(JSON.stringify(shown, null, 2)); return 0 }
      const rows = Object.entries(shown).map(([config, m]) => ({ config, model: m.modelId, elo: m.elo.toFixed(0), owner: m.ownerNode, path: m.path }))
      out(rows.length === 0 ? (a === undefined ? 'models: none promoted yet' : `models: none promoted for ${a}`) : table(rows))
      return 0
    }
    case 'set': {
      if (a === undefined || b === undefined || extra.length > 0) throw new UsageError('set takes a config and a model as JSON', USAGE)
      const signer = await loadOperatorKey(keyFileOf(args))
      const r = await signedModelOverride(call, signer, choiceOf(a, parseJson(b, 'the model'), 'set'))
      out(json ? JSON.stringify(r) : `${a}: best model is now ${(r.model as { modelId?: string } | null)?.modelId ?? '(refused)'} (signed by ${signer.id})`)
      return 0
    }
    case 'restore': {
      if (a === undefined || b !== undefined) throw new UsageError('restore takes one file (written by riftmesh models get --json)', USAGE)
      const text = await readFile(a, 'utf8').catch((err: NodeJS.ErrnoException) => { throw new UsageError(`cannot read ${a}: ${err.code ?? err.message}`, USAGE) })
      const file = parseJson(text, a) as Record<string, unknown>
      if (file === null || typeof file !== 'object' || Array.isArray(file)) throw new UsageError(`${a}: expected {config: model, …} as riftmesh models get --json writes`, USAGE)
      const signer = await loadOperatorKey(keyFileOf(args))
      const done: string[] = []
      for (const [config, m] of Object.entries(file)) {
        await signedModelOverride(call, signer, choiceOf(config, m, `${a}: ${config}`))
        done.push(config)
      }
      out(json ? JSON.stringify({ restored: done }) : `restored the best model of ${done.length} config(s)${done.length > 0 ? `: ${done.join(', ')}` : ''}`)
      return 0
    }
    default:
      throw subcommandError(sub, ['get', 'set', 'restore'], USAGE)
  }
}
