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
import { runWorker, workerFlags, workerHelp, workloadHelp } from './commands/worker.js'
import { abFlags, abHelp, runAb } from './commands/ab.js'
import { demoFlags, demoHelp, runDemo } from './commands/demo.js'
import { docHelp, inspectFlags, runDoc, runSettings, runStatus, settingsFlags, settingsHelp, statusFlags, statusHelp } from './commands/inspect.js'
import { replFlags, replHelp, runRepl } from './commands/repl.js'
import { nodesFlags, nodesHelp, runNodes } from './commands/nodes.js'
import { modelsFlags, modelsHelp, runModels } from './commands/models.js'
import { operatorsFlags, operatorsHelp, revokeFlags, revokeHelp, runOperators, runReinstate, runRevoke } from './commands/trust.js'

interface Command {
  summary: string
  help: string
  /** The help of one topic (`worker train --help`), or undefined to show the whole help. */
  topicHelp?: (topic: string) => string | undefined
  flags: readonly FlagSpec[]
  run: (args: ParsedArgs, out: (s: string) => void) => Promise<number>
}

const commands: Record<string, Command> = {
  node: { summary: 'run a node: join the mesh and replicate the cluster state', help: nodeHelp, flags: nodeFlags, run: runNode },
  status: { summary: 'a running node\'s view of the cluster', help: statusHelp, flags: statusFlags, run: runStatus },
  nodes: { summary: 'the node table; forget a node that is gone for good', help: nodesHelp, flags: nodesFlags, run: runNodes },
  settings: { summary: 'read, change, unset or describe cluster-wide settings', help: settingsHelp, flags: settingsFlags, run: runSettings },
  models: { summary: 'each config\'s best model; an operator\'s promotion override (set, restore)', help: modelsHelp, flags: modelsFlags, run: runModels },
  operators: { summary: 'the operator keys in effect; add or remove one (signed with an operator key)', help: operatorsHelp, flags: operatorsFlags, run: runOperators },
  revoke: { summary: 'revoke a machine: honest nodes hang up on it, ignore its entries, re-run its jobs', help: revokeHelp, flags: revokeFlags, run: runRevoke },
  reinstate: { summary: 'undo a revocation (signed with an operator key)', help: revokeHelp, flags: revokeFlags, run: runReinstate },
  doc: { summary: 'a running node\'s cluster documents as JSON', help: docHelp, flags: inspectFlags, run: runDoc },
  repl: { summary: 'a debug REPL attached to a running node', help: replHelp, flags: replFlags, run: runRepl },
  ab: { summary: 'A/B tests between two models: start, list, show, cancel', help: abHelp, flags: abFlags, run: runAb },
  demo: { summary: 'a local cluster of real nodes running the whole loop (npm run cluster)', help: demoHelp, flags: demoFlags, run: runDemo },
  sim: { summary: 'run scenarios or random fault schedules on the network simulator', help: simHelp, flags: simFlags, run: runSim },
  keygen: { summary: 'write a new private-network swarm key, or an operator key', help: keygenHelp, flags: keygenFlags, run: runKeygen },
  config: { summary: 'print the resolved configuration, or --describe every key', help: configHelp, flags: configFlagsSpec, run: runConfig },
  worker: { summary: 'run a built-in workload (selfplay, train, export, gauntlet, tournament, sync) in the foreground', help: workerHelp, topicHelp: workloadHelp, flags: workerFlags, run: runWorker }
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
    const topic = rest[0] !== undefined && !rest[0].startsWith('-') ? cmd.topicHelp?.(rest[0]) : undefined
    out(topic ?? `${cmd.help}\n\nFlags:\n${flagHelp(cmd.flags)}`)
    return 0
  }
  try {
    const parsed = parseArgs([first, ...rest], cmd.flags)
    return await cmd.run(parsed, out)
  } catch (err) {
    process.stderr.write(`${errorLine(first, err)}\n`)
    if (wantsStack(rest, process.env)) process.stderr.write(`${stackOf(err)}\n`)
    return err instanceof RiftmeshError && BAD_INPUT_CODES.has(err.code) ? 2 : 1
  }
}

/** Errors in what the user typed (flags, config, arguments): exit code 2, as for a usage error. */
const BAD_INPUT_CODES = new Set(['ERR_CONFIG', 'ERR_USAGE'])

/** Message lines that are stack frames (libp2p puts some into its messages). */
const STACK_FRAME = /^\s*at\s/

/**
 * The one line a failed command prints: the command, then the message with its lines joined and
 * stack frames left out. An error that is not one of ours says so and how to see the stack.
 */
function errorLine (command: string, err: unknown): string {
  const text = err instanceof Error ? err.message : String(err)
  const line = text.split('\n').filter(l => !STACK_FRAME.test(l)).map(l => l.trim()).filter(l => l !== '').join(' ')
  if (err instanceof RiftmeshError) return `riftmesh ${command}: ${line}`
  return `riftmesh ${command}: unexpected error: ${line} (run again with --log-level debug for the stack trace)`
}

/** `--log-level debug|trace` (flag, --set or env) asks for the stack of a failure. */
function wantsStack (argv: readonly string[], env: Readonly<Record<string, string | undefined>>): boolean {
  const verbose = (v: string | undefined): boolean => v === 'debug' || v === 'trace'
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string
    if (a === '--log-level' && verbose(argv[i + 1])) return true
    if (a.startsWith('--log-level=') && verbose(a.slice('--log-level='.length))) return true
    if (a === '--set' && /^node\.logLevel=(debug|trace)$/.test(argv[i + 1] ?? '')) return true
    if (/^--set=node\.logLevel=(debug|trace)$/.test(a)) return true
  }
  return verbose(env.RIFTMESH_NODE_LOG_LEVEL)
}

/** The stack of `err` and of each error in its cause chain. */
function stackOf (err: unknown): string {
  const out: string[] = []
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    out.push(`${depth > 0 ? 'caused by: ' : ''}${e instanceof Error ? e.stack ?? e.message : String(e)}`)
  }
  return out.join('\n')
}

// A closed pipe (`riftmesh config | head`) is not an error worth a stack trace. A command that
// listens for it itself (demo: it stops its nodes first) ends on its own.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err
  if (process.stdout.listenerCount('error') === 1) process.exit(process.exitCode ?? 0)
})
process.exitCode = await main(process.argv.slice(2))
