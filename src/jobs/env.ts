/**
 * A job's environment, built explicitly: an allow-list of the node's own variables plus the
 * job's variables plus the runner's `RIFTMESH_JOB_*` facts — never the whole `process.env`
 * (which may hold the node's secrets and its NODE_OPTIONS).
 */

/**
 * Variables of the node's environment a job inherits.
 * @default ['PATH', 'HOME', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TMPDIR', 'USER', 'LOGNAME', 'CUDA_VISIBLE_DEVICES', 'LD_LIBRARY_PATH']
 */
export const DEFAULT_ENV_ALLOW_LIST: readonly string[] = [
  'PATH', 'HOME', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TMPDIR', 'USER', 'LOGNAME',
  'CUDA_VISIBLE_DEVICES', 'LD_LIBRARY_PATH'
]
/** Most variables a job spec may set. */
export const MAX_JOB_ENV_VARS = 256
/** Longest value of one job variable, in characters. */
export const MAX_ENV_VALUE_CHARS = 32_768

export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/

/** Why a job env is unusable, or undefined when it is fine. */
export function checkJobEnv (env: Readonly<Record<string, string>>): string | undefined {
  const names = Object.keys(env)
  if (names.length > MAX_JOB_ENV_VARS) return `${names.length} environment variables, more than ${MAX_JOB_ENV_VARS}`
  for (const name of names) {
    const value = env[name]
    if (!ENV_NAME_PATTERN.test(name)) return `environment variable name ${JSON.stringify(name.slice(0, 64))} is not valid`
    if (typeof value !== 'string') return `environment variable ${name} is not a string`
    if (value.length > MAX_ENV_VALUE_CHARS) return `environment variable ${name} is longer than ${MAX_ENV_VALUE_CHARS} characters`
    if (value.includes('\0')) return `environment variable ${name} contains a NUL character`
  }
  return undefined
}

/** The allow-listed part of the node's environment. */
export function baseEnv (parent: Readonly<Record<string, string | undefined>>, allowList: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {}
  for (const name of allowList) {
    const value = parent[name]
    if (value !== undefined) env[name] = value
  }
  return env
}

/** base < the job's variables < the runner's facts (which a job cannot override). */
export function jobEnv (
  base: Readonly<Record<string, string>>,
  own: Readonly<Record<string, string>> | undefined,
  facts: Readonly<Record<string, string>>
): Record<string, string> {
  return { ...base, ...(own ?? {}), ...facts }
}
