#!/usr/bin/env node
/** The built-in train workload (the default training job template runs this file). */
import { trainWorkload } from './train-task.js'
import { workloadMain } from './workload.js'

await workloadMain(trainWorkload)
