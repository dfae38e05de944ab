/**
 * A value computed from state that changes rarely and is read often (the settings in effect, the
 * voters, the leases that count): kept until one of the version numbers it was computed at
 * changes. Each source of change bumps its own counter (a map's observer, a mode switch); the memo
 * compares the counters, never the values.
 */
export class VersionMemo<T> {
  private last: { versions: number[], value: T } | undefined

  /**
   * @param versions the counters the value depends on, read on every `get`
   * @param compute the value at the current versions, given the one it replaces (undefined the
   *   first time): a compute may hand back the previous value when nothing it holds changed
   * @param keep whether a computed value may be reused while the versions stay (default: always);
   *   false for a value that also depends on something unversioned, such as the time
   */
  constructor (
    private readonly versions: () => number[],
    private readonly compute: (previous: T | undefined) => T,
    private readonly keep: (value: T) => boolean = () => true
  ) {}

  get (): T {
    const versions = this.versions()
    const last = this.last
    if (last !== undefined && sameVersions(last.versions, versions)) return last.value
    const value = this.compute(last?.value)
    this.last = this.keep(value) ? { versions, value } : undefined
    return value
  }
}

function sameVersions (a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
