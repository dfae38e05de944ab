#!/usr/bin/env node
/** The built-in sync workload (the default sync job template runs this file). */
import { syncWorkload } from './sync-task.js'
import { workloadMain } from './workload.js'

await workloadMain(syncWorkload)
