import { pino, type Logger, type LoggerOptions, type DestinationStream } from 'pino'
import pinoPretty from 'pino-pretty'
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
  /** Where lines go: a stream, or a file descriptor (1 stdout, 2 stderr). @default stdout */
  destination?: DestinationStream | 1 | 2
  /**
   * Human-readable lines (pino-pretty, synchronous) instead of JSON; 'auto' when the
   * destination fd is a TTY. Only for file descriptor destinations. @default false
   */
  pretty?: boolean | 'auto'
}

/** How pretty lines look: coloured, with the local time of day. */
const PRETTY_OPTIONS = { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } as const

/** Whether `createLogger` would print pretty lines to `fd` for `pretty`. */
export function prettyFor (pretty: boolean | 'auto' | undefined, fd: 1 | 2): boolean {
  if (pretty === 'auto') return (fd === 1 ? process.stdout : process.stderr).isTTY === true
  return pretty === true
}

/** A pino logger; components take `logger.child({ component })`. */
export function createLogger (init: LoggerInit = {}): Logger {
  const options: LoggerOptions = {
    level: init.level ?? 'info',
    base: init.base ?? null
  }
  const clock = init.clock
  if (clock !== undefined) options.timestamp = () => `,"time":${clock.nowMs()}`
  const dest = init.destination
  if (dest === 1 || dest === 2) {
    if (prettyFor(init.pretty, dest)) return pino(options, pinoPretty({ destination: dest, sync: true, ...PRETTY_OPTIONS }))
    return pino(options, pino.destination(dest))
  }
  return dest !== undefined ? pino(options, dest) : pino(options)
}

/** A logger that writes nothing (tests, benchmarks). */
export function silentLogger (): Logger {
  return pino({ level: 'silent' })
}

/** Whoever holds the terminal's current line (a prompt being typed on), able to step aside for output. */
export interface TerminalLine {
  /** Clear the prompt and the input being typed, run `write` (whole lines), then draw them again. */
  aside: (write: () => void) => void
}

/**
 * Log lines for a terminal shared with an interactive prompt (`node --repl`): while a prompt is
 * attached, each line is written with the prompt stepped aside and redrawn after it, so a log
 * line never lands in the middle of what the user is typing. Lines go to `target` (a terminal:
 * process.stderr, whose writes are synchronous) in the order they are logged, pretty-printed
 * when `pretty`.
 */
export class TerminalLogDestination implements DestinationStream {
  private line: TerminalLine | undefined
  private readonly target: NodeJS.WritableStream
  private readonly format: (line: string) => string

  constructor (target: NodeJS.WritableStream, pretty: boolean) {
    this.target = target
    const prettify = pretty ? pinoPretty.prettyFactory(PRETTY_OPTIONS) : undefined
    this.format = prettify !== undefined ? l => prettify(l) : l => l
  }

  /** Write around `line` from now on; undefined writes straight to the terminal again. */
  attach (line: TerminalLine | undefined): void {
    this.line = line
  }

  write (msg: string): void {
    const text = this.format(msg)
    const out = (): void => { this.target.write(text) }
    if (this.line === undefined) out()
    else this.line.aside(out)
  }
}
