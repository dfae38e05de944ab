#!/usr/bin/env node
/**
 * The `riftmesh` command. User-facing output goes to stdout/stderr here (the one place outside
 * logs that writes to the console); operating errors print one clear line, never a stack trace.
 */
import { readFileSync } from 'node:fs'
import { RiftmeshError } from '../core/errors.js'
import { flagHelp, parseArgs, type FlagSpec, type ParsedArgs } from './args.js'
import { configFlagsSpec, configHelp, runConfig } from './commands/config.js'
import { nodeFlags, nodeHelp, runNode } from './commands/node.js'
import { keygenFlags, keygenHelp, runKeygen } from './commands/keygen.js'
import { runSim, simFlags, simHelp } from './commands/sim.js'
import { runWorker, workerFlags, workerHelp } from './commands/worker.js'
import { abFlags, abHelp, runAb } from './commands/ab.js'
import { demoFlags, demoHelp, runDemo } from './commands/demo.js'
import { docHelp, inspectFlags, runDoc, runSettings, runStatus, settingsFlags, settingsHelp, statusFlags, statusHelp } from './commands/inspect.js'
import { replFlags, replHelp, runRepl } from './commands/repl.js'

interface Command {
  summary: string
  help: string
  flags: readonly FlagSpec[]
  run: (args: ParsedArgs, out: (s: string) => void) => Promise<number>
}

const commands: Record<string, Command> = {
  node: { summary: 'run a node: join the mesh and replicate the cluster state', help: nodeHelp, flags: nodeFlags, run: runNode },
  status: { summary: 'a running node\'s view of the cluster', help: statusHelp, flags: statusFlags, run: runStatus },
  settings: { summary: 'read, change, unset or describe cluster-wide settings', help: settingsHelp, flags: settingsFlags, run: runSettings },
  doc: { summary: 'a running node\'s cluster documents as JSON', help: docHelp, flags: inspectFlags, run: runDoc },
  repl: { summary: 'a debug REPL attached to a running node', help: replHelp, flags: replFlags, run: runRepl },
  ab: { summary: 'A/B tests between two models: start, list, show, cancel', help: abHelp, flags: abFlags, run: runAb },
  demo: { summary: 'a local cluster of real nodes running the whole loop (npm run cluster)', help: demoHelp, flags: demoFlags, run: runDemo },
  sim: { summary: 'run scenarios or random fault schedules on the network simulator', help: simHelp, flags: simFlags, run: runSim },
  keygen: { summary: 'write a new private-network swarm key', help: keygenHelp, flags: keygenFlags, run: runKeygen },
  config: { summary: 'print the resolved configuration, or --describe every key', help: configHelp, flags: configFlagsSpec, run: runConfig },
  worker: { summary: 'run a built-in workload (selfplay, train, export, gauntlet, tournament, sync) in the foreground', help: workerHelp, flags: workerFlags, run: runWorker }
}

function version (): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

function usage (): string {
  const w = Math.max(...Object.keys(commands).map(c => c.length))
  return `riftmesh ${version()} — peer-to-peer orchestrator for self-play / training clusters

Usage: riftmesh <command> [flags]

Commands:
${Object.entries(commands).map(([n, c]) => `  ${n.padEnd(w)}  ${c.summary}`).join('\n')}

Run 'riftmesh <command> --help' for a command's flags.`
}

export async function main (argv: readonly string[]): Promise<number> {
  const out = (s: string): void => { process.stdout.write(`${s}\n`) }
  const [first, ...rest] = argv
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    out(usage())
    return first === undefined ? 2 : 0
  }
  if (first === '--version' || first === '-v') {
    out(version())
    return 0
  }
  const cmd = commands[first]
  if (cmd === undefined) {
    process.stderr.write(`riftmesh: unknown command '${first}'\n\n${usage()}\n`)
    return 2
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    out(`${cmd.help}\n\nFlags:\n${flagHelp(cmd.flags)}`)
    return 0
  }
  try {
    const parsed = parseArgs([first, ...rest], cmd.flags)
    return await cmd.run(parsed, out)
  } catch (err) {
    if (err instanceof RiftmeshError) {
      process.stderr.write(`riftmesh ${first}: ${err.message}\n`)
      return err.code === 'ERR_CONFIG' ? 2 : 1
    }
    throw err
  }
}

// A closed pipe (`riftmesh config | head`) is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0)
  throw err
})
process.exitCode = await main(process.argv.slice(2))
