import { describeConfig, loadConfig } from '../../config/index.js'
import { CONFIG_FLAGS, configFlagLabels, configFlags, type ParsedArgs, type FlagSpec } from '../args.js'

export const configFlagsSpec: readonly FlagSpec[] = [
  ...CONFIG_FLAGS,
  { name: 'describe', key: null, boolean: true, help: 'list every key with its default, env var and meaning' }
]

/** Longer defaults (tables) are cut in the listing; `riftmesh config` prints them whole. */
const MAX_DEFAULT_CHARS = 36

export const configHelp = `riftmesh config [--describe] [config flags]

Print the configuration a node would run with (defaults < file < RIFTMESH_* env < flags) as JSON,
or with --describe, a table of every key, its default and what it means.`

export async function runConfig (args: ParsedArgs, out: (s: string) => void): Promise<number> {
  if (args.values.get('describe') === true) {
    const rows = describeConfig()
    const w = Math.max(...rows.map(r => r.key.length))
    const short = (t: string): string => (t.length > MAX_DEFAULT_CHARS ? `${t.slice(0, MAX_DEFAULT_CHARS - 1)}…` : t)
    const d = Math.max(...rows.map(r => short(r.defaultText).length))
    for (const r of rows) out(`${r.key.padEnd(w)}  ${short(r.defaultText).padEnd(d)}  ${r.description} [${r.env}]`)
    return 0
  }
  const file = args.values.get('config')
  const loaded = await loadConfig({ file: typeof file === 'string' ? file : undefined, flags: configFlags(args), flagLabels: configFlagLabels(args) })
  for (const w of loaded.warnings) process.stderr.write(`warning: ${w.message}\n`)
  out(JSON.stringify(loaded.config, null, 2))
  return 0
}
