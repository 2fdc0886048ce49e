import { describe, expect, it } from 'vitest';
import {
  chooseHostToEmpty,
  chooseTarget,
  fitInstances,
  type CapacityHost,
  type EmptyCandidate,
} from '../src/domain/placement.js';

function host(name: string, vcpus: number, vcpusUsed = 0, extra: Partial<CapacityHost> = {}): CapacityHost {
  return { name, vcpus, vcpusUsed, acceptsInstances: true, maintained: false, ...extra };
}

function candidate(h: CapacityHost, instances: Array<[id: string, vcpus: number, floatingIp?: boolean]>): EmptyCandidate {
  return { host: h, instances: instances.map(([id, vcpus, floatingIp = false]) => ({ id, vcpus, floatingIp })) };
}

describe('fitInstances', () => {
  it('places every instance, largest first, onto the host with most room', () => {
    const plan = fitInstances(
      [
        { id: 'small', vcpus: 1 },
        { id: 'big', vcpus: 4 },
      ],
      [host('a', 4, 2), host('b', 8, 2)],
    );
    // big goes to b (6 free vs 2); then a and b both have 2 free, and the tie goes to name "a".
    expect(plan).toEqual(
      new Map([
        ['big', 'b'],
        ['small', 'a'],
      ]),
    );
  });

  it('packs items that only fit when the largest is placed first', () => {
    // Two hosts with 3 and 2 free. Items 2, 2, 1: first-fit decreasing fits them all.
    const plan = fitInstances(
      [
        { id: 'x1', vcpus: 1 },
        { id: 'x2a', vcpus: 2 },
        { id: 'x2b', vcpus: 2 },
      ],
      [host('a', 3), host('b', 2)],
    );
    expect(plan).not.toBeNull();
    const used = new Map<string, number>();
    for (const [id, h] of plan!) used.set(h, (used.get(h) ?? 0) + (id === 'x1' ? 1 : 2));
    expect(used.get('a')).toBeLessThanOrEqual(3);
    expect(used.get('b')).toBeLessThanOrEqual(2);
    expect(plan!.size).toBe(3);
  });

  it('returns null when an instance does not fit anywhere', () => {
    expect(fitInstances([{ id: 'huge', vcpus: 5 }], [host('a', 4), host('b', 4)])).toBeNull();
  });

  it('returns null when the total does not fit even though each item alone would', () => {
    expect(
      fitInstances(
        [
          { id: 'i1', vcpus: 3 },
          { id: 'i2', vcpus: 3 },
        ],
        [host('a', 4)],
      ),
    ).toBeNull();
  });

  it('ignores hosts that do not accept instances', () => {
    const hosts = [host('closed', 16, 0, { acceptsInstances: false }), host('open', 2)];
    expect(fitInstances([{ id: 'i', vcpus: 2 }], hosts)).toEqual(new Map([['i', 'open']]));
    expect(fitInstances([{ id: 'i', vcpus: 3 }], hosts)).toBeNull();
  });

  it('fits nothing onto an empty list of hosts, but an empty list of items always fits', () => {
    expect(fitInstances([{ id: 'i', vcpus: 1 }], [])).toBeNull();
    expect(fitInstances([], [])).toEqual(new Map());
  });

  it('treats an over-committed host as having no room', () => {
    expect(fitInstances([{ id: 'i', vcpus: 1 }], [host('over', 4, 6)])).toBeNull();
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

  it('returns null when no host has room', () => {
    expect(chooseTarget(3, [host('a', 4, 2), host('b', 2)])).toBeNull();
  });
});

describe('chooseHostToEmpty', () => {
  it('prefers a host without floating-IP instances over one with more free vCPUs', () => {
    const fip = host('c-fip', 8, 1);
    const plain = host('c-plain', 8, 4);
    const spare = host('spare', 8);
    const choice = chooseHostToEmpty(
      [candidate(fip, [['f1', 1, true]]), candidate(plain, [['p1', 4]])],
      [fip, plain, spare],
    );
    expect(choice?.host).toBe('c-plain');
    expect(choice?.plan.get('p1')).toBeDefined();
  });

  it('among hosts without floating IPs, prefers the one with most free vCPUs', () => {
    const busy = host('busy', 8, 6);
    const light = host('light', 8, 2);
    const spare = host('spare', 8);
    const choice = chooseHostToEmpty(
      [candidate(busy, [['b1', 6]]), candidate(light, [['l1', 1], ['l2', 1]])],
      [busy, light, spare],
    );
    expect(choice?.host).toBe('light');
  });

  it('with equal free vCPUs, prefers the host with fewer instances', () => {
    const many = host('a-many', 8, 4);
    const few = host('b-few', 8, 4);
    const spare = host('spare', 8);
    const choice = chooseHostToEmpty(
      [candidate(many, [['m1', 1], ['m2', 1], ['m3', 1], ['m4', 1]]), candidate(few, [['f1', 4]])],
      [many, few, spare],
    );
    expect(choice?.host).toBe('b-few');
  });

  it('returns a plan that places every instance of the chosen host on another host', () => {
    const a = host('a', 4, 3);
    const b = host('b', 4, 2);
    const c = host('c', 4, 1);
    const choice = chooseHostToEmpty([candidate(a, [['a1', 3]]), candidate(b, [['b1', 2]]), candidate(c, [['c1', 1]])], [a, b, c]);
    expect(choice?.host).toBe('c');
    expect(choice?.plan.size).toBe(1);
    expect(['a', 'b']).toContain(choice?.plan.get('c1'));
  });

  it('never plans a move onto the host being emptied', () => {
    const only = host('only', 16, 2);
    expect(chooseHostToEmpty([candidate(only, [['i1', 2]])], [only])).toBeNull();
  });

  it('skips the preferred host when its instances would not fit elsewhere and takes the next one', () => {
    // "roomy" has the most free vCPUs but one 6-vCPU instance that fits nowhere else.
    const roomy = host('roomy', 16, 6);
    const small = host('small', 4, 4);
    const spare = host('spare', 4);
    const choice = chooseHostToEmpty(
      [candidate(roomy, [['big', 6]]), candidate(small, [['s1', 2], ['s2', 2]])],
      [roomy, small, spare],
    );
    expect(choice?.host).toBe('small');
  });

  it('does not count hosts that refuse instances as room for the emptied host', () => {
    const a = host('a', 4, 2);
    const closed = host('closed', 16, 0, { acceptsInstances: false });
    expect(chooseHostToEmpty([candidate(a, [['i1', 2]])], [a, closed])).toBeNull();
  });

  it('falls back to a floating-IP host only when no other host can be emptied', () => {
    const fip = host('fip', 8, 2);
    const stuck = host('stuck', 8, 8);
    const spare = host('spare', 4);
    const choice = chooseHostToEmpty(
      [candidate(stuck, [['s1', 8]]), candidate(fip, [['f1', 2, true]])],
      [fip, stuck, spare],
    );
    expect(choice?.host).toBe('fip');
    expect(choice?.plan.get('f1')).toBe('spare');
  });

  it('returns null when no host can be emptied', () => {
    const a = host('a', 4, 4);
    const b = host('b', 4, 4);
    expect(chooseHostToEmpty([candidate(a, [['a1', 4]]), candidate(b, [['b1', 2, true], ['b2', 2]])], [a, b])).toBeNull();
  });

  it('returns null when there are no candidates', () => {
    expect(chooseHostToEmpty([], [host('a', 4)])).toBeNull();
  });
});
