/**
 * `riftmesh worker <name> [flags]`: run a built-in workload in the foreground — the same code
 * the default job templates run as `dist/src/workloads/<name>.js`, with the same strict flags.
 */
import { ConfigError } from '../../core/errors.js'
import { flagsHelp } from '../../workloads/flags.js'
import { WORKLOADS } from '../../workloads/registry.js'
import { runWorkload } from '../../workloads/workload.js'
import type { FlagSpec, ParsedArgs } from '../args.js'
import { UsageError, subcommandError } from '../usage.js'

/** Every workload flag (each workload checks its own strictly). */
export const workerFlags: readonly FlagSpec[] = [...new Map(Object.values(WORKLOADS).flatMap(w => w.flags).map(f => [f.name, { name: f.name, key: null, help: f.help } satisfies FlagSpec])).values()]

export const workerHelp = `riftmesh worker <name> [flags]

Run a built-in workload in the foreground, as a job would: ${Object.keys(WORKLOADS).join(', ')}.
It writes its files under --data-dir and its report to <output-dir>/outputs.json.
Exit codes: 0 done, 1 failed, 2 bad flags.

${Object.values(WORKLOADS).map(w => `${w.name}: ${w.summary}\n${flagsHelp(w.flags)}`).join('\n\n')}`

/** `worker <name> --help`: that workload's summary and flags only; undefined for an unknown name. */
export function workloadHelp (name: string): string | undefined {
  if (!Object.hasOwn(WORKLOADS, name)) return undefined
  const w = WORKLOADS[name]
  if (w === undefined) return undefined
  return `riftmesh worker ${w.name} [flags]

${w.summary}
Exit codes: 0 done, 1 failed, 2 bad flags.

Flags:
${flagsHelp(w.flags)}`
}

/** No workload, or one that does not exist. */
function workloadError (name: string | undefined): Error {
  const usage = 'riftmesh worker NAME [flags] (riftmesh worker --help lists them)'
  return subcommandError(name, Object.keys(WORKLOADS), usage, 'workload')
}

export async function runWorker (args: ParsedArgs, out: (s: string) => void): Promise<number> {
  const [name, ...extra] = args.positionals
  const w = name === undefined ? undefined : WORKLOADS[name]
  if (w === undefined || !Object.hasOwn(WORKLOADS, name as string)) throw workloadError(name)
  if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])} after the workload name (only flags may follow it)`, `riftmesh worker ${name as string} [flags]`)
  const argv: string[] = []
  for (const [flag, value] of args.values) {
    if (Array.isArray(value) || typeof value === 'boolean') throw new ConfigError(`--${flag}`, 'one value')
    argv.push(`--${flag}`, value)
  }
  return await runWorkload(w, argv, out, s => { process.stderr.write(`${s}\n`) })
}
