/**
 * A setting written the way an old or hostile peer would: a register straight into the control
 * document's `settings` map, past every check `ClusterState.setSetting` makes. As a local write
 * it replicates to the node's peers like any other. Signed by the writer (a test node's key), so
 * what a reader refuses is the value, not the signature.
 */
import * as Y from 'yjs'
import type { ClusterState } from '../../src/state/cluster-state.js'
import { REMOTE_ORIGIN } from '../../src/state/docs.js'
import { signedAs } from '../helpers.js'

export interface RawSetting { name: string, value: unknown, version: number }

/** Write `value` under this node's own register key, as if an older version of it had. */
export function writeRawSetting (state: ClusterState, s: RawSetting): void {
  const doc = state.docs.ensure('control')
  const key = `${s.name}@${state.selfId}`
  doc.transact(() => doc.getMap('settings').set(key, state.signAsSelf('control', 'settings', key, { v: 1, name: s.name, writer: state.selfId, version: s.version, value: s.value })))
}

/**
 * Apply a register written by `writer` elsewhere, as if it had arrived from that peer. The peer
 * had seen this node's document first, so its write follows every earlier one (a write from a
 * fresh document would be concurrent with them, and Yjs would pick a winner by random client id).
 */
export function receiveRawSetting (state: ClusterState, writer: string, s: RawSetting): void {
  const d = new Y.Doc()
  Y.applyUpdateV2(d, Y.encodeStateAsUpdateV2(state.docs.ensure('control')))
  const key = `${s.name}@${writer}`
  d.getMap('settings').set(key, signedAs(writer, 'control', 'settings', key, { v: 1, name: s.name, writer, version: s.version, value: s.value }))
  state.docs.apply('control', Y.encodeStateAsUpdateV2(d), REMOTE_ORIGIN)
}
