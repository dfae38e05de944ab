import { createConnection } from 'node:net'
import { join } from 'node:path'
import { loadConfig, type RiftmeshConfig } from '../../config/index.js'
import { SystemClock, timestampMs } from '../../core/clock.js'
import { StoreError } from '../../core/errors.js'
import { TerminalLogDestination, createLogger, type Logger } from '../../core/logger.js'
import { controlSocketPath } from '../../repl/control.js'
import { ReplScriptError, type ReplSession } from '../../repl/session.js'
import { RiftNode } from '../../node/node.js'
import { prepareDataDir } from '../../node/data-dir.js'
import { moveDatabaseAside } from '../../store/level.js'
import { CONFIG_FLAGS, configFlagLabels, configFlags, type FlagSpec, type ParsedArgs } from '../args.js'
import { REPL_HISTORY_FILE_NAME, openRepl } from './repl.js'

export const nodeFlags: readonly FlagSpec[] = [
  ...CONFIG_FLAGS,
  { name: 'repl', key: null, boolean: true, help: 'open the debug REPL on this node in the foreground; leaving it stops the node' },
  { name: 'reset-state', key: null, boolean: true, help: 'move a damaged database aside to <data-dir>/db.broken-<time> (never deleted) and start with an empty one; identity, swarm key and data files are kept, the documents re-sync from peers' },
  { name: 'new-identity', key: null, boolean: true, help: 'when identity.key is missing from a data dir that held a node, make a new one anyway: this becomes a new node with a new peer id' }
]

/** The placeholder a usage line shows for a flag's value; a flag not named here shows V. */
const FLAG_VALUE_NAMES: Readonly<Record<string, string>> = {
  config: 'FILE', 'data-dir': 'D', listen: 'MA', bootstrap: 'MA', announce: 'MA', 'swarm-key': 'FILE', 'log-level': 'L', 'metrics-port': 'N', set: 'KEY=VALUE'
}

/** The most a usage line holds before it wraps. */
const USAGE_WIDTH = 100

/**
 * Usage lines naming every flag of `flags`, wrapped under `command`: made from the flag table, so
 * a new flag cannot be left out of the help.
 */
export function usageLines (command: string, flags: readonly FlagSpec[]): string {
  const parts = flags.map(f => `[--${f.name}${f.boolean === true ? '' : ` ${FLAG_VALUE_NAMES[f.name] ?? 'V'}`}]${f.multiple === true ? '...' : ''}`)
  const indent = ' '.repeat(command.length + 1)
  const lines: string[] = []
  let line = command
  for (const p of parts) {
    if (line.length + 1 + p.length > USAGE_WIDTH && line.trim() !== '') {
      lines.push(line)
      line = indent + p
    } else {
      line = line === indent ? line + p : `${line} ${p}`
    }
  }
  lines.push(line)
  return lines.join('\n')
}

export const nodeHelp = `${usageLines('riftmesh node', nodeFlags)}

Run a node: join the mesh through the bootstrap addresses (or the peers it remembers from
earlier runs), replicate the cluster document, and serve the control socket in the data dir.
Prints its peer id and listen addresses on stdout; logs go to stderr (JSON lines, readable when stderr is a terminal).
Without --swarm-key, the key is <data-dir>/swarm.key, created on first start (a new private
network: copy the file to every node that should join). Stops cleanly on SIGINT/SIGTERM.
--repl opens the debug REPL (see 'riftmesh repl --help') on this node in the foreground.
--metrics-port N serves Prometheus metrics on http://<node.metricsHost>:N/metrics.
--reset-state is for a database that cannot be read (the node says so at start): run it once,
with --bootstrap, so that the documents come back from the peers (docs/OPERATIONS.md).
A node whose identity.key is missing from a data dir that held a node refuses to start: restore
the key, or pass --new-identity once to become a new node (riftmesh nodes forget the old id).`

/** True when a node answers on the control socket of `dataDir` (it is running). */
async function nodeRunsOn (dataDir: string): Promise<boolean> {
  return await new Promise(resolve => {
    const socket = createConnection(controlSocketPath(dataDir))
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => { socket.destroy(); resolve(false) })
  })
}

/**
 * `--reset-state`: move `<data-dir>/db` aside (a rename, never a delete) so the node starts with
 * an empty document store; everything else in the data dir stays.
 */
