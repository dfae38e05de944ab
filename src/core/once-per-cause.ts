/**
 * A warning said once per change of cause: a periodic check (a dispatch pass, a sync pass, a
 * timer) reports its cause every time it runs, and the log gets one warning when the cause
 * appears or changes and one info line when it clears — not one line per pass. Causes are kept
 * per subject (a node id, a selection name), so one subject's trouble does not hide another's.
 */
import type { Logger } from './logger.js'

/** Most subjects remembered; the one reported longest ago is forgotten beyond it. @default 1_024 */
export const DEFAULT_MAX_CAUSE_SUBJECTS = 1_024

/** What is wrong now: `key` tells one cause from another; `msg` and `fields` are what the warning says. */
export interface Cause {
  key: string
  msg: string
  fields?: Record<string, unknown>
  /** @default 'warn' */
  level?: 'warn' | 'error'
  /** Said (info) when the cause clears. @default `resolved: <msg>` */
  cleared?: string
}

/** A cause's key from its text with the numbers blanked: "disk 74 % used" and "disk 75 % used" are one cause. */
export function causeKey (text: string): string {
  return text.replace(/\d+(\.\d+)?/g, '#')
}

export type CauseStep = 'raise' | 'change' | 'same' | 'clear' | 'quiet'

/** What a report does, from the cause last said for the subject (undefined: none) and the one now (null: all clear). Pure. */
export function causeStep (said: string | undefined, now: string | null): CauseStep {
  if (now === null) return said === undefined ? 'quiet' : 'clear'
  if (said === undefined) return 'raise'
  return said === now ? 'same' : 'change'
}

export interface OncePerCauseInit {
  /** @default DEFAULT_MAX_CAUSE_SUBJECTS */
  maxSubjects?: number
}

export class OncePerCause {
  private readonly said = new Map<string, Cause>()
  private readonly maxSubjects: number

  constructor (private readonly log: Logger, init: OncePerCauseInit = {}) {
    this.maxSubjects = init.maxSubjects ?? DEFAULT_MAX_CAUSE_SUBJECTS
    if (!(Number.isInteger(this.maxSubjects) && this.maxSubjects >= 1)) throw new RangeError('OncePerCause needs maxSubjects ≥ 1')
  }

  /**
   * The cause for `subject` now (null when nothing is wrong): warns when it is new or differs
   * from the last one said, says `resolved: <last message>` once when it clears. Returns what it did.
   */
  report (subject: string, cause: Cause | null): CauseStep {
    const last = this.said.get(subject)
    const step = causeStep(last?.key, cause?.key ?? null)
    if (step === 'same') {
      this.said.delete(subject)
      this.said.set(subject, last as Cause)
    } else if (step === 'raise' || step === 'change') {
      this.said.delete(subject)
      this.said.set(subject, cause as Cause)
      if (this.said.size > this.maxSubjects) this.said.delete(this.said.keys().next().value as string)
      const c = cause as Cause
      this.log[c.level ?? 'warn']({ ...c.fields, ...(step === 'change' ? { previous: last?.msg } : {}) }, c.msg)
    } else if (step === 'clear') {
      this.said.delete(subject)
      const { err: _err, ...fields } = last?.fields ?? {}
      this.log.info(fields, last?.cleared ?? `resolved: ${last?.msg ?? ''}`)
    }
    return step
  }

  /** The cause last said for `subject`, if it has not cleared. */
  current (subject: string): Cause | undefined {
    return this.said.get(subject)
  }
}
