/**
 * The node's identity key and the private-network swarm key, both files in the data dir
 * (mode 0600). The identity key keeps the peer id across restarts.
 */
import { readFile, writeFile, mkdir, stat } from 'node:fs/promises'
import { dirname } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { generateKey } from '@libp2p/pnet'
import type { PrivateKey } from '@libp2p/interface'
import { ConfigError, RiftmeshError, errorMessage } from '../core/errors.js'

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

/** Load the identity key at `path`, or create and save a new Ed25519 key there. */
export async function loadOrCreateIdentity (path: string): Promise<{ key: PrivateKey, created: boolean }> {
  if (await exists(path)) {
    const bytes = await readFile(path)
    try {
      return { key: privateKeyFromProtobuf(new Uint8Array(bytes)), created: false }
    } catch (err) {
      throw new RiftmeshError(`identity key ${path} is not a libp2p private key (${errorMessage(err)}); move it away to get a new identity`, 'ERR_IDENTITY', { cause: err })
    }
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

/** Read the swarm key at `path`; when it is missing, as `missing` says. */
export async function loadSwarmKey (path: string, mode: MissingSwarmKey): Promise<{ key: Uint8Array, created: boolean }> {
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
  return { key: bytes, created }
}
