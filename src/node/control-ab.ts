/**
 * Control ops of A/B tests: start one (owned by this node), cancel it, and read tests with their
 * statistics. `riftmesh ab` and the REPL use them.
 */
import type { ControlHandler } from '../repl/control.js'
import { ControlError } from '../repl/control.js'
import type { AbReport, AbTestManager } from '../managers/ab-tests.js'

const num = (v: unknown, name: string): number | undefined => {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ControlError(`${name} must be an integer`)
  return v
}
const str = (v: unknown, name: string): string => {
  if (typeof v !== 'string' || v.length === 0) throw new ControlError(`${name} is required (a string)`)
  return v
}

function view (r: AbReport): Record<string, unknown> {
  return { ...r.test, games: r.stats.games, aWins: r.stats.aWins, bWins: r.stats.bWins, draws: r.stats.draws, score: r.stats.score, low: r.stats.low, high: r.stats.high, jobs: r.jobs }
}

export function abControlHandlers (ab: AbTestManager): Record<string, ControlHandler> {
  return {
    abStart: async args => {
      const t = await ab.start({
        config: str(args.config, 'config'), modelA: str(args.modelA, 'modelA'), modelB: str(args.modelB, 'modelB'),
        games: num(args.games, 'games'), gamesPerJob: num(args.gamesPerJob, 'gamesPerJob')
      })
      return t
    },
    abCancel: async args => await ab.cancel(str(args.id, 'id')),
    abTests: async () => (await ab.reports()).map(view),
    abTest: async args => {
      const r = await ab.report(str(args.id, 'id'))
      if (r === undefined) throw new ControlError(`no A/B test ${String(args.id)} on this node (tests are kept on the node that started them)`)
      return { ...view(r), definition: ab.definitions().find(d => d.id === r.test.id) ?? null }
    }
  }
}
