/**
 * What a workload is and how one runs: strict flags in, a list of output lines out (written to
 * `<outputDir>/outputs.json` for the JobWorker and printed to stdout). Exit codes: 0 done,
 * 2 bad flags (`UsageError`), 1 any other failure — with one line on stderr saying why.
 */
import { RiftmeshError, errorMessage } from '../core/errors.js'
import { UsageError } from './errors.js'
import { flagsHelp, int, parseFlags, str, type FlagDef, type FlagValues } from './flags.js'
import { writeOutputs } from './io.js'
import { boardFor, type Board } from './board.js'
import { jobSeed } from './play.js'

export interface WorkloadIo {
  /** A line of progress for the job's log (stdout). */
  log: (line: string) => void
}

export interface Workload {
  name: string
  summary: string
  flags: readonly FlagDef[]
  /** Run with parsed flags; returns the output lines. */
  run: (flags: FlagValues, io: WorkloadIo) => Promise<string[]>
}

/** Flags every workload takes. */
export const JOB_ID_FLAG: FlagDef = { name: 'job-id', kind: 'string', required: true, help: 'the job id (names the files written; seeds the games unless --seed)' }
export const OUTPUT_DIR_FLAG: FlagDef = { name: 'output-dir', kind: 'string', required: true, help: 'where outputs.json goes' }
export const DATA_DIR_FLAG: FlagDef = { name: 'data-dir', kind: 'string', required: true, help: 'the node\'s data dir (selfplay/, models/, training/ live there)' }
export const SEED_FLAG: FlagDef = { name: 'seed', kind: 'int', min: 0, max: 0xffff_ffff, help: 'seed of the job\'s randomness (default: derived from --job-id)' }
export const CONFIG_FLAG: FlagDef = { name: 'config', kind: 'string', required: true, help: 'board config <board>_<players>p, e.g. hex8_2p' }
/** Most games one job plays. */
export const MAX_GAMES_PER_JOB = 100_000
export const GAMES_FLAG: FlagDef = { name: 'games', kind: 'int', required: true, min: 1, max: MAX_GAMES_PER_JOB, help: 'games to play' }

const CONFIG_KEY = /^([a-z][a-z0-9]*)_(\d+)p$/

/** The board of a config key flag value. */
export function configBoard (config: string, flag = '--config'): Board {
  const m = CONFIG_KEY.exec(config)
  if (m === null) throw new UsageError(flag, `expected <board>_<players>p, got ${JSON.stringify(config.slice(0, 40))}`)
  try {
    return boardFor(m[1] as string, Number(m[2]))
  } catch (err) {
    throw new UsageError(flag, errorMessage(err))
  }
}

/** What a job of one config works with, from the common flags. */
export interface ConfigJob {
  config: string
  board: Board
  players: number
  dataDir: string
  jobId: string
  /** --seed, or derived from the job id. */
  seed: number
}

export function configJob (flags: FlagValues): ConfigJob {
  const config = str(flags, 'config')
  const board = configBoard(config)
  return {
    config,
    board,
    players: Number(CONFIG_KEY.exec(config)?.[2]),
    dataDir: str(flags, 'data-dir'),
    jobId: str(flags, 'job-id'),
    seed: jobSeed(str(flags, 'job-id'), flags.has('seed') ? int(flags, 'seed', 0) : undefined)
  }
}

/** Help text of a workload. */
export function workloadHelp (w: Workload, prefix = `node dist/src/workloads/${w.name}.js`): string {
  return `${prefix} [flags]\n\n${w.summary}\n\nFlags:\n${flagsHelp(w.flags)}\n\nExit codes: 0 done, 1 failed, 2 bad flags. Outputs go to <output-dir>/outputs.json.`
}

/** Run a workload with argv; prints and reports; returns the exit code. */
export async function runWorkload (w: Workload, argv: readonly string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    out(workloadHelp(w))
    return 0
  }
  try {
    const flags = parseFlags(argv, w.flags)
    const outputs = await w.run(flags, { log: out })
    await writeOutputs(str(flags, 'output-dir'), outputs)
    for (const o of outputs) out(o)
    return 0
  } catch (e) {
    if (e instanceof UsageError) {
      err(`${w.name}: ${e.message}\n(run with --help for the flags)`)
      return 2
    }
    if (e instanceof RiftmeshError || typeof (e as NodeJS.ErrnoException).code === 'string') {
      // an operating error (ours, or the file system's): one line, no stack
      err(`${w.name}: ${errorMessage(e)}`)
      return 1
    }
    throw e
  }
}

/** The entry point of a workload script: run it on the process's argv and set the exit code. */
export async function workloadMain (w: Workload): Promise<void> {
  // a closed pipe (`… | head`) is not a failure of the job
  process.stdout.on('error', (e: NodeJS.ErrnoException) => { if (e.code !== 'EPIPE') throw e })
  process.exitCode = await runWorkload(w, process.argv.slice(2), s => { process.stdout.write(`${s}\n`) }, s => { process.stderr.write(`${s}\n`) })
}
