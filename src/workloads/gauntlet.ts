#!/usr/bin/env node
/** The built-in gauntlet workload (the default gauntlet job template runs this file). */
import { gauntletWorkload } from './match-task.js'
import { workloadMain } from './workload.js'

await workloadMain(gauntletWorkload)
