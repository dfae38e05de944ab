import { pino, type Logger, type LoggerOptions, type DestinationStream } from 'pino'
import type { Clock } from './clock.js'

export type { Logger }

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

export interface LoggerInit {
  /** @default 'info' */
  level?: LogLevel
  /** Timestamps come from this clock, so simulator logs show virtual time. @default wall time */
  clock?: Clock
  /** Fields added to every line (e.g. the node id). */
  base?: Record<string, unknown>
  /** Where lines go. @default stdout */
  destination?: DestinationStream
}

/** A pino logger; components take `logger.child({ component })`. */
export function createLogger (init: LoggerInit = {}): Logger {
  const options: LoggerOptions = {
    level: init.level ?? 'info',
    base: init.base ?? null
  }
  const clock = init.clock
  if (clock !== undefined) options.timestamp = () => `,"time":${clock.nowMs()}`
  return init.destination !== undefined ? pino(options, init.destination) : pino(options)
}

/** A logger that writes nothing (tests, benchmarks). */
export function silentLogger (): Logger {
  return pino({ level: 'silent' })
}
