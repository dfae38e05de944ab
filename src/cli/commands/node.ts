import { join } from 'node:path'
import { loadConfig } from '../../config/index.js'
import { createLogger } from '../../core/logger.js'
import { controlSocketPath } from '../../repl/control.js'
import { RiftNode } from '../../node/node.js'
import { CONFIG_FLAGS, configFlags, type FlagSpec, type ParsedArgs } from '../args.js'
import { REPL_HISTORY_FILE_NAME, openRepl } from './repl.js'

export const nodeFlags: readonly FlagSpec[] = [
  ...CONFIG_FLAGS,
  { name: 'repl', key: null, boolean: true, help: 'open the debug REPL on this node in the foreground; leaving it stops the node' }
]

export const nodeHelp = `riftmesh node [--data-dir D] [--listen MA]... [--bootstrap MA]... [--swarm-key FILE] [--config FILE]

Run a node: join the mesh through the bootstrap addresses (or the peers it remembers from
earlier runs), replicate the cluster document, and serve the control socket in the data dir.
Prints its peer id and listen addresses on stdout; logs go to stderr (JSON lines, readable when stderr is a terminal).
Without --swarm-key, the key is <data-dir>/swarm.key, created on first start (a new private
network: copy the file to every node that should join). Stops cleanly on SIGINT/SIGTERM.
--repl opens the debug REPL (see 'riftmesh repl --help') on this node in the foreground.
--metrics-port N serves Prometheus metrics on http://<node.metricsHost>:N/metrics.`

export async function runNode (args: ParsedArgs, out: (s: string) => void): Promise<number> {
  const file = args.values.get('config')
  const { config, warnings } = await loadConfig({ file: typeof file === 'string' ? file : undefined, flags: configFlags(args) })
  // JSON lines on stderr; readable lines when stderr is a terminal
  const logger = createLogger({ level: config.node.logLevel, destination: 2, pretty: 'auto' })
  for (const w of warnings) logger.warn({ envVar: w.envVar }, w.message)
  const node = new RiftNode({ config, logger })
  await node.start()
  out(`peer-id ${node.peerId}`)
  for (const a of node.listenAddrs()) out(`listening ${a}`)
  out(`data-dir ${config.node.dataDir}`)
  if (node.swarmKeyCreated) out(`swarm-key ${config.node.swarmKeyFile} (new: copy it to the other nodes)`)
  return await new Promise<number>(resolve => {
    let stopping = false
    const onSignal = (sig: NodeJS.Signals | 'repl exit'): void => {
      if (stopping) {
        logger.warn({ sig }, 'second signal: exiting without a clean stop')
        process.exit(1)
      }
      stopping = true
      logger.info({ sig }, 'stopping')
      node.stop().then(() => {
        out('stopped')
        resolve(0)
      }, (err: unknown) => {
        logger.error({ err }, 'stop failed')
        resolve(1)
      })
    }
    process.on('SIGTERM', onSignal)
    if (args.values.get('repl') !== true) {
      process.on('SIGINT', onSignal)
      return
    }
    // the REPL owns Ctrl-C (it clears the line); leaving it stops the node
    const dataDir = config.node.dataDir
    openRepl(controlSocketPath(dataDir), join(dataDir, REPL_HISTORY_FILE_NAME), false)
      .then(() => onSignal('repl exit'), (err: unknown) => { logger.error({ err }, 'repl failed'); onSignal('repl exit') })
  })
}
