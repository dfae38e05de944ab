/**
 * Operating errors of the built-in workloads, told apart by `.name`. A `UsageError` (bad or
 * missing flags) makes a workload exit with code 2; any other error with code 1.
 */
import { RiftmeshError } from '../core/errors.js'

/** Flags a workload cannot run with: unknown, missing, malformed. */
export class UsageError extends RiftmeshError {
  readonly flag: string
  constructor (flag: string, message: string) {
    super(`${flag}: ${message}`, 'ERR_USAGE')
    this.name = 'UsageError'
    this.flag = flag
  }
}

/** A board name that is not one of the game family's boards. */
export class UnknownBoardError extends RiftmeshError {
  readonly board: string
  constructor (board: string, known: readonly string[]) {
    super(`unknown board ${JSON.stringify(board)} (one of ${known.join(', ')})`, 'ERR_UNKNOWN_BOARD')
    this.name = 'UnknownBoardError'
    this.board = board
  }
}

/** A game record, model or data file that cannot be used. */
export class WorkloadDataError extends RiftmeshError {
  readonly path: string
  constructor (path: string, message: string, options?: { cause?: unknown }) {
    super(`${path}: ${message}`, 'ERR_WORKLOAD_DATA', options)
    this.name = 'WorkloadDataError'
    this.path = path
  }
}
