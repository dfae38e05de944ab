/** A real pino logger (createLogger) whose JSON lines are kept in an array, for tests that check what is logged. */
import { Writable } from 'node:stream'
import { VirtualClock } from '../../src/core/clock.js'
import { createLogger, type Logger } from '../../src/core/logger.js'

export interface LogLine { level: number, msg: string, [field: string]: unknown }

export function capturingLogger (): { log: Logger, lines: LogLine[] } {
  const lines: LogLine[] = []
  const destination = new Writable({
    write (chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as LogLine)
      done()
    }
  })
  return { log: createLogger({ level: 'debug', clock: new VirtualClock(0), destination }), lines }
}

/** The warnings among `lines` (pino level 40). */
export const warnings = (lines: readonly LogLine[]): LogLine[] => lines.filter(l => l.level === 40)
