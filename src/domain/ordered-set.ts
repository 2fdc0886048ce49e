// A set in insertion order whose deleted entries leave nothing behind. A Set keeps a hole for
// each deleted entry until it rehashes, and iterating it from the start steps over every hole:
// a wave of 40,000 instances leaving from its front made each look at its first entries (once
// per plan) step over thousands of them.

interface Node<T> {
  value: T;
  next: Node<T> | null;
  prev: Node<T> | null;
  /** Deleted: an iteration standing on it goes on to the entries after it. */
  gone: boolean;
}

export class OrderedSet<T> implements ReadonlySet<T> {
  private readonly nodes = new Map<T, Node<T>>();
  private head: Node<T> | null = null;
  private tail: Node<T> | null = null;

  get size(): number {
    return this.nodes.size;
  }

  has(value: T): boolean {
    return this.nodes.has(value);
  }

  /** Appends the value unless it is there already (then it keeps its place, as Set.add). */
  add(value: T): this {
    if (this.nodes.has(value)) return this;
    const node: Node<T> = { value, next: null, prev: this.tail, gone: false };
    if (this.tail) this.tail.next = node;
    else this.head = node;
    this.tail = node;
    this.nodes.set(value, node);
    return this;
  }

  delete(value: T): boolean {
    const node = this.nodes.get(value);
    if (!node) return false;
    this.nodes.delete(value);
    if (node.prev) node.prev.next = node.next;
    else this.head = node.next;
    if (node.next) node.next.prev = node.prev;
    else this.tail = node.prev;
    // `next` is kept: an iteration standing on the node carries on from there.
    node.gone = true;
    return true;
  }

  clear(): void {
    for (let n = this.head; n; n = n.next) n.gone = true;
    this.nodes.clear();
    this.head = this.tail = null;
  }

  *values(): IterableIterator<T> {
    for (let n = this.head; n; n = n.next) {
      if (!n.gone) yield n.value;
    }
  }

  keys(): IterableIterator<T> {
    return this.values();
  }

  *entries(): IterableIterator<[T, T]> {
    for (const v of this.values()) yield [v, v];
  }

  forEach(fn: (value: T, key: T, set: ReadonlySet<T>) => void): void {
    for (const v of this.values()) fn(v, v, this);
  }

  [Symbol.iterator](): IterableIterator<T> {
    return this.values();
  }
}
