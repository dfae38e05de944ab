/**
 * Typed operating errors, told apart by `.name` (and `.code` for machines). Programmer errors
 * are plain assertions and are never caught.
 */

export class RiftmeshError extends Error {
  readonly code: string
  constructor (message: string, code: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'RiftmeshError'
    this.code = code
  }
}

/**
 * A configuration value is missing or has the wrong form. Names the key and the expected form.
 * A key written as a flag (`--metrics-port`) is told as `flag "--metrics-port"`, a dotted key as
 * `config "health.deadAfterMs"`.
 */
export class ConfigError extends RiftmeshError {
  readonly key: string
  readonly expected: string
  constructor (key: string, expected: string, detail?: string, options?: { cause?: unknown }) {
    super(`${key.startsWith('--') ? 'flag' : 'config'} "${key}": expected ${expected}${detail !== undefined ? ` (${detail})` : ''}`, 'ERR_CONFIG', options)
    this.name = 'ConfigError'
    this.key = key
    this.expected = expected
  }
}

/** An entry read from the cluster document, a file or a peer failed validation. */
export class ValidationError extends RiftmeshError {
  readonly where: string
  constructor (where: string, message: string, options?: { cause?: unknown }) {
    super(`${where}: ${message}`, 'ERR_VALIDATION', options)
    this.name = 'ValidationError'
    this.where = where
  }
}

/** LevelDB could not be opened, read or written. */
export class StoreError extends RiftmeshError {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_STORE', options)
    this.name = 'StoreError'
  }
}

/**
 * The database under `dir` cannot be read: a damaged or truncated file. The message names the
 * path and the way out (`riftmesh node --reset-state`).
 */
export class CorruptStoreError extends StoreError {
  readonly dir: string
  constructor (dir: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'CorruptStoreError'
    this.dir = dir
  }
}

/**
 * A node cannot listen where it was told to: the port is in use, the address is not this
 * machine's, the transport is not TCP. `option` is the flag that sets it (`--listen`,
 * `--metrics-port`), `address` what was asked for.
 */
export class ListenError extends RiftmeshError {
  readonly option: string
  readonly address: string
  constructor (option: string, address: string, problem: string, options?: { cause?: unknown }) {
    super(`${option} ${address}: ${problem}`, 'ERR_LISTEN', options)
    this.name = 'ListenError'
    this.option = option
    this.address = address
  }
}

/** The data dir cannot be used: it is a file, not writable, or on a read-only file system. */
export class DataDirError extends RiftmeshError {
  readonly dir: string
  constructor (dir: string, problem: string, options?: { cause?: unknown }) {
    super(`--data-dir ${dir}: ${problem}`, 'ERR_DATA_DIR', options)
    this.name = 'DataDirError'
    this.dir = dir
  }
}

/** A write that would break the one-writer-per-key rule of the cluster document. */
export class OwnershipError extends RiftmeshError {
  readonly key: string
  constructor (key: string, message: string) {
    super(`${key}: ${message}`, 'ERR_OWNERSHIP')
    this.name = 'OwnershipError'
    this.key = key
  }
}

/** A component was used before start() or after stop(). */
export class NotStartedError extends RiftmeshError {
  constructor (component: string) {
    super(`${component} is not started`, 'ERR_NOT_STARTED')
    this.name = 'NotStartedError'
  }
}

/** Stringify an unknown thrown value for a log line or an error message. */
export function errorMessage (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
