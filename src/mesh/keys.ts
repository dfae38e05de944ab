/**
 * The node's identity key and the private-network swarm key, both files in the data dir
 * (mode 0600). The identity key keeps the peer id across restarts; a missing one is made anew
 * only in a data dir that holds no earlier node's state, or when asked (`--new-identity`).
 */
import { readFile, writeFile, mkdir, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { generateKey } from '@libp2p/pnet'
import type { PrivateKey } from '@libp2p/interface'
import { ConfigError, RiftmeshError, errorMessage } from '../core/errors.js'
import { INCARNATION_FILE_NAME, readIncarnation } from './incarnation.js'

export const IDENTITY_FILE_NAME = 'identity.key'

async function exists (path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw err
  }
}

/**
 * What in `dataDir` shows that a node ran there before: its incarnation record (naming its peer
 * id) or a database. Null for a fresh data dir.
 */
export async function earlierNodeState (dataDir: string): Promise<string | null> {
  const record = await readIncarnation(dataDir).catch(() => undefined)
  if (record !== undefined) return `${INCARNATION_FILE_NAME} of peer ${record.peerId}`
  if (await exists(join(dataDir, INCARNATION_FILE_NAME))) return INCARNATION_FILE_NAME
  if (await exists(join(dataDir, 'db', 'CURRENT'))) return `a database in ${join(dataDir, 'db')}`
  return null
}

export interface IdentityOptions {
  /** Make a new key even though the data dir holds an earlier node's state. @default false */
  newIdentity?: boolean
}

/**
 * Load the identity key at `path`, or create and save a new Ed25519 key there — unless the
 * directory holds the state of the node the missing key belonged to: a new key would silently
 * make it another node (another peer id, out of `voters`), so that is refused unless
 * `newIdentity`.
 */
export async function loadOrCreateIdentity (path: string, options: IdentityOptions = {}): Promise<{ key: PrivateKey, created: boolean }> {
  if (await exists(path)) {
    const bytes = await readFile(path)
    try {
      return { key: privateKeyFromProtobuf(new Uint8Array(bytes)), created: false }
    } catch (err) {
      throw new RiftmeshError(`identity key ${path} is not a libp2p private key (${errorMessage(err)}); move it away to get a new identity`, 'ERR_IDENTITY', { cause: err })
    }
  }
  const earlier = options.newIdentity === true ? null : await earlierNodeState(dirname(path))
  if (earlier !== null) {
    throw new RiftmeshError(`identity key ${path} is missing, but the data dir holds the state of the node it belonged to (${earlier}); ` +
      'restore identity.key from a backup to keep that peer id (and its place in voters), or start once with --new-identity to make this a new node ' +
      '(then remove the old one from the node table: riftmesh nodes forget <old peer id>)', 'ERR_IDENTITY')
  }
  const key = await generateKeyPair('Ed25519')
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  await writeFile(path, privateKeyToProtobuf(key), { mode: 0o600, flag: 'wx' })
  return { key, created: true }
}

/** A new swarm key in the go-ipfs/libp2p format (`/key/swarm/psk/1.0.0/`, base16, 32 bytes). */
export function newSwarmKey (): Uint8Array {
  const key = new Uint8Array(95)
  generateKey(key)
  return key
}

const SWARM_KEY_RE = /^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-fA-F]{64}\s*$/

/** Write a new swarm key to `path`; refuses to replace an existing file unless `force`. */
export async function writeSwarmKey (path: string, options: { force?: boolean } = {}): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  try {
    await writeFile(path, newSwarmKey(), { mode: 0o600, flag: options.force === true ? 'w' : 'wx' })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new ConfigError('swarm key', 'a path that does not exist yet (or --force)', `${path} already exists`)
    }
    throw err
  }
}

/**
 * What to do when the swarm key file is missing: `create` a new one (a new private network: other
 * nodes must be given this file), or refuse — `join` for a node given bootstrap addresses (it
 * needs the key of the cluster it joins), `require` for a key file named explicitly.
 */
export type MissingSwarmKey = 'create' | 'join' | 'require'

/**
 * The warning for a swarm key file that group or others may read or write (whoever reads the key
 * can join the cluster), or null when only its owner can.
 */
export function swarmKeyModeWarning (path: string, fileMode: number): string | null {
  const open = fileMode & 0o077
  if (open === 0) return null
  const who = [(open & 0o070) !== 0 ? 'group' : null, (open & 0o007) !== 0 ? 'others' : null].filter(w => w !== null).join(' and ')
  return `swarm key ${path} is open to ${who} (mode ${(fileMode & 0o777).toString(8).padStart(4, '0')}): whoever can read it can join this cluster; run chmod 600 ${path}`
}

/**
 * Read the swarm key at `path`; when it is missing, as `missing` says. `warning` is set when the
 * file is open to group or others.
 */
export async function loadSwarmKey (path: string, mode: MissingSwarmKey): Promise<{ key: Uint8Array, created: boolean, warning: string | null }> {
  let created = false
  if (!(await exists(path))) {
    if (mode === 'join') {
      throw new ConfigError('node.swarmKeyFile', 'the swarm key of the cluster this node joins (copy that file from a member to this path, or pass --swarm-key FILE); a node given --bootstrap never makes a new key', `${path} not found`)
    }
    if (mode === 'require') throw new ConfigError('node.swarmKeyFile', 'an existing swarm key file (make one with `riftmesh keygen --swarm-key FILE`)', `${path} not found`)
    await writeSwarmKey(path)
    created = true
  }
  const bytes = new Uint8Array(await readFile(path))
  if (!SWARM_KEY_RE.test(new TextDecoder().decode(bytes))) {
    throw new ConfigError('node.swarmKeyFile', 'a libp2p swarm key file (/key/swarm/psk/1.0.0/, /base16/, 64 hex digits)', `${path} has another format`)
  }
  return { key: bytes, created, warning: swarmKeyModeWarning(path, (await stat(path)).mode) }
}
