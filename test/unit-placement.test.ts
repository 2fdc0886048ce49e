import { describe, expect, it } from 'vitest';
import { chooseTarget, freeVcpus, RoomPool, type CapacityHost, type Item, type TargetHost } from '../src/domain/placement.js';

function host(name: string, vcpus: number, vcpusUsed = 0, extra: Partial<CapacityHost> = {}): CapacityHost {
  return { name, vcpus, vcpusUsed, acceptsInstances: true, maintained: false, ...extra };
}

/** A host instances may move to: `vcpus` of capacity, nothing used and no memory reported unless given. */
function target(
  name: string,
  vcpus: number,
  opts: { used?: number; maintained?: boolean; memoryMb?: number | null; memoryUsed?: number } = {},
): TargetHost {
  return {
    name,
    capacity: { vcpus, memoryMb: opts.memoryMb ?? null },
    used: { vcpus: opts.used ?? 0, memoryMb: opts.memoryUsed ?? 0 },
    maintained: opts.maintained ?? false,
  };
}

const item = (id: string, vcpus: number, memoryMb: number | null = null): Item => ({ id, vcpus, memoryMb });

/** vCPUs each host received in a placement. */
function perHost(placed: Map<string, string>, items: readonly Item[]): Map<string, number> {
  const size = new Map(items.map((i) => [i.id, i.vcpus]));
  const out = new Map<string, number>();
  for (const [id, h] of placed) out.set(h, (out.get(h) ?? 0) + size.get(id)!);
  return out;
}

describe('freeVcpus', () => {
  it('is capacity minus use', () => {
    expect(freeVcpus(host('a', 8, 3))).toBe(5);
    expect(freeVcpus(host('a', 8, 8))).toBe(0);
  });

  it('is never negative on an over-committed host', () => {
    expect(freeVcpus(host('over', 4, 6))).toBe(0);
  });
});

describe('chooseTarget', () => {
  it('prefers a maintained host even when another has more free vCPUs', () => {
    expect(chooseTarget(2, [host('roomy', 32), host('done', 4, 0, { maintained: true })])).toBe('done');
  });

  it('among equally maintained hosts, prefers the one with most free vCPUs', () => {
    expect(chooseTarget(1, [host('a', 8, 6), host('b', 8, 2), host('c', 8, 4)])).toBe('b');
  });

  it('breaks ties on free vCPUs by host name', () => {
    expect(chooseTarget(1, [host('zeta', 4), host('alpha', 4), host('mid', 4)])).toBe('alpha');
  });

  it('skips a maintained host without enough room', () => {
    expect(chooseTarget(4, [host('done', 4, 2, { maintained: true }), host('other', 4)])).toBe('other');
  });

  it('skips hosts that do not accept instances', () => {
    expect(chooseTarget(1, [host('done', 8, 0, { maintained: true, acceptsInstances: false }), host('other', 2)])).toBe('other');
  });

  it('never picks an over-committed host', () => {
    expect(chooseTarget(1, [host('over', 4, 6)])).toBeNull();
  });

  it('returns null when no host has room', () => {
    expect(chooseTarget(3, [host('a', 4, 2), host('b', 2)])).toBeNull();
    expect(chooseTarget(1, [])).toBeNull();
  });
});

