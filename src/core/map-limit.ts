/**
 * `mapLimit`: run an async function over a list with at most `limit` calls in flight, started in
 * list order, results in list order. Used where a bound on concurrent I/O is the point (the
 * scanner's stats and hashes, the sync planner's jobs).
 */

/** Run `fn` over `items`, at most `limit` at once, in order of start; rejects with the first error (the calls already started still run). */
export async function mapLimit<T, R> (items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>, signal?: AbortSignal): Promise<R[]> {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`mapLimit: limit must be a whole number ≥ 1, got ${limit}`)
  const out = new Array<R>(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) {
      signal?.throwIfAborted()
      out[i] = await fn(items[i] as T, i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return out
}
