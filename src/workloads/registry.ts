/** Every built-in workload by name (the names of `dist/src/workloads/<name>.js` and of `riftmesh worker <name>`). */
import { exportWorkload } from './export-task.js'
import { gauntletWorkload, tournamentWorkload } from './match-task.js'
import { selfplayWorkload } from './selfplay-task.js'
import { syncWorkload } from './sync-task.js'
import { trainWorkload } from './train-task.js'
import type { Workload } from './workload.js'

export const WORKLOADS: Readonly<Record<string, Workload>> = {
  selfplay: selfplayWorkload,
  train: trainWorkload,
  export: exportWorkload,
  gauntlet: gauntletWorkload,
  tournament: tournamentWorkload,
  sync: syncWorkload
}
