#!/usr/bin/env node
/** The built-in export workload (the default export job template runs this file). */
import { exportWorkload } from './export-task.js'
import { workloadMain } from './workload.js'

await workloadMain(exportWorkload)
