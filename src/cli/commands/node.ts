import { pino } from 'pino'
import { loadConfig } from '../../config/index.js'
import { RiftNode } from '../../node/node.js'
import { CONFIG_FLAGS, configFlags, type FlagSpec, type ParsedArgs } from '../args.js'

export const nodeFlags: readonly FlagSpec[] = CONFIG_FLAGS

export const nodeHelp = `riftmesh node [--data-dir D] [--listen MA]... [--bootstrap MA]... [--swarm-key FILE] [--config FILE]

Run a node: join the mesh through the bootstrap addresses (or the peers it remembers from
earlier runs), replicate the cluster document, and serve the control socket in the data dir.
Prints its peer id and listen addresses on stdout; logs (JSON) go to stderr.
Without --swarm-key, the key is <data-dir>/swarm.key, created on first start (a new private
network: copy the file to every node that should join). Stops cleanly on SIGINT/SIGTERM.`

export async function runNode (args: ParsedArgs, out: (s: string) => void): Promise<number> {
  const file = args.values.get('config')
  const { config, warnings } = await loadConfig({ file: typeof file === 'string' ? file : undefined, flags: configFlags(args) })
  const logger = pino({ level: config.node.logLevel, base: null }, pino.destination(2))
  for (const w of warnings) logger.warn({ envVar: w.envVar }, w.message)
  const node = new RiftNode({ config, logger })
  await node.start()
  out(`peer-id ${node.peerId}`)
  for (const a of node.listenAddrs()) out(`listening ${a}`)
  out(`data-dir ${config.node.dataDir}`)
  if (node.swarmKeyCreated) out(`swarm-key ${config.node.swarmKeyFile} (new: copy it to the other nodes)`)
  return await new Promise<number>(resolve => {
    let stopping = false
    const onSignal = (sig: NodeJS.Signals): void => {
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
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
}
