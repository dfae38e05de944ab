/**
 * Jobs live in bucket documents (`jobs/<bucketId>`), each written by one dispatcher for one
 * epoch and sealed after a number of dispatches. A sealed bucket whose jobs have all ended is
 * retired after a retention window: its records go to each node's LevelDB job history and the
 * whole document is dropped, tombstones included. That keeps the replicated state proportional
 * to the live jobs, not to every job ever run. See docs/ARCHITECTURE.md.
 */
import type { BucketMeta, JobDispatch, JobStatus, JobVerdict } from './schema.js'

export type JobState =
  | 'PENDING' | 'RUNNING' | 'COMPLETE' | 'FAILED' | 'REFUSED'
  | 'EXPIRED' | 'LOST' | 'CANCELLED' | 'PROMOTED' | 'ARCHIVED'

export const TERMINAL_STATES: ReadonlySet<JobState> = new Set<JobState>([
  'COMPLETE', 'FAILED', 'REFUSED', 'EXPIRED', 'LOST', 'CANCELLED', 'PROMOTED', 'ARCHIVED'
])

export interface JobView {
  jobId: string
  bucketId: string
  dispatch: JobDispatch
  status: JobStatus | undefined
  verdicts: JobVerdict[]
  state: JobState
}

export interface BucketView {
  bucketId: string
  meta: BucketMeta | undefined
  jobs: JobView[]
  /** Local clock time of the last change this node saw in the bucket. */
  lastChangeMs: number
}

export const BUCKET_DOC_PREFIX = 'jobs/'

/** `e<epoch>-<dispatcher suffix>-<random>`; safe as a document name and a key. */
export function formatBucketId (epoch: number, dispatcher: string, nonce: string): string {
  return `e${epoch}-${dispatcher.slice(-12)}-${nonce}`
}

export function parseBucketEpoch (bucketId: string): number | undefined {
  const m = /^e(\d+)-[A-Za-z0-9]+-[a-z0-9]+$/.exec(bucketId)
  return m?.[1] !== undefined ? Number(m[1]) : undefined
}

/** Job ids are `<bucketId>.<n>`, so the assigned node knows which document to write its status into. */
export function formatJobId (bucketId: string, n: number): string {
  return `${bucketId}.${n}`
}

export function bucketOfJob (jobId: string): string | undefined {
  const i = jobId.lastIndexOf('.')
  if (i <= 0) return undefined
  const bucketId = jobId.slice(0, i)
  return parseBucketEpoch(bucketId) !== undefined ? bucketId : undefined
}

/**
 * The state of a job from its three sources. The assigned node's own status decides while it
 * has a say (a finished job stays finished); verdicts from the leader fill in what the node
 * cannot report (it never started, it died, it was cancelled) and promotion of a completed job.
 */
export function deriveJobState (status: JobStatus | undefined, verdicts: readonly JobVerdict[]): JobState {
  const has = (v: JobVerdict['verdict']): boolean => verdicts.some(x => x.verdict === v)
  const run = status?.state
  if (run === 'COMPLETE') {
    if (has('PROMOTED')) return 'PROMOTED'
    if (has('ARCHIVED')) return 'ARCHIVED'
    return 'COMPLETE'
  }
  if (run === 'REFUSED') return run
  // a cancelled job that its node then stopped ends CANCELLED, not FAILED
  if (has('CANCELLED')) return 'CANCELLED'
  // the leader gave up on it (lost or expired too often)
  if (run === 'FAILED' || has('FAILED')) return 'FAILED'
  if (run === 'RUNNING') return has('LOST') ? 'LOST' : 'RUNNING'
  if (has('EXPIRED')) return 'EXPIRED'
  if (has('LOST')) return 'LOST'
  return 'PENDING'
}

export function isTerminal (state: JobState): boolean {
  return TERMINAL_STATES.has(state)
}

/**
 * A bucket is sealed when its dispatcher says so, or when a higher epoch than its own is known
 * (its dispatcher is fenced and can never add to it again).
 */
export function isBucketSealed (bucket: Pick<BucketView, 'bucketId' | 'meta'>, maxKnownEpoch: number): boolean {
  if (bucket.meta?.sealed === true) return true
  const epoch = bucket.meta?.epoch ?? parseBucketEpoch(bucket.bucketId)
  return epoch !== undefined && epoch < maxKnownEpoch
}

/**
 * Buckets that can leave the document now: sealed, every job ended, and quiet for `retentionMs` —
 * or retired already by a peer (`retiredElsewhere`: its final state was merged here), once no
 * job assigned to `selfId` still runs in it (this node's own record of its own job is kept until
 * that job ends; every other record is final as far as the cluster will ever know).
 */
export function decideRetirableBuckets (
  buckets: readonly BucketView[], maxKnownEpoch: number, nowMs: number, retentionMs: number,
  retiredElsewhere: ReadonlySet<string> = new Set(), selfId = ''
): string[] {
  const out: string[] = []
  for (const b of buckets) {
    if (retiredElsewhere.has(b.bucketId)) {
      if (b.jobs.every(j => j.dispatch.assignedNode !== selfId || isTerminal(j.state))) out.push(b.bucketId)
      continue
    }
    if (b.meta === undefined) continue
    if (!isBucketSealed(b, maxKnownEpoch)) continue
    if (b.jobs.length < b.meta.jobCount) continue // dispatches still on their way
    if (!b.jobs.every(j => isTerminal(j.state))) continue
    if (nowMs - b.lastChangeMs < retentionMs) continue
    out.push(b.bucketId)
  }
  return out.sort()
}
