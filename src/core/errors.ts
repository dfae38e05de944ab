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

/** A configuration value is missing or has the wrong form. Names the key and the expected form. */
export class ConfigError extends RiftmeshError {
  readonly key: string
  readonly expected: string
  constructor (key: string, expected: string, detail?: string, options?: { cause?: unknown }) {
    super(`config "${key}": expected ${expected}${detail !== undefined ? ` (${detail})` : ''}`, 'ERR_CONFIG', options)
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