async function resetState (config: RiftmeshConfig, logger: Logger, out: (s: string) => void): Promise<void> {
  const dataDir = config.node.dataDir
  await prepareDataDir(dataDir)
  const db = join(dataDir, 'db')
  const moved = await moveDatabaseAside(db, timestampMs(new SystemClock()))
  if (moved === null) {
    out(`reset-state: no database in ${db}; nothing to move`)
    return
  }
  out(`reset-state: moved ${db} aside to ${moved}; identity, swarm key and data files are kept; the documents re-sync from peers`)
  if (config.node.bootstrap.length === 0) {
    logger.warn({ movedTo: moved }, 'the database was reset: this node remembers no peers now; without --bootstrap it re-syncs nothing until a peer dials it')
  }
}

export async function runNode (args: ParsedArgs, out: (s: string) => void): Promise<number> {
  const file = args.values.get('config')
  const { config, warnings } = await loadConfig({ file: typeof file === 'string' ? file : undefined, flags: configFlags(args), flagLabels: configFlagLabels(args) })
  const repl = args.values.get('repl') === true
  // JSON lines on stderr; readable lines when stderr is a terminal, written around the REPL's
  // prompt when the REPL shares that terminal
  const shared = repl && process.stdin.isTTY && process.stdout.isTTY && process.stderr.isTTY
  const terminalLog = shared ? new TerminalLogDestination(process.stderr, true) : undefined
  const logger = createLogger({ level: config.node.logLevel, destination: terminalLog ?? 2, pretty: 'auto' })
  for (const w of warnings) logger.warn({ envVar: w.envVar }, w.message)
  // before anything is written into the data dir (the identity's incarnation, a swarm key):
  // a running node's files are not touched by a start that is refused (LevelDB's lock would be)
  if (await nodeRunsOn(config.node.dataDir)) {
    const flag = args.values.get('reset-state') === true ? '--reset-state: ' : ''
    throw new StoreError(`${flag}a node is running with --data-dir ${config.node.dataDir}; stop it first, or pick another --data-dir`)
  }
  if (args.values.get('reset-state') === true) await resetState(config, logger, out)
  const node = new RiftNode({ config, logger, newIdentity: args.values.get('new-identity') === true })
  await node.start()
  let done!: (code: number) => void
  let failed!: (err: unknown) => void
  const stopped = new Promise<number>((resolve, reject) => { done = resolve; failed = reject })
  let stopping = false
  /** Why the node stops with an error once it has stopped (a piped REPL script that failed). */
  let outcome: unknown
  /** The foreground REPL (--repl), closed when the node stops on a signal. */
  let session: ReplSession | undefined
  const onSignal = (sig: NodeJS.Signals | 'repl exit'): void => {
    if (stopping) {
      if (sig === 'repl exit') return // the REPL closing because the node stopped
      logger.warn({ sig }, 'second signal: exiting without a clean stop')
      process.exit(1)
    }
    stopping = true
    logger.info({ sig }, 'stopping')
    node.stop().then(() => {
      out('stopped')
      // a signal stopped the node: the REPL goes too, or it would hold the process open
      session?.server.close()
      if (outcome !== undefined) failed(outcome)
      else done(0)
    }, (err: unknown) => {
      logger.error({ err }, 'stop failed')
      done(1)
    })
  }
  // before the lines that say the node is up: whoever reads them may stop the node at once
  process.on('SIGTERM', onSignal)
  if (!repl) process.on('SIGINT', onSignal)
  out(`peer-id ${node.peerId}`)
  for (const a of node.listenAddrs()) out(`listening ${a}`)
  out(`data-dir ${config.node.dataDir}`)
  if (node.swarmKeyCreated) out(`swarm-key ${config.node.swarmKeyFile} (new: copy it to the other nodes)`)
  if (repl) {
    // the REPL owns Ctrl-C (it clears the line); leaving it stops the node
    const dataDir = config.node.dataDir
    openRepl(controlSocketPath(dataDir), join(dataDir, REPL_HISTORY_FILE_NAME), { onStart: s => { session = s; terminalLog?.attach(s) } })
      .then(() => onSignal('repl exit'), (err: unknown) => {
        terminalLog?.attach(undefined)
        if (err instanceof ReplScriptError) outcome = err
        else logger.error({ err }, 'repl failed')
        onSignal('repl exit')
      })
  }
  return await stopped
}
