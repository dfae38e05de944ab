/** Wall-clock helpers of real mode: bounded waits and holding the process open during a run. */
import { sleep, type Clock } from '../../src/core/clock.js'
import { RiftmeshError } from '../../src/core/errors.js'

export class RealModeError extends RiftmeshError {
  constructor (message: string) {
    super(message, 'ERR_SIM_REAL')
    this.name = 'RealModeError'
  }
}

/** Reject when `p` takes longer than `ms` (the work itself is not cancelled). */
export async function within<T> (clock: Clock, ms: number, what: string, p: Promise<T>): Promise<T> {
  const controller = new AbortController()
  const timeout = sleep(clock, ms, { signal: controller.signal }).then(() => { throw new RealModeError(`${what} took longer than ${ms} ms`) })
  timeout.catch(() => undefined)
  try {
    return await Promise.race([p, timeout])
  } finally {
    controller.abort()
  }
}

/**
 * Keep the process alive while a run is going: SystemClock timers are unref'd and the memory
 * transport holds no handle, so a CLI run with no node started yet (a cold start) would
 * otherwise exit in the middle of a wait. An open MessagePort is a handle and not a timer.
 */
export function holdProcessOpen (): () => void {
  const { port1 } = new MessageChannel()
  port1.on('message', () => undefined)
  return () => port1.close()
}
