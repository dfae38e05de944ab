/**
 * Holding the process open. SystemClock timers are unref'd, so a command whose only pending
 * work is a wait on them (a CLI stopping the processes it started, with none of them left to
 * hold the event loop) would let Node exit half way through, with "Detected unsettled top-level
 * await" and exit code 13. Such a command holds the process open until it is done.
 */

/** The longest delay a Node timer takes (2^31 - 1 ms); the timer never needs to fire. */
const MAX_TIMER_MS = 2 ** 31 - 1

/** Keep the event loop alive until the returned function is called (idempotent). */
export function holdProcessOpen (): () => void {
  const t = setInterval(() => {}, MAX_TIMER_MS)
  return () => clearInterval(t)
}
