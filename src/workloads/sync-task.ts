/**
 * The sync workload. Data sync does not run as jobs: every node's SyncPlanner
 * (src/managers/sync-planner.ts) publishes its manifest and pulls what its role wants over the
 * transfer protocol, in the node process. No part of riftmesh dispatches a `sync` job; the job
 * type and this script exist so that a sync job dispatched by hand (or by a user's template)
 * ends cleanly and says so. Output: `sync:handled-by-sync-planner`.
 */
import { str } from './flags.js'
import { DATA_DIR_FLAG, JOB_ID_FLAG, OUTPUT_DIR_FLAG, type Workload } from './workload.js'

export const syncWorkload: Workload = {
  name: 'sync',
  summary: 'Nothing to do: each node\'s SyncPlanner syncs data in the node process; this reports that and exits 0.',
  flags: [JOB_ID_FLAG, DATA_DIR_FLAG, OUTPUT_DIR_FLAG],
  async run (flags, io) {
    io.log(`sync ${str(flags, 'job-id')}: data sync is done by each node's SyncPlanner (see 'riftmesh status'); no files moved by this job`)
    return ['sync:handled-by-sync-planner']
  }
}
