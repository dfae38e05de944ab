#!/usr/bin/env node
/** The built-in tournament workload (the default tournament job template runs this file). */
import { tournamentWorkload } from './match-task.js'
import { workloadMain } from './workload.js'

await workloadMain(tournamentWorkload)