describe('RoomPool', () => {
  it('places every item of a set that fits, each on a host with room for it', () => {
    const items = [item('i1', 2), item('i2', 3), item('i3', 1)];
    const placed = new RoomPool([target('a', 4), target('b', 4)]).placeAll(items);
    expect(placed).not.toBeNull();
    expect([...placed!.keys()].sort()).toEqual(['i1', 'i2', 'i3']);
    for (const used of perHost(placed!, items).values()) expect(used).toBeLessThanOrEqual(4);
  });

  it('an empty set always fits, even in an empty pool', () => {
    expect(new RoomPool([]).placeAll([])).toEqual(new Map());
  });

  it('places none when one item does not fit, and reserves nothing then', () => {
    const pool = new RoomPool([target('a', 4), target('b', 4)]);
    expect(pool.placeAll([item('small', 1), item('huge', 5)])).toBeNull();
    expect(pool.reserved.size).toBe(0);
  });

  it('a failed placement leaves the pool as it was: the next one sees all the room', () => {
    const pool = new RoomPool([target('a', 4), target('b', 4)]);
    // 9 vCPUs do not fit in 8; the first two items would have taken 3 on each host.
    expect(pool.placeAll([item('x1', 3), item('x2', 3), item('x3', 3)])).toBeNull();
    // Only whole hosts take two 4-vCPU items: any reservation left behind would break this.
    const placed = pool.placeAll([item('y1', 4), item('y2', 4)]);
    expect(placed).not.toBeNull();
    expect(new Set(placed!.values())).toEqual(new Set(['a', 'b']));
  });

  it('never overbooks a host across several placements: reservations add up', () => {
    const pool = new RoomPool([target('a', 4)]);
    expect(pool.placeAll([item('i1', 3)])).toEqual(new Map([['i1', 'a']]));
    expect(pool.placeAll([item('i2', 2)])).toBeNull();
    expect(pool.placeAll([item('i3', 1)])).toEqual(new Map([['i3', 'a']]));
    expect(pool.placeAll([item('i4', 1)])).toBeNull();
  });

  it('counts what a host already uses against its room', () => {
    const pool = new RoomPool([target('a', 8, { used: 6 })]);
    expect(pool.placeAll([item('i1', 3)])).toBeNull();
    expect(pool.placeAll([item('i2', 2)])).toEqual(new Map([['i2', 'a']]));
  });

  it('prefers a maintained host over a tighter unmaintained one', () => {
    const pool = new RoomPool([target('other', 2), target('done', 8, { maintained: true })]);
    expect(pool.placeAll([item('i', 2)])).toEqual(new Map([['i', 'done']]));
  });

  it('falls back to unmaintained hosts once the maintained ones are full', () => {
    const pool = new RoomPool([target('done', 2, { maintained: true }), target('other', 8)]);
    expect(pool.placeAll([item('i1', 2), item('i2', 2)])).toEqual(
      new Map([
        ['i1', 'done'],
        ['i2', 'other'],
      ]),
    );
  });

  it('puts an item on the host with least room that still fits, keeping a whole host for a big item later', () => {
    const pool = new RoomPool([target('big', 8), target('mid', 4), target('small', 2)]);
    expect(pool.placeAll([item('two', 2)])).toEqual(new Map([['two', 'small']]));
    expect(pool.placeAll([item('three', 3)])).toEqual(new Map([['three', 'mid']]));
    expect(pool.placeAll([item('eight', 8)])).toEqual(new Map([['eight', 'big']]));
  });

  it('checks memory on hosts that report it', () => {
    // "tight" is the tighter fit by vCPUs, but has only 1024 MB left.
    const pool = new RoomPool([
      target('tight', 2, { memoryMb: 4096, memoryUsed: 3072 }),
      target('roomy', 8, { memoryMb: 16384 }),
    ]);
    expect(pool.placeAll([item('fat', 2, 2048)])).toEqual(new Map([['fat', 'roomy']]));
    expect(pool.placeAll([item('lean', 2, 1024)])).toEqual(new Map([['lean', 'tight']]));
  });

  it('reserves memory too: placements add up against a host memory', () => {
    const pool = new RoomPool([target('a', 16, { memoryMb: 4096 })]);
    expect(pool.placeAll([item('i1', 1, 3000)])).toEqual(new Map([['i1', 'a']]));
    expect(pool.placeAll([item('i2', 1, 3000)])).toBeNull();
    expect(pool.placeAll([item('i3', 1, 1096)])).toEqual(new Map([['i3', 'a']]));
  });

  it('ignores memory on a host whose capacity.memoryMb is null', () => {
    const pool = new RoomPool([target('unknown', 2, { memoryMb: null }), target('roomy', 8, { memoryMb: 1024 })]);
    expect(pool.placeAll([item('fat', 2, 1_000_000)])).toEqual(new Map([['fat', 'unknown']]));
  });

  it('an item without a memory size fits whatever memory is left', () => {
    const pool = new RoomPool([target('a', 4, { memoryMb: 4096, memoryUsed: 4000 })]);
    expect(pool.placeAll([item('i', 2, null)])).toEqual(new Map([['i', 'a']]));
  });

  it('places the largest items first, so a set that only fits that way fits', () => {
    // Free 3 and 2; items 1, 2, 2 in this order would put 1 on the 2-host (tightest) and strand a 2.
    const items = [item('one', 1), item('twoA', 2), item('twoB', 2)];
    const placed = new RoomPool([target('three', 3), target('two', 2)]).placeAll(items);
    expect(placed).not.toBeNull();
    const used = perHost(placed!, items);
    expect(used.get('three')).toBe(3);
    expect(used.get('two')).toBe(2);
  });

  it('never uses a host with no room left', () => {
    const hosts = [
      target('full', 4, { used: 4 }),
      target('over', 4, { used: 6 }),
      target('memory-full', 8, { memoryMb: 2048, memoryUsed: 2048 }),
      target('no-capacity', 0),
    ];
    expect(new RoomPool(hosts).placeAll([item('i', 1)])).toBeNull();
    expect(new RoomPool([...hosts, target('spare', 1)]).placeAll([item('i', 1)])).toEqual(new Map([['i', 'spare']]));
  });

  it('withdraw takes a host out of the pool, and the function it returns puts it back', () => {
    const pool = new RoomPool([target('a', 4)]);
    const putBack = pool.withdraw('a');
    expect(pool.placeAll([item('i1', 1)])).toBeNull();
    putBack();
    expect(pool.placeAll([item('i2', 1)])).toEqual(new Map([['i2', 'a']]));
  });

  it('a host put back keeps the reservations it had before', () => {
    const pool = new RoomPool([target('a', 4)]);
    expect(pool.placeAll([item('i1', 3)])).not.toBeNull();
    pool.withdraw('a')();
    expect(pool.placeAll([item('i2', 2)])).toBeNull();
    expect(pool.placeAll([item('i3', 1)])).toEqual(new Map([['i3', 'a']]));
  });

  it('withdrawing only the named host leaves the others in use', () => {
    const pool = new RoomPool([target('a', 2), target('b', 8)]);
    pool.withdraw('a');
    expect(pool.placeAll([item('i', 2)])).toEqual(new Map([['i', 'b']]));
  });

  it('withdrawing a host that is not in the pool changes nothing', () => {
    const pool = new RoomPool([target('a', 4), target('full', 4, { used: 4 })]);
    pool.withdraw('nowhere')();
    pool.withdraw('full')();
    expect(pool.placeAll([item('i', 4)])).toEqual(new Map([['i', 'a']]));
    expect(pool.placeAll([item('j', 1)])).toBeNull();
  });

  it('reserved lists exactly the hosts that received reservations', () => {
    const pool = new RoomPool([target('a', 2), target('b', 4), target('c', 8)]);
    expect(pool.reserved.size).toBe(0);
    pool.placeAll([item('i1', 2)]);
    pool.placeAll([item('i2', 4)]);
    expect(pool.placeAll([item('no', 9)])).toBeNull();
    expect(new Set(pool.reserved)).toEqual(new Set(['a', 'b']));
  });

  it('places 20,000 items on 2,000 hosts without overbooking any of them', () => {
    const hosts: TargetHost[] = [];
    for (let i = 0; i < 2000; i++) {
      const reportsMemory = i % 4 !== 0;
      hosts.push(
        target(`h${i}`, 32 + (i % 5) * 8, {
          used: (i % 7) * 2,
          maintained: i % 10 === 0,
          memoryMb: reportsMemory ? 131072 : null,
          memoryUsed: reportsMemory ? (i % 3) * 16384 : 0,
        }),
      );
    }
    const items: Item[] = [];
    for (let k = 0; k < 20000; k++) items.push(item(`i${k}`, (k % 4) + 1, k % 5 === 0 ? null : 1024 * ((k % 3) + 1)));

    const pool = new RoomPool(hosts);
    const where = new Map<string, string>();
    for (let k = 0; k < items.length; k += 10) {
      const batch = items.slice(k, k + 10);
      const placed = pool.placeAll(batch);
      expect(placed).not.toBeNull();
      expect(placed!.size).toBe(batch.length);
      for (const [id, h] of placed!) where.set(id, h);
    }
    expect(where.size).toBe(20000);

    const byName = new Map(hosts.map((h) => [h.name, h]));
    const vcpus = new Map<string, number>();
    const memory = new Map<string, number>();
    for (const x of items) {
      const h = where.get(x.id)!;
      vcpus.set(h, (vcpus.get(h) ?? 0) + x.vcpus);
      memory.set(h, (memory.get(h) ?? 0) + (x.memoryMb ?? 0));
    }
    for (const [name, used] of vcpus) {
      const h = byName.get(name)!;
      expect(used).toBeLessThanOrEqual(h.capacity.vcpus - h.used.vcpus);
      if (h.capacity.memoryMb !== null) expect(memory.get(name)!).toBeLessThanOrEqual(h.capacity.memoryMb - h.used.memoryMb);
    }
    expect(new Set(pool.reserved)).toEqual(new Set(vcpus.keys()));
  });
});
