// A host belongs to at most one active session: a second session naming it is refused, naming
// the session that holds it; sessions on disjoint hosts of one cloud never disturb each other.
import { describe, expect, it } from 'vitest';
import { RefusedError } from '../src/domain/errors.js';
import { harness } from './helpers.js';
import { capacityViolations, expectationsOf, placementViolations } from './invariants.js';

const CLOUD = `
hosts:
${[0, 1, 2, 3, 4, 5, 6, 7].map((c) => `  - {name: compute-${c}, vcpus: 8}`).join('\n')}
instances:
${[0, 1, 2, 4, 5, 6].map((c) => `  - {name: vm-${c}, project: proj-${c < 4 ? 'a' : 'b'}, host: compute-${c}, vcpus: 4}`).join('\n')}
projects:
  - {id: proj-a, auto_reply: ack, action: MIGRATE}
  - {id: proj-b, auto_reply: ack, action: LIVE_MIGRATE}
`;
const LEFT = ['compute-0', 'compute-1', 'compute-2', 'compute-3'];
const RIGHT = ['compute-4', 'compute-5', 'compute-6', 'compute-7'];

describe('one owner per host', () => {
  it('refuses a second session over a host the first holds, naming the first, and writes nothing', async () => {
    const h = harness(CLOUD, { auto: false });
    const first = await h.engine.createSession({ hosts: LEFT }, { kind: 'sim', cloudId: h.cloudId });
    const before = h.store.listSessions().length;
    const refused = h.engine.createSession({ hosts: ['compute-3', 'compute-4'] }, { kind: 'sim', cloudId: h.cloudId });
    await expect(refused).rejects.toThrow(RefusedError);
    await expect(refused).rejects.toThrow(`compute-3 (session ${first.id})`);
    expect(h.store.listSessions().length).toBe(before);
    // Without a host list a session covers every host: refused as well.
    await expect(h.engine.createSession({}, { kind: 'sim', cloudId: h.cloudId })).rejects.toThrow(first.id);
  });

  it('takes the hosts again once the first session is deleted', async () => {
    const h = harness(CLOUD, { auto: false });
    const first = await h.engine.createSession({ hosts: LEFT }, { kind: 'sim', cloudId: h.cloudId });
    await h.engine.deleteSession(first.id);
    const second = await h.engine.createSession({ hosts: LEFT }, { kind: 'sim', cloudId: h.cloudId });
    expect(second.id).not.toBe(first.id);
  });

  it('runs two sessions on disjoint hosts of one cloud to MAINTENANCE_DONE, 20 times out of 20', async () => {
    const ends: string[] = [];
    for (let run = 0; run < 20; run++) {
      const h = harness(CLOUD);
      const expected = expectationsOf(h.cloud);
      const hosts = h.cloud.hosts();
      const parallel = 1 + (run % 3);
      const a = await h.engine.createSession({ hosts: LEFT, max_parallel_hosts: parallel }, { kind: 'sim', cloudId: h.cloudId });
      const b = await h.engine.createSession({ hosts: RIGHT, max_parallel_hosts: 'auto' }, { kind: 'sim', cloudId: h.cloudId });
      const [endA, endB] = await Promise.all([h.engine.waitForEnd(a.id), h.engine.waitForEnd(b.id)]);
      ends.push(`${endA.state}/${endB.state}`);
      const events = h.store.events(null);
      expect([...placementViolations(events, expected.before, a.id), ...placementViolations(events, expected.before, b.id)]).toEqual([]);
      expect(capacityViolations(events, expected.before, hosts)).toEqual([]);
      // Each session's instances stayed on its own hosts.
      for (const i of h.cloud.instances()) expect((i.name < 'vm-4' ? LEFT : RIGHT).includes(i.host)).toBe(true);
    }
    expect(ends).toEqual(Array(20).fill('MAINTENANCE_DONE/MAINTENANCE_DONE'));
  });
});
