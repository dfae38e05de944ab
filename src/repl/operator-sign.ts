/**
 * Signing cluster changes with an operator key, for the CLI and the REPL: ask the node for a
 * draft (it runs the checks a change needs), check that the draft is the change asked for — a
 * node is not trusted to choose what the operator signs — sign it here and send the signed entry
 * back. The key never leaves this process.
 */
import { ControlError } from './control.js'
import type { ControlCall } from './attach.js'
import { signEntry, type EntrySigner } from '../state/entry-sig.js'
import { sortKeys } from '../state/docs.js'
import { registerKey } from '../state/registers.js'
import { trustEntrySchema, trustKey, type TrustAction } from '../state/trust.js'

export interface SignedSettingResult {
  name: string
  /** The value set, or null for an unset. */
  value: unknown
  /** For an unset: whether the setting was set. */
  wasSet: boolean
  /** Protections a forced change gave up. */
  lost: string[]
  /** The cluster has no operator keys (the signature counts, but any member may still change settings). */
  legacy: boolean
}

const canonical = (v: unknown): string => JSON.stringify(sortKeys(v)) ?? 'undefined'

/** Why a draft the node answered is not the change asked for, or null when it is. */
export function draftMismatch (draft: unknown, name: string, value: unknown, writer: string): string | null {
  const d = draft as { key?: unknown, entry?: { name?: unknown, writer?: unknown, value?: unknown, version?: unknown } } | null
  if (d === null || typeof d !== 'object' || d.entry === undefined || d.entry === null) return 'no draft'
  if (d.key !== registerKey(name, writer)) return `key ${String(d.key)}`
  if (d.entry.name !== name || d.entry.writer !== writer) return 'another setting or writer'
  if (!Number.isSafeInteger(d.entry.version)) return 'no version'
  if (canonical(d.entry.value) !== canonical(value)) return 'another value'
  return null
}

/** Set (or with `value` null, unset) a cluster setting, signed by `signer`. */
export async function signedSettingChange (call: ControlCall, signer: EntrySigner, change: { name: string, value: unknown, force: boolean }): Promise<SignedSettingResult> {
  const { name, value, force } = change
  const r = await call('settingDraft', { name, value, writer: signer.id, force }) as { draft: { key: string, entry: object } | null, lost?: string[], legacy?: boolean }
  const lost = Array.isArray(r.lost) ? r.lost.map(String) : []
  if (r.draft === null) return { name, value, wasSet: false, lost, legacy: r.legacy === true }
  const wrong = draftMismatch(r.draft, name, value, signer.id)
  if (wrong !== null) throw new ControlError(`the node's draft of ${name} is not the change asked for (${wrong}); nothing was signed`)
  const raw = signEntry(signer, 'control', 'settings', r.draft.key, r.draft.entry)
  await call('writeSignedSetting', { key: r.draft.key, raw })
  return { name, value, wasSet: true, lost, legacy: r.legacy === true }
}

export interface TrustChangeRequest {
  action: TrustAction
  target: string
  reason: string | null
  /** Wall-clock ms of the signature (information only). */
  atMs: number
}

/** Append one change to the trust log, signed by `signer`; answers the node's trust report after it. */
export async function signedTrustChange (call: ControlCall, signer: EntrySigner, change: TrustChangeRequest): Promise<Record<string, unknown>> {
  const { seq } = await call('trustDraft', { action: change.action, target: change.target, by: signer.id }) as { seq: number }
  const entry = trustEntrySchema.parse({ v: 1, seq, action: change.action, target: change.target, at: Math.floor(change.atMs), reason: change.reason })
  const key = trustKey(seq, signer.id)
  return await call('writeSignedTrust', { key, raw: signEntry(signer, 'control', 'trust', key, entry) }) as Record<string, unknown>
}

export interface ModelOverrideRequest {
  config: string
  model: { modelId: string, path: string, ownerNode: string, elo?: number }
}

/** Why a models draft the node answered is not the override asked for, or null when it is. */
export function modelDraftMismatch (draft: unknown, req: ModelOverrideRequest, writer: string): string | null {
  const d = draft as { key?: unknown, entry?: { name?: unknown, writer?: unknown, version?: unknown, value?: Record<string, unknown> } } | null
  if (d === null || typeof d !== 'object' || d.entry === undefined || d.entry === null || d.entry.value === undefined) return 'no draft'
  if (d.key !== registerKey(req.config, writer)) return `key ${String(d.key)}`
  if (d.entry.name !== req.config || d.entry.writer !== writer || d.entry.value.config !== req.config) return 'another config or writer'
  if (!Number.isSafeInteger(d.entry.version)) return 'no version'
  const v = d.entry.value
  if (v.modelId !== req.model.modelId || v.path !== req.model.path || v.ownerNode !== req.model.ownerNode) return 'another model'
  if (req.model.elo !== undefined && v.elo !== req.model.elo) return 'another rating'
  return null
}

/** Promote `req.model` as the best model of `req.config`, signed by `signer` (an operator's override). */
export async function signedModelOverride (call: ControlCall, signer: EntrySigner, req: ModelOverrideRequest): Promise<Record<string, unknown>> {
  const r = await call('modelDraft', { config: req.config, model: req.model, writer: signer.id }) as { draft: { key: string, entry: object } }
  const wrong = modelDraftMismatch(r.draft, req, signer.id)
  if (wrong !== null) throw new ControlError(`the node's draft for ${req.config} is not the model asked for (${wrong}); nothing was signed`)
  const raw = signEntry(signer, 'control', 'models', r.draft.key, r.draft.entry)
  return await call('writeSignedModel', { key: r.draft.key, raw }) as Record<string, unknown>
}
