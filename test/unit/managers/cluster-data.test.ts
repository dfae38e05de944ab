import { describe, expect, it } from 'vitest'
import { clusterDataByConfig, localGamesByConfig } from '../../../src/managers/cluster-data.js'
import type { Manifest, ManifestFile } from '../../../src/state/schema.js'

const sha = (n: number): string => n.toString(16).padStart(64, '0')
const file = (n: number, config: ManifestFile['config'], gameCount: number, kind: ManifestFile['kind'] = 'selfplay'): ManifestFile =>
  ({ size: 100, mtimeMs: 1, sha256: sha(n), kind, config, gameCount })

function manifest (nodeId: string, files: Record<string, ManifestFile>, truncated = false, summary: Manifest['summary'] = {}): Manifest {
  return { v: 1, nodeId, generatedAt: 1, totalFiles: Object.keys(files).length, totalBytes: 0, summary, files, truncated }
}

describe('cluster data per config', () => {
  it('no manifests → nothing', () => {
    expect(clusterDataByConfig([]).size).toBe(0)
  })

  it('keeps hex8 and hexagonal apart', () => {
    const d = clusterDataByConfig([manifest('a', { 'selfplay/hex8_2p/1.jsonl': file(1, 'hex8_2p', 300), 'selfplay/hexagonal_2p/1.jsonl': file(2, 'hexagonal_2p', 50) })])
    expect(d.get('hex8_2p')?.games).toBe(300)
    expect(d.get('hexagonal_2p')?.games).toBe(50)
  })

  it('a file held by two nodes counts once; models are not data', () => {
    const f = file(7, 'square8_2p', 1000)
    const d = clusterDataByConfig([
      manifest('a', { 'selfplay/s/1.jsonl': f, 'models/square8_2p/m.bin': file(8, 'square8_2p', 0, 'models') }),
      manifest('b', { 'selfplay/s/1.jsonl': f, 'selfplay/s/2.jsonl': file(9, 'square8_2p', 500) })
    ])
    expect(d.get('square8_2p')).toMatchObject({ games: 1500, files: 2 })
  })

  it('a truncated manifest contributes its summary as a lower bound', () => {
    const d = clusterDataByConfig([manifest('a', {}, true, { hex8_3p: { files: 10, bytes: 1, games: 4000 } }), manifest('b', { x: file(1, 'hex8_3p', 100) })])
    expect(d.get('hex8_3p')?.games).toBe(4000)
  })

  it('the digest changes with the data and not with the order manifests arrive in', () => {
    const a = manifest('a', { x: file(1, 'hex8_2p', 10) })
    const b = manifest('b', { y: file(2, 'hex8_2p', 10) })
    const d1 = clusterDataByConfig([a, b]).get('hex8_2p')?.digest
    expect(clusterDataByConfig([b, a]).get('hex8_2p')?.digest).toBe(d1)
    expect(clusterDataByConfig([a]).get('hex8_2p')?.digest).not.toBe(d1)
  })

  it('local games come from the node\'s own summary', () => {
    expect([...localGamesByConfig(manifest('a', {}, false, { hex8_2p: { files: 1, bytes: 1, games: 12 }, other: { files: 1, bytes: 1, games: 5 } }))]).toEqual([['hex8_2p', 12]])
    expect(localGamesByConfig(undefined).size).toBe(0)
  })
})
