#!/usr/bin/env node
/** The built-in selfplay workload (the default selfplay job template runs this file). */
import { selfplayWorkload } from './selfplay-task.js'
import { workloadMain } from './workload.js'

await workloadMain(selfplayWorkload)
