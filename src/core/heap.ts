/**
 * A binary min-heap with a caller-supplied order. Used by the virtual clock and the simulator's
 * event loop, which both need "next due, ties in insertion order".
 */
export class MinHeap<T> {
  private readonly items: T[] = []

  constructor (private readonly less: (a: T, b: T) => boolean) {}

  get size (): number {
    return this.items.length
  }

  peek (): T | undefined {
    return this.items[0]
  }

  push (item: T): void {
    const h = this.items
    h.push(item)
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!this.less(h[i] as T, h[p] as T)) break
      ;[h[i], h[p]] = [h[p] as T, h[i] as T]
      i = p
    }
  }

  pop (): T | undefined {
    const h = this.items
    if (h.length === 0) return undefined
    const top = h[0] as T
    const last = h.pop() as T
    if (h.length > 0) {
      h[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < h.length && this.less(h[l] as T, h[m] as T)) m = l
        if (r < h.length && this.less(h[r] as T, h[m] as T)) m = r
        if (m === i) break
        ;[h[i], h[m]] = [h[m] as T, h[i] as T]
        i = m
      }
    }
    return top
  }
}
