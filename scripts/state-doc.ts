/**
 * Generates the tables of protocols/STATE.md — which map of which document holds which entries,
 * and every entry's fields — and protocols/state.schema.json, from the zod schemas in
 * src/state/schema.ts. The prose around the tables is hand-written; the tables sit between
 * `<!-- BEGIN GENERATED: … -->` / `<!-- END GENERATED: … -->` markers and are replaced whole.
 * Field meanings come from the JSDoc comments in schema.ts, else from FIELD_TEXT below; a field
 * with neither fails the generator, so a new field cannot go undocumented.
 *
 *   npm run state-doc            # rewrite both files
 *   npm run state-doc -- --check # exit 1 when they are out of date
 *
 * test/integration/state-doc.test.ts checks that the committed files are what this renders, and
 * validates a live node's documents against STATE_MAPS, the same table this renders.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { z } from 'zod'
import * as S from '../src/state/schema.js'
import { bucketOfJob } from '../src/state/jobs.js'
import { fieldComments, fieldRows, referencedIn, refinedPaths, type JsonSchema } from './state-doc-render.js'

export const ROOT = fileURLToPath(new URL(import.meta.url.includes('/dist/') ? '../../' : '../', import.meta.url))
export const STATE_DOC = 'protocols/STATE.md'
export const STATE_JSON_SCHEMA = 'protocols/state.schema.json'
const SCHEMA_SOURCE = 'src/state/schema.ts'

/** Every schema STATE.md documents: its name there, and the export of schema.ts it is. */
export const STATE_SCHEMAS = {
  NodeInfo: 'nodeInfoSchema',
  Hardware: 'hardwareSchema',
  Manifest: 'manifestSchema',
  ManifestSummary: 'manifestSummarySchema',
  ManifestFile: 'manifestFileSchema',
  Candidacy: 'candidacySchema',
  Grant: 'grantSchema',
  Lease: 'leaseSchema',
  ModelRegister: 'modelRegisterSchema',
  Model: 'modelSchema',
  SettingRegister: 'settingRegisterSchema',
  SettingValue: 'settingValueSchema',
  TrainingRegister: 'trainingRegisterSchema',
  TrainingRecord: 'trainingRecordSchema',
  BucketMeta: 'bucketMetaSchema',
  JobDispatch: 'jobDispatchSchema',
  JobStatus: 'jobStatusSchema',
  JobVerdict: 'jobVerdictSchema',
  EpochCertificate: 'certSchema',
  TrustEntry: 'trustEntrySchema',
  ConfigKey: 'configKeySchema'
} as const satisfies Record<string, keyof typeof S>
export type SchemaName = keyof typeof STATE_SCHEMAS
export const schemaOf = (name: SchemaName): z.ZodType => S[STATE_SCHEMAS[name]] as z.ZodType

/** The document a map is in: `jobs/<bucketId>` stands for every jobs bucket. */
export type DocPattern = 'control' | 'manifests' | 'jobs/<bucketId>'

export interface EntryKind {
  /** The key as STATE.md shows it. */
  key: string
  /** Whether a key is of this kind, by its shape. */
  matches: (key: string) => boolean
  schema: SchemaName
  /** Who may write entries of this kind. */
  writer: string
  /** The agreement of key and value a reader checks (ClusterState skips the entry otherwise), in words… */
  rule: string
  /** … and as code; `bucketId` is the jobs bucket's, for maps of a bucket document. */
  agrees: (key: string, value: any, bucketId: string | undefined) => boolean
}

export interface MapSpec { doc: DocPattern, map: string, entries: readonly EntryKind[] }

const plain = (key: string): boolean => !key.includes('/')
const register = (schema: SchemaName, name: string, writer: string, sameConfig: boolean): EntryKind => ({
  key: `<${name}>@<writer>`,
  matches: k => k.includes('@'),
  schema,
  writer,
  rule: `key = \`<name>@<writer>\` of the value${sameConfig ? '; `name` = `value.config`' : ''}`,
  agrees: (k, v) => k === `${v.name}@${v.writer}` && (!sameConfig || v.name === v.value.config)
})

