/** `riftmesh nodes`: the node table as a running node sees it, and `forget` for a node gone for good. */
import { attach } from '../../repl/attach.js'
import type { Row } from '../../repl/format.js'
import { nodesTable } from '../../repl/helpers.js'
import type { FlagSpec, ParsedArgs } from '../args.js'
import { inspectFlags, socketOf } from './inspect.js'
import { UsageError, subcommandError } from '../usage.js'

export const nodesFlags: readonly FlagSpec[] = inspectFlags

export const nodesHelp = `riftmesh nodes [list] [--data-dir D | --socket S] [--json]
riftmesh nodes forget ID [--data-dir D | --socket S]

list (the default) prints the node table: every node in the cluster document, its health on
this node, role, scores, load and jobs.
forget removes a node that is gone for good (a dead machine, an identity replaced with
--new-identity) from the node table on every node. ID is a peer id or a unique end of one. It
is refused for a node this node does not see DEAD, for a voter (take it out of voters first)
and for this node itself. A forgotten node that starts again is back in the table.`

export async function runNodes (args: ParsedArgs, out: (s: string) => void): Promise<number> {
  const [sub = 'list', id, ...extra] = args.positionals
  const call = attach(socketOf(args))
  switch (sub) {
    case 'list': {
      if (id !== undefined) throw new UsageError(`nodes list takes no argument, got ${JSON.stringify(id)}`, 'riftmesh nodes [list]')
      const rows = await call('nodes') as Row[]
      out(args.values.get('json') === true ? JSON.stringify(rows, null, 2) : `${rows.length} node(s)\n${nodesTable(rows)}`)
      return 0
    }
    case 'forget': {
      if (id === undefined || extra.length > 0) throw new UsageError(id === undefined ? 'no node id given' : 'more than one node id given', 'riftmesh nodes forget ID')
      const r = await call('forgetNode', { nodeId: id }) as { nodeId: string, nodes: number }
      out(args.values.get('json') === true ? JSON.stringify(r) : `forgot ${r.nodeId}; ${r.nodes} node(s) left in the table (the change reaches every node)`)
      return 0
    }
    default:
      throw subcommandError(sub, ['list', 'forget'], 'riftmesh nodes [list] | nodes forget ID')
  }
}
