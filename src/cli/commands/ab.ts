/** `riftmesh ab`: start, watch and cancel A/B tests between two models, through a running node. */
import { ConfigError } from '../../core/errors.js'
import { controlRequest } from '../control-client.js'
import type { FlagSpec, ParsedArgs } from '../args.js'
import { UsageError, subcommandError } from '../usage.js'
import { inspectFlags, socketOf } from './inspect.js'
import type { AbView } from '../../node/control-ab.js'

export const abFlags: readonly FlagSpec[] = [
  ...inspectFlags,
  { name: 'config', key: null, help: 'start: the config both models play, e.g. hex8_2p' },
  { name: 'a', key: null, help: 'start: model A, a path under the data dir (models/<config>/<file>)' },
  { name: 'b', key: null, help: 'start: model B, a path under the data dir' },
  { name: 'games', key: null, help: 'start: game budget (default 400)' },
  { name: 'games-per-job', key: null, help: 'start: games per tournament job (default 20)' }
]

export const abHelp = `riftmesh ab start --config C --a MODEL_A --b MODEL_B [--games N] [--games-per-job N]
riftmesh ab list | show ID | cancel ID        [--data-dir D | --socket S] [--json]

A/B tests play two models of one config against each other in tournament jobs spread over the
cluster (nodes with the 'tournament' capability), both seats alternating. Every game is kept in
the LevelDB of the node the test was started on; the test stops with a verdict once A's score
interval (99 %, Wilson) is clear of 50 % after 20 games, or when its game budget is spent.`

const AB_SUBCOMMANDS = ['start', 'list', 'show', 'cancel']

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`

function intFlag (args: ParsedArgs, name: string): number | undefined {
  const v = args.values.get(name)
  if (v === undefined) return undefined
  const n = Number(v)
  if (typeof v !== 'string' || !Number.isInteger(n) || n < 1) throw new ConfigError(`--${name}`, 'a positive integer', `got ${JSON.stringify(v)}`)
  return n
}

function strFlag (args: ParsedArgs, name: string): string {
  const v = args.values.get(name)
  if (typeof v !== 'string' || v.length === 0) throw new ConfigError(`--${name}`, 'a value', `ab start needs --${name}`)
  return v
}

function line (r: AbView): string {
  const jobs = Object.entries(r.jobs).map(([k, v]) => `${k} ${v}`).join(', ') || 'none in the document'
  return [
    `${r.id}  ${r.config}  ${r.status}`,
    `  A ${r.modelA}`,
    `  B ${r.modelB}`,
    `  games ${r.games}/${r.gameBudget}: A ${r.aWins} W, ${r.draws} D, ${r.bWins} L; A scores ${pct(r.score)} [${pct(r.low)}, ${pct(r.high)}]`,
    `  jobs: ${jobs}`,
    ...(r.verdict !== null ? [`  verdict: ${r.verdict}`] : [])
  ].join('\n')
}

export async function runAb (args: ParsedArgs, out: (s: string) => void): Promise<number> {
  const [sub, id] = args.positionals
  const socket = socketOf(args)
  const json = args.values.get('json') === true
  const print = (v: unknown, text: () => string): void => out(json ? JSON.stringify(v, null, 2) : text())
  switch (sub) {
    case 'start': {
      const t = await controlRequest(socket, 'abStart', {
        config: strFlag(args, 'config'), modelA: strFlag(args, 'a'), modelB: strFlag(args, 'b'),
        games: intFlag(args, 'games'), gamesPerJob: intFlag(args, 'games-per-job')
      }) as { id: string, gameBudget: number }
      print(t, () => `started A/B test ${t.id} (budget ${t.gameBudget} games); follow it with: riftmesh ab show ${t.id}`)
      return 0
    }
    case 'list': {
      const rows = await controlRequest(socket, 'abTests') as AbView[]
      print(rows, () => (rows.length === 0 ? 'no A/B tests on this node' : rows.map(line).join('\n\n')))
      return 0
    }
    case 'show':
    case 'cancel': {
      if (id === undefined) throw new UsageError('no A/B test id given (riftmesh ab list shows them)', `riftmesh ab ${sub} ID`)
      if (sub === 'cancel') await controlRequest(socket, 'abCancel', { id })
      const r = await controlRequest(socket, 'abTest', { id }) as AbView
      print(r, () => line(r))
      return 0
    }
    default:
      throw subcommandError(sub, AB_SUBCOMMANDS, 'riftmesh ab start|list|show|cancel …')
  }
}
