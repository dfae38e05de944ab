/**
 * The fixed names of the domain: capabilities, job types, board configs and enum values. One
 * list each, shared by the config and the cluster-state schema.
 */

/** Capabilities a node can advertise. */
export const CAPABILITY_NAMES = ['selfplay', 'training', 'gauntlet', 'tournament', 'export', 'large_boards'] as const
export type CapabilityName = typeof CAPABILITY_NAMES[number]
/** Job types. */
export const JOB_TYPE_NAMES = ['selfplay', 'training', 'export', 'gauntlet', 'tournament', 'sync'] as const
export type JobTypeName = typeof JOB_TYPE_NAMES[number]
/** The 12 board configurations `<board>_<players>p`. */
export const BOARD_CONFIGS = [
  'square8_2p', 'square8_3p', 'square8_4p', 'square19_2p', 'square19_3p', 'square19_4p',
  'hex8_2p', 'hex8_3p', 'hex8_4p', 'hexagonal_2p', 'hexagonal_3p', 'hexagonal_4p'
] as const
export type BoardConfigName = typeof BOARD_CONFIGS[number]
/** Board priority override levels, most urgent first. */
export const BOARD_PRIORITY_LEVELS = ['critical', 'high', 'medium', 'low'] as const
export const ELECTION_MODES = ['majority', 'epoch'] as const
export const ELIGIBILITY_RULES = ['all', 'flagged', 'preferred'] as const

/** The data dir's kinds of files (its top-level directories that sync moves). */
export const FILE_KINDS = ['selfplay', 'models', 'training', 'games'] as const

/** Longest text field of a document entry (and so of a path in a manifest). */
export const MAX_TEXT_CHARS = 1_024