/** Every map of every document, and the entries each may hold. A map not listed here is undocumented. */
export const STATE_MAPS: readonly MapSpec[] = [
  { doc: 'control', map: 'nodes', entries: [{ key: '<nodeId>', matches: plain, schema: 'NodeInfo', writer: 'that node', rule: 'key = `nodeId`', agrees: (k, v) => k === v.nodeId }] },
  {
    doc: 'control',
    map: 'election',
    entries: [
      { key: 'cand/<nodeId>', matches: k => k.startsWith('cand/'), schema: 'Candidacy', writer: 'the candidate', rule: 'key = `cand/` + `nodeId`', agrees: (k, v) => k === `cand/${v.nodeId}` },
      { key: 'grant/<voter>', matches: k => k.startsWith('grant/'), schema: 'Grant', writer: 'the voter', rule: 'key = `grant/` + `voter`', agrees: (k, v) => k === `grant/${v.voter}` },
      { key: 'lease/<nodeId>', matches: k => k.startsWith('lease/'), schema: 'Lease', writer: 'the leader', rule: 'key = `lease/` + `nodeId`', agrees: (k, v) => k === `lease/${v.nodeId}` }
    ]
  },
  { doc: 'control', map: 'models', entries: [register('ModelRegister', 'config', 'the leader of the entry\'s epoch (certificate) or an operator, each its own key', true)] },
  { doc: 'control', map: 'settings', entries: [register('SettingRegister', 'name', 'an operator, signing with its operator key (`abTest/*`: the test\'s owner node; any node while the cluster has no operator key, except `jobCommands`)', false)] },
  { doc: 'control', map: 'training', entries: [register('TrainingRegister', 'config', 'the leader of the entry\'s epoch (certificate) or an operator, each its own key', true)] },
  { doc: 'control', map: 'certs', entries: [{ key: '<epoch>/<leader>', matches: k => /^\d{12}\//.test(k), schema: 'EpochCertificate', writer: 'the leader, once per epoch it holds', rule: 'key = `epoch` (12 digits) + `/` + `leader`', agrees: (k, v) => k === `${String(v.epoch).padStart(12, '0')}/${v.leader}` }] },
  { doc: 'control', map: 'trust', entries: [{ key: '<seq>/<signer>', matches: k => /^\d{12}\//.test(k), schema: 'TrustEntry', writer: 'an operator (it counts if the signer is an operator at that point of the log)', rule: 'key = `seq` (12 digits) + `/` + the signer', agrees: (k, v) => k.startsWith(`${String(v.seq).padStart(12, '0')}/`) }] },
  { doc: 'manifests', map: 'manifests', entries: [{ key: '<nodeId>', matches: plain, schema: 'Manifest', writer: 'that node', rule: 'key = `nodeId`', agrees: (k, v) => k === v.nodeId }] },
  {
    doc: 'jobs/<bucketId>',
    map: 'meta',
    entries: [{ key: 'meta', matches: k => k === 'meta', schema: 'BucketMeta', writer: 'the bucket\'s dispatcher', rule: '`bucketId` = the document\'s; `dispatcher` ends with the id\'s dispatcher part', agrees: (k, v, b) => k === 'meta' && v.bucketId === b && dispatcherMatches(b, v.dispatcher) }]
  },
  {
    doc: 'jobs/<bucketId>',
    map: 'dispatch',
    entries: [{ key: '<jobId>', matches: k => !k.includes('@'), schema: 'JobDispatch', writer: 'the bucket\'s dispatcher', rule: 'key = `jobId` = `<bucketId>.<n>`; `dispatchedBy` ends with the id\'s dispatcher part', agrees: (k, v, b) => k === v.jobId && bucketOfJob(k) === b && dispatcherMatches(b, v.dispatchedBy) }]
  },
  {
    doc: 'jobs/<bucketId>',
    map: 'status',
    entries: [{ key: '<jobId>', matches: k => !k.includes('@'), schema: 'JobStatus', writer: 'the job\'s assigned node (a status by any other `node` is ignored)', rule: 'key = `jobId` = `<bucketId>.<n>`', agrees: (k, v, b) => k === v.jobId && bucketOfJob(k) === b }]
  },
  {
    doc: 'jobs/<bucketId>',
    map: 'verdicts',
    entries: [{ key: '<jobId>@<writer>', matches: k => k.includes('@'), schema: 'JobVerdict', writer: 'the job\'s dispatcher, the leader of its epoch (certificate) or an operator, each its own key', rule: 'key = `<jobId>@<writer>`; the job is of this bucket', agrees: (k, v, b) => k === `${v.jobId}@${v.writer}` && bucketOfJob(v.jobId) === b }]
  }
]

function dispatcherMatches (bucketId: string | undefined, nodeId: string): boolean {
  const part = bucketId?.split('-')[1] ?? ''
  return nodeId.replace(/[^A-Za-z0-9]/g, '').endsWith(part)
}

/** The document pattern of a document name. */
export function docPatternOf (name: string): DocPattern | undefined {
  if (name === 'control' || name === 'manifests') return name
  return name.startsWith('jobs/') ? 'jobs/<bucketId>' : undefined
}

const REGISTER_TEXT: Record<string, string> = {
  name: 'What the register is for: a config key (`models`, `training`) or a setting name.',
  writer: 'The node that wrote this entry (its key ends with it).',
  version: 'Lamport version: one above the highest version of `name` the writer had seen.',
  value: 'The value; the entry of the highest (`version`, `writer`) per `name` wins.'
}

/** Meanings of fields that have no JSDoc comment in schema.ts. Keys: schema name, then field path. */
const FIELD_TEXT: Partial<Record<SchemaName, Record<string, string>>> = {
  NodeInfo: {
    nodeId: 'The node\'s libp2p PeerId.',
    host: 'Its host name.',
    addrs: 'The multiaddrs it advertises (those other machines can dial; loopback only when it has nothing else).',
    version: 'riftmesh version it runs.',
    startedAt: 'Wall-clock ms of its start (its clock).',
    hardware: 'What it has.',
    capabilities: 'Job types it takes.',
    flags: 'Roles.',
    'flags.voter': 'It is in `election.voters` of its own config.',
    'flags.retired': 'Retired from work (written `false` today).',
    'flags.leaderEligible': 'It may stand for leader (`node.leaderEligible`).'
  },
  Hardware: {
    cpuCount: 'Logical CPUs.',
    memoryGb: 'Memory, GB.',
    diskFreeGb: 'Free space of the data dir\'s file system, GB.',
    diskTotalGb: 'Size of that file system, GB.',
    hasGpu: 'A usable GPU was found.',
    gpuName: 'Its model name, or `""`.',
    gpuCount: 'GPUs.',
    gpuMemoryGb: 'GPU memory, GB.'
  },
  Manifest: {
    nodeId: 'The node whose data dir this lists.',
    generatedAt: 'Wall-clock ms of the scan (its clock).',
    totalFiles: 'Files in the data dir, listed or not.',
    totalBytes: 'Their bytes.',
    truncated: '`files` holds only part of the files (`sync.manifestMaxEntries`): the full list is served by LIST on `/riftmesh/transfer/1.0.0`.'
  },
  ManifestSummary: { files: 'Files.', bytes: 'Their bytes.', games: 'Games in them (lines of `.jsonl` self-play files).' },
  ManifestFile: {
    size: 'Bytes.',
    mtimeMs: 'Modification time, whole ms.',
    sha256: 'Hash of the content, lowercase hex.',
    kind: 'Its top directory under the data dir.',
    config: 'The config it belongs to, from its path; null if none.',
    gameCount: 'Games in it (0 but for self-play files).'
  },
  Candidacy: { nodeId: 'The candidate.', epoch: 'The epoch it stands for.', renounced: 'It gave up this epoch: voters may grant others.' },
  Grant: {
    voter: 'The voter.',
    candidate: 'Whom it grants.',
    epoch: 'The epoch granted.',
    round: 'The candidate\'s round this grant answers.',
    leaseMs: 'The lease length the voter grants, ms.'
  },
  Lease: {
    nodeId: 'The leader.',
    epoch: 'Its epoch.',
    leaseMs: 'Lease length, ms.',
    voters: 'The voters it counted.'
  },
  Model: {
    config: 'The config.',
    modelId: 'The training job that produced it.',
    path: 'The model file, relative to the data dir (`models/<config>/…`).',
    ownerNode: 'The node that trained it (and holds the file).',
    elo: 'Its rating, updated game by game by the gauntlets.',
    promotedAt: 'Wall-clock ms of its promotion (the leader\'s clock).',
    epoch: 'The epoch of the leader that promoted it.',
    history: 'Earlier best models of the config, oldest first.'
  },
  TrainingRecord: { config: 'The config.', lastJobId: 'The last training dispatched, or null.', epoch: 'The epoch of the leader that wrote it.' },
  BucketMeta: {
    bucketId: 'The bucket (the document is `jobs/<bucketId>`).',
    dispatcher: 'The node that owns the bucket.',
    epoch: 'The dispatcher\'s epoch.',
    sealed: 'No more dispatches will be added.',
    jobCount: 'Dispatches written so far (`<bucketId>.1` … `.jobCount`).'
  },
  JobDispatch: {
    jobId: '`<bucketId>.<n>`.',
    type: 'Job type.',
    config: 'The config it works on, or null.',
    engineMode: 'Engine mode asked for, or null.',
    spec: 'Job parameters (games, model paths, …), flat JSON scalars.',
    assignedNode: 'The node that runs it.',
    dispatchEpoch: 'The dispatcher\'s epoch: workers fence on it.',
    dispatchedBy: 'The dispatcher.',
    createdAt: 'Wall-clock ms of the dispatch (the dispatcher\'s clock).',
    attempt: 'Attempt number in its chain of re-dispatches (0 first).'
  },
  JobStatus: {
    jobId: 'The job.',
    node: 'The node reporting (must be the assigned node).',
    state: 'Run state.',
    pid: 'Process id of the job\'s supervisor, or null.',
    startedAt: 'Wall-clock ms it started, or null.',
    heartbeatAt: 'Wall-clock ms of the last job heartbeat (every `jobs.jobHeartbeatIntervalMs` while it runs), or null.',
    endedAt: 'Wall-clock ms it ended, or null.',
    exitCode: 'Exit code, or null.',
    error: 'Why it failed or was refused (with the log tail), or null.',
    outputs: 'What it reported: `games:<n>`, `model:<path>`, `results:<WLD…>`, `fallback:…`, `error:…`.'
  },
  JobVerdict: {
    jobId: 'The job.',
    writer: 'The node that wrote the verdict.',
    verdict: 'Verdict.',
    epoch: 'The writer\'s epoch.',
    at: 'Wall-clock ms (the writer\'s clock).',
    reason: 'Why, or null.'
  },
  ModelRegister: REGISTER_TEXT,
  SettingRegister: REGISTER_TEXT,
  TrainingRegister: REGISTER_TEXT
}

/** Checks beyond the JSON-Schema-able shape (zod refinements), per schema and field path ('' = the entry). */
const REFINEMENT_TEXT: Partial<Record<SchemaName, Record<string, string>>> = {
  Manifest: { '': 'at most 10 000 entries in `files`' },
  JobDispatch: { spec: 'at most 64 keys' },
  SettingValue: { '': 'a record has at most 256 keys' }
}

// ---- rendering -----------------------------------------------------------------------------

function jsonSchemas (): Record<SchemaName, JsonSchema> {
  const registry = z.registry<{ id: string }>()
  for (const name of Object.keys(STATE_SCHEMAS) as SchemaName[]) registry.add(schemaOf(name), { id: name })
  const out = z.toJSONSchema(registry, { uri: id => `#${id}`, unrepresentable: 'any' }) as { schemas: Record<SchemaName, JsonSchema> }
  return out.schemas
}

function mapsTable (): string {
  const rows = STATE_MAPS.flatMap(m => m.entries.map(e =>
    `| \`${m.doc}\` | \`${m.map}\` | \`${e.key}\` | [${e.schema}](#${e.schema.toLowerCase()}) | ${e.writer} | ${e.rule} |`))
  return ['| Document | Map | Key | Entry | Written by | Key and value agree when |', '|---|---|---|---|---|---|', ...rows].join('\n')
}

function entriesSection (schemas: Record<SchemaName, JsonSchema>, comments: Map<string, Record<string, string>>): string {
  const missing: string[] = []
  const parts: string[] = []
  const named = new Set<unknown>((Object.keys(STATE_SCHEMAS) as SchemaName[]).map(schemaOf))
  for (const name of Object.keys(STATE_SCHEMAS) as SchemaName[]) {
    const js = schemas[name]
    const usedBy = STATE_MAPS.flatMap(m => m.entries.filter(e => e.schema === name).map(e => `\`${m.doc}\` → \`${m.map}\` → \`${e.key}\``))
    const within = (Object.keys(schemas) as SchemaName[]).filter(other => other !== name && referencedIn(schemas[other], name)).map(o => `[${o}](#${o.toLowerCase()})`)
    const where = [...usedBy, ...(within.length > 0 ? [`inside ${within.join(', ')}`] : [])].join('; ')
    const blocks = [`<a id="${name.toLowerCase()}"></a>\n### ${name}`]
    if (where.length > 0) blocks.push(`Where: ${where}.`)
    const texts = { ...FIELD_TEXT[name], ...comments.get(STATE_SCHEMAS[name]) }
    const rows = fieldRows(js)
    if (rows === undefined) {
      blocks.push(`Value: ${typeText(js)}.`)
    } else {
      const lines = ['| Field | Type | Meaning |', '|---|---|---|']
      for (const r of rows) {
        const text = r.path === 'v' ? 'Entry format version: `1`.' : r.description ?? texts[r.path]
        if (text === undefined) missing.push(`${name}.${r.path}`)
        lines.push(`| \`${r.path}\`${r.required ? '' : ' (optional)'} | ${r.type} | ${(text ?? '').replace(/\s+/g, ' ').replace(/\|/g, '\\|')} |`)
      }
      blocks.push(lines.join('\n'))
    }
    const refined = refinedPaths(schemaOf(name), named)
    for (const path of refined) {
      const note = REFINEMENT_TEXT[name]?.[path]
      if (note === undefined) missing.push(`${name}.${path === '' ? '(refinement)' : `${path} (refinement)`}`)
      else blocks.push(`Also checked: ${path === '' ? '' : `\`${path}\`: `}${note}.`)
    }
    parts.push(blocks.join('\n\n'))
  }
  if (missing.length > 0) throw new Error(`state-doc: no meaning for ${missing.join(', ')}: add a /** … */ comment on the field in ${SCHEMA_SOURCE} (or scripts/state-doc.ts FIELD_TEXT / REFINEMENT_TEXT)`)
  return parts.join('\n\n')
}

function typeText (js: JsonSchema): string {
  return fieldRows({ type: 'object', properties: { x: js }, required: ['x'] })?.[0]?.type ?? 'any'
}

/** Replace the text between `<!-- BEGIN GENERATED: name … -->` and `<!-- END GENERATED: name -->`. */
function splice (doc: string, name: string, body: string): string {
  const re = new RegExp(`(<!-- BEGIN GENERATED: ${name}[^>]*-->\\n)[\\s\\S]*?(<!-- END GENERATED: ${name} -->)`)
  if (!re.test(doc)) throw new Error(`state-doc: ${STATE_DOC} has no GENERATED ${name} markers`)
  return doc.replace(re, (_m, begin: string, end: string) => `${begin}${body}\n${end}`)
}

/** What STATE.md and state.schema.json must hold, given STATE.md's current text (its prose is kept). */
export function renderStateDoc (current: string, schemaSource = readFileSync(`${ROOT}${SCHEMA_SOURCE}`, 'utf8')): { doc: string, jsonSchema: string } {
  const schemas = jsonSchemas()
  const comments = fieldComments(schemaSource)
  let doc = splice(current, 'maps', mapsTable())
  doc = splice(doc, 'entries', entriesSection(schemas, comments))
  const jsonSchema = `${JSON.stringify({ $comment: `Generated from ${SCHEMA_SOURCE} by npm run state-doc; see ${STATE_DOC}.`, schemas }, null, 2)}\n`
  return { doc, jsonSchema }
}

function main (args: string[]): number {
  const current = readFileSync(`${ROOT}${STATE_DOC}`, 'utf8')
  const currentJson = (() => { try { return readFileSync(`${ROOT}${STATE_JSON_SCHEMA}`, 'utf8') } catch { return '' } })()
  const { doc, jsonSchema } = renderStateDoc(current)
  const stale = [doc !== current ? STATE_DOC : null, jsonSchema !== currentJson ? STATE_JSON_SCHEMA : null].filter(x => x !== null)
  if (args.includes('--check')) {
    if (stale.length > 0) process.stderr.write(`${stale.join(' and ')} out of date: run npm run state-doc\n`)
    return stale.length > 0 ? 1 : 0
  }
  writeFileSync(`${ROOT}${STATE_DOC}`, doc)
  writeFileSync(`${ROOT}${STATE_JSON_SCHEMA}`, jsonSchema)
  process.stdout.write(stale.length > 0 ? `wrote ${stale.join(' and ')}\n` : 'up to date\n')
  return 0
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = main(process.argv.slice(2))
