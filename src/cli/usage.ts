/**
 * Errors in how a command was called — a missing or unknown subcommand or argument — as one line
 * that names the problem and shows the usage. (A bad flag value is a ConfigError naming the
 * flag; a bad config key one naming the key.)
 */
import { RiftmeshError } from '../core/errors.js'
import { suggestKey } from '../config/parse.js'

export class UsageError extends RiftmeshError {
  constructor (problem: string, usage: string) {
    super(`${problem}; usage: ${usage}`, 'ERR_USAGE')
    this.name = 'UsageError'
  }
}

/**
 * `got` is not a `what` (subcommand, workload …) among `known` (undefined: none was given), with
 * a did-you-mean when one is close.
 */
export function subcommandError (got: string | undefined, known: readonly string[], usage: string, what = 'subcommand'): UsageError {
  if (got === undefined) return new UsageError(`no ${what} given (${known.join(', ')})`, usage)
  const near = suggestKey(got, known)
  return new UsageError(`unknown ${what} ${JSON.stringify(got)} (${near !== null ? `did you mean ${JSON.stringify(near)}?` : known.join(', ')})`, usage)
}
