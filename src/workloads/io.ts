/**
 * Files of the workloads: paths inside the data dir (never outside it), atomic writes
 * (`<file>.partial`, then rename), the outputs report, game record files and models.
 */
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises'
import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { WorkloadDataError } from './errors.js'
import { valueModelSchema, type ValueModel } from './value-model.js'

/** Name of the report a workload writes in its output dir (read by the JobWorker). */
export const OUTPUTS_FILE = 'outputs.json'
/** Most output lines reported. */
export const MAX_OUTPUTS = 64
/** Most record files one job reads. */
export const MAX_RECORD_FILES = 10_000
/** Largest model file read, in bytes. */
export const MAX_MODEL_BYTES = 1024 * 1024

/** The absolute path of `rel` inside `dataDir`; a path that leaves it is refused. */
export function dataPath (dataDir: string, rel: string): string {
  const root = resolve(dataDir)
  const abs = resolve(root, rel)
  if (!abs.startsWith(root + sep)) throw new WorkloadDataError(rel, `path is outside the data dir ${root}`)
  return abs
}

/** `abs` relative to the data dir, with forward slashes. */
export function relToData (dataDir: string, abs: string): string {
  return relative(resolve(dataDir), abs).split(sep).join('/')
}

/** Write `text` to `path` atomically: a `.partial` file, flushed, then renamed into place. */
export async function writeAtomic (path: string, chunks: Iterable<string> | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  const partial = `${path}.partial`
  const fh = await open(partial, 'w')
  try {
    for (const c of typeof chunks === 'string' ? [chunks] : chunks) await fh.write(c)
    await fh.sync()
  } catch (err) {
    await fh.close()
    await rm(partial, { force: true })
    throw err
  }
  await fh.close()
  await rename(partial, path)
}

/** Write `<outputDir>/outputs.json` = {"outputs": [...]} (at most `MAX_OUTPUTS` lines). */
export async function writeOutputs (outputDir: string, outputs: readonly string[]): Promise<void> {
  await writeAtomic(join(outputDir, OUTPUTS_FILE), `${JSON.stringify({ outputs: outputs.slice(0, MAX_OUTPUTS) })}\n`)
}

/** The `.jsonl` files directly in `dir` (relative to the data dir), sorted; none when it does not exist. */
export async function listRecordFiles (dataDir: string, dir: string): Promise<string[]> {
  let names: string[]
  try {
    names = await readdir(dataPath(dataDir, dir))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
  const files = names.filter(n => n.endsWith('.jsonl')).sort()
  if (files.length > MAX_RECORD_FILES) throw new WorkloadDataError(dir, `${files.length} record files, more than ${MAX_RECORD_FILES}`)
  return files.map(n => `${dir}/${n}`)
}

/** Each non-empty line of a record file, with its 1-based line number. */
export async function * readLines (abs: string): AsyncGenerator<{ line: string, n: number }> {
  const rl = createInterface({ input: createReadStream(abs, 'utf8'), crlfDelay: Infinity })
  let n = 0
  for await (const raw of rl) {
    n++
    const line = raw.trim()
    if (line !== '') yield { line, n }
  }
}

/** Read and check a value model (path relative to the data dir, or absolute inside it). */
export async function loadModel (dataDir: string, rel: string): Promise<ValueModel> {
  const abs = dataPath(dataDir, rel)
  let text: string
  try {
    const st = await stat(abs)
    if (st.size > MAX_MODEL_BYTES) throw new WorkloadDataError(rel, `model larger than ${MAX_MODEL_BYTES} bytes`)
    text = await readFile(abs, 'utf8')
  } catch (err) {
    if (err instanceof WorkloadDataError) throw err
    throw new WorkloadDataError(rel, `cannot read the model: ${(err as Error).message}`, { cause: err })
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (err) {
    throw new WorkloadDataError(rel, 'model is not JSON', { cause: err })
  }
  const r = valueModelSchema.safeParse(raw)
  if (!r.success) throw new WorkloadDataError(rel, `not a riftmesh value model: ${r.error.issues[0]?.message ?? 'invalid'}`)
  return r.data
}
