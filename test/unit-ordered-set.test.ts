import { describe, expect, it } from 'vitest';
import { OrderedSet } from '../src/domain/ordered-set.js';

describe('OrderedSet', () => {
  it('keeps insertion order as Set does: adding a member again keeps its place, deleting and adding moves it to the end', () => {
    const set = new OrderedSet<string>();
    const mirror = new Set<string>();
    for (const op of ['+a', '+b', '+c', '+a', '-b', '+b', '+d', '-a', '-d', '+a', '-zz']) {
      const v = op.slice(1);
      expect(op[0] === '+' ? (set.add(v), mirror.add(v), true) : set.delete(v) === mirror.delete(v)).toBe(true);
      expect([...set]).toEqual([...mirror]);
      expect(set.size).toBe(mirror.size);
    }
    expect([...set]).toEqual(['c', 'b', 'a']);
    expect(set.has('b')).toBe(true);
    expect(set.has('d')).toBe(false);
  });

  it('starts an iteration at the first member left after many deletes, and goes on past a member deleted under it', () => {
    const set = new OrderedSet<number>();
    for (let n = 0; n < 10_000; n++) set.add(n);
    for (let n = 0; n < 9_990; n++) set.delete(n);
    expect([...set]).toEqual([9990, 9991, 9992, 9993, 9994, 9995, 9996, 9997, 9998, 9999]);
    const seen: number[] = [];
    for (const v of set) {
      seen.push(v);
      if (v === 9992) {
        set.delete(9992);
        set.delete(9993);
      }
    }
    expect(seen).toEqual([9990, 9991, 9992, 9994, 9995, 9996, 9997, 9998, 9999]);
    set.clear();
    expect([...set]).toEqual([]);
    expect(set.size).toBe(0);
    set.add(1);
    expect([...set.entries()]).toEqual([[1, 1]]);
  });
});
