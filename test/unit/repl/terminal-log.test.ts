/**
 * Log lines and a prompt on one terminal (`node --repl`): a real REPL session in terminal mode
 * on an in-memory terminal of a fixed width, a real pino logger writing through
 * TerminalLogDestination, and what the screen then shows: the log line on rows of its own, the
 * prompt and the half-typed input (wrapped over two rows) redrawn below it, the cursor where it
 * was.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { PassThrough } from 'node:stream'
import { VirtualClock } from '../../../src/core/clock.js'
import { TerminalLogDestination, createLogger } from '../../../src/core/logger.js'
import { DEFAULT_PROMPT, startReplSession, type ReplSession } from '../../../src/repl/session.js'
import { Screen } from '../../support/screen.js'

const COLUMNS = 40
let session: ReplSession | undefined

afterEach(async () => {
  session?.server.close()
  await session?.closed
  session = undefined
})

/** A REPL on a terminal COLUMNS wide; `screen()` is what it shows now. */
async function terminal (): Promise<{ input: PassThrough, output: PassThrough, screen: () => Screen }> {
  const input = new PassThrough()
  const output = Object.assign(new PassThrough(), { columns: COLUMNS, rows: 24, isTTY: true })
  let raw = ''
  output.on('data', (d: Buffer) => { raw += d.toString() })
  session = await startReplSession({
    call: async () => { throw new Error('no node in this test') },
    input,
    output,
    terminal: true,
    target: 'nowhere',
    nowMs: () => 0
  })
  return { input, output, screen: () => new Screen(COLUMNS).write(raw) }
}

/** `text` as a terminal COLUMNS wide shows it: cut into rows. */
const rows = (text: string): string[] => text.match(new RegExp(`.{1,${COLUMNS}}`, 'g')) ?? []

describe('a log line while the user types at the REPL prompt', () => {
  const typed = 'settings.get("curriculumWeights")' // with the prompt: 43 columns, two rows

  it('is written on rows of its own; the prompt and the input are drawn again below it, cursor at the end', async () => {
    const t = await terminal()
    t.input.write(typed)
    await expect.poll(() => t.screen().lines().join('')).toContain(typed)
    const destination = new TerminalLogDestination(t.output, false)
    const log = createLogger({ level: 'info', clock: new VirtualClock(42), destination })
    destination.attach(session)
    log.warn({ peer: 'p1' }, 'disk nearly full')
    log.info('second line')

    const screen = t.screen()
    const first = '{"level":40,"time":42,"peer":"p1","msg":"disk nearly full"}'
    const second = '{"level":30,"time":42,"msg":"second line"}'
    const expected = [...rows(first), ...rows(second), ...rows(DEFAULT_PROMPT + typed)]
    expect(screen.lines().slice(-expected.length)).toEqual(expected)
    // above them only the banner: no half-typed line left behind
    expect(screen.lines().slice(0, -expected.length).join('')).toBe('attached to nowhere; .help lists the helpers, .exit leaves')
    const inputRows = rows(DEFAULT_PROMPT + typed)
    expect(screen.cursor()).toEqual({ row: screen.lines().length - 1, col: (inputRows.at(-1) as string).length })
  })

  it('keeps the cursor where the user moved it inside the input', async () => {
    const t = await terminal()
    t.input.write(typed)
    t.input.write('\x1b[D\x1b[D\x1b[D') // three times ←
    await expect.poll(() => t.screen().cursor().col).toBe((DEFAULT_PROMPT + typed).length - COLUMNS - 3)
    const destination = new TerminalLogDestination(t.output, false)
    destination.attach(session)
    createLogger({ clock: new VirtualClock(1), destination }).warn('x')
    const screen = t.screen()
    expect(screen.lines().slice(-3)).toEqual(['{"level":40,"time":1,"msg":"x"}', ...rows(DEFAULT_PROMPT + typed)])
    expect(screen.cursor()).toEqual({ row: screen.lines().length - 1, col: (DEFAULT_PROMPT + typed).length - COLUMNS - 3 })
    // and the input is still there to finish: Enter runs what was typed
    t.input.write('\r')
    await expect.poll(() => t.screen().lines().join('\n')).toMatch(/error: no node in this test/)
  })
})
