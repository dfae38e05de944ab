/**
 * Operator keys on the side of whoever signs: write a new one (`riftmesh keygen --operator`),
 * load one to sign with (`--operator-key FILE`, `RIFTMESH_OPERATOR_KEY`, the REPL's
 * `settings.useOperatorKey(FILE)`). The file is a libp2p Ed25519 private key in its protobuf
 * form (as identity.key), mode 0600; the operator id is its peer id string. The key stays in the
 * process that signs: the node only ever sees signed entries.
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { ConfigError, RiftmeshError, errorMessage } from '../core/errors.js'
import { ed25519Signer, type EntrySigner } from '../state/entry-sig.js'

/** The environment variable naming the operator key file when no flag does. */
export const OPERATOR_KEY_ENV = 'RIFTMESH_OPERATOR_KEY'

/** The one line a change needs when the cluster has operator keys and none was given. */
export const OPERATOR_KEY_NEEDED = 'cluster settings need an operator key: pass --operator-key FILE (riftmesh keygen --operator)'

/** An operator key file that cannot be used (missing, not an Ed25519 libp2p key). */
export class OperatorKeyError extends RiftmeshError {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_OPERATOR_KEY', options)
    this.name = 'OperatorKeyError'
  }
}

/** Write a new operator key to `path` (mode 0600, never over an existing file); returns its operator id. */
export async function writeOperatorKey (path: string): Promise<string> {
  const key = await generateKeyPair('Ed25519')
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  try {
    await writeFile(path, privateKeyToProtobuf(key), { mode: 0o600, flag: 'wx' })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new ConfigError('--operator', 'a path that does not exist yet (an operator key is never overwritten)', `${path} already exists`)
    }
    throw err
  }
  return ed25519Signer(key.raw).id
}

/** The signer of the operator key at `path`. */
export async function loadOperatorKey (path: string): Promise<EntrySigner> {
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (err) {
    throw new OperatorKeyError(`operator key ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}); make one with riftmesh keygen --operator FILE`, { cause: err })
  }
  let raw: Uint8Array
  try {
    const key = privateKeyFromProtobuf(new Uint8Array(bytes))
    if (key.type !== 'Ed25519') throw new Error(`a ${key.type} key`)
    raw = key.raw
  } catch (err) {
    throw new OperatorKeyError(`operator key ${path} is not an Ed25519 libp2p private key (${errorMessage(err)}); make one with riftmesh keygen --operator FILE`, { cause: err })
  }
  return ed25519Signer(raw)
}

/**
 * The warning for an operator key file that group or others may read (whoever reads it holds the
 * cluster's authority), or null.
 */
export async function operatorKeyModeWarning (path: string): Promise<string | null> {
  const mode = (await stat(path)).mode
  if ((mode & 0o077) === 0) return null
  return `warning: operator key ${path} is readable by others (mode ${(mode & 0o777).toString(8).padStart(4, '0')}): whoever reads it holds the cluster's authority; run chmod 600 ${path}`
}

/** The operator key file to sign with: the flag's value, else the environment's, else none. */
export function operatorKeyPath (flag: unknown, env: Readonly<Record<string, string | undefined>>): string | undefined {
  if (typeof flag === 'string' && flag.length > 0) return flag
  const fromEnv = env[OPERATOR_KEY_ENV]
  return fromEnv !== undefined && fromEnv.length > 0 ? fromEnv : undefined
}
