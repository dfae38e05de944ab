/**
 * Last-writer-wins registers that keep the one-writer-per-key rule: each writer has its own key
 * `<name>@<writer>`, carrying a Lamport version. The winner is the highest (version, writer);
 * a writer bumps to one above every version it has seen, so a later write wins everywhere once
 * replicas have merged, and a tie between concurrent writes is broken the same way everywhere.
 */
import type { Register } from './schema.js'

export function registerKey (name: string, writer: string): string {
  return `${name}@${writer}`
}

/** Compare two registers: positive when `a` wins. */
export function compareRegisters<T> (a: Register<T>, b: Register<T>): number {
  if (a.version !== b.version) return a.version - b.version
  return a.writer < b.writer ? -1 : a.writer > b.writer ? 1 : 0
}

/** The winning register per name. */
export function resolveRegisters<T> (entries: Iterable<Register<T>>): Map<string, Register<T>> {
  const out = new Map<string, Register<T>>()
  for (const e of entries) {
    const cur = out.get(e.name)
    if (cur === undefined || compareRegisters(e, cur) > 0) out.set(e.name, e)
  }
  return out
}

/** The version a new write of `name` must carry to win over everything seen so far. */
export function nextRegisterVersion<T> (entries: Iterable<Register<T>>, name: string): number {
  let max = 0
  for (const e of entries) if (e.name === name && e.version > max) max = e.version
  return max + 1
}
