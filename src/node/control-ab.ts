/**
 * Control ops of A/B tests: start one (owned by this node), cancel it, and read tests with their
 * statistics. `riftmesh ab` and the REPL use them.
 */
import type { ControlHandler } from '../repl/control.js'
import { ControlError } from '../repl/control.js'
import type { AbReport, AbTestManager } from '../managers/ab-tests.js'
import type { AbStats } from '../managers/ab-test.js'
import type { AbTest } from '../store/tables.js'

/** A test as the ops return it: the stored test, its statistics now, its jobs in the document by state. */
export type AbView = AbTest & AbStats & { jobs: Record<string, number> }

const num = (v: unknown, name: string): number | undefined => {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ControlError(`${name} must be an integer`)
  return v
}
const str = (v: unknown, name: string): string => {
  if (typeof v !== 'string' || v.length === 0) throw new ControlError(`${name} is required (a string)`)
  return v
}

function view (r: AbReport): AbView {
  return { ...r.test, ...r.stats, jobs: r.jobs }
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
