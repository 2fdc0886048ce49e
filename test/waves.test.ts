// Parallel maintenance: hosts emptied and maintained in waves, several in flight at once, on the
// sim cloud and the virtual clock. After each run the invariants of a rolling maintenance hold,
// replayed from the event log: at most N hosts in maintenance, no host over capacity, no
// instance on a host in maintenance, every compute maintained once, every instance kept.
import { describe, expect, it } from 'vitest';
import { harness, runSession } from './helpers.js';
import { brokenInvariants, capacityViolations, expectationsOf, mostInMaintenance } from './invariants.js';

/** `computes` hosts of 8 vCPUs and 8 GiB running `perHost` 2-vCPU instances of two projects, plus `spare` empty ones. */
function cloud(computes: number, perHost: number, spare: number, timing = '{migrate_s: 30, live_migrate_s: 10, host_maintenance_s: 600}'): string {
  const hosts: string[] = [];
  const instances: string[] = [];
  for (let c = 0; c < computes + spare; c++) {
    hosts.push(`  - {name: compute-${c}, vcpus: 8, memory_mb: 8192}`);
    for (let i = 0; c < computes && i < perHost; i++) {
      const project = i % 2 ? 'proj-b' : 'proj-a';
      instances.push(`  - {name: vm-${c}-${i}, project: ${project}, host: compute-${c}, vcpus: 2, memory_mb: 2048}`);
    }
  }
  return [
    'hosts:',
    ...hosts,
    'instances:',
    ...instances,
    'projects:',
    '  - {id: proj-a, auto_reply: ack, action: MIGRATE}',
    '  - {id: proj-b, auto_reply: ack, action: LIVE_MIGRATE}',
    `timing: ${timing}`,
  ].join('\n');
}

async function run(yaml: string, request: Record<string, unknown>) {
  const h = harness(yaml);
  const expected = expectationsOf(h.cloud);
  const hosts = h.cloud.hosts();
  const { session, events, allEvents } = await runSession(h, request);
  return {
    h,
    session,
    events,
    problems: [...brokenInvariants(h.store, h.cloud, session.id, expected), ...capacityViolations(allEvents, expected.before, hosts)],
    mostInMaintenance: mostInMaintenance(allEvents, session.id),
    makespan: session.updatedAt - session.createdAt,
    moves: allEvents.filter((e) => e.eventType === 'sim.instance.moved').length,
    instances: expected.before.length,
  };
}

describe('waves of hosts', () => {
  it.each([1, 2, 3, 4])('with --max-parallel %i keeps every invariant and never has more hosts in maintenance', async (n) => {
    const r = await run(cloud(8, 2, 2), { max_parallel_hosts: n });
    expect(r.problems).toEqual([]);
    expect(r.mostInMaintenance).toBeLessThanOrEqual(n);
    expect(r.mostInMaintenance).toBe(n);
  });

  it('asks each project once per wave, about its instances on every host of the wave', async () => {
    const r = await run(cloud(8, 2, 3), { max_parallel_hosts: 3 });
    expect(r.problems).toEqual([]);
    const waves = r.events.filter((e) => e.eventType === 'maintctl.wave' && (e.payload.moves as unknown[]).length > 0);
    const wide = waves.find((e) => (e.payload.hosts as string[]).length > 1)!;
    expect(wide).toBeDefined();
    const questions = r.events.filter((e) => e.eventType === 'maintenance.planned' && e.payload.state === 'PLANNED_MAINTENANCE');
    // One question per project and wave: as many questions as (wave, project) pairs.
    const pairs = new Set(
      waves.flatMap((w) =>
        (w.payload.moves as Array<{ instance_id: string }>).map((m) => `${w.payload.wave}:${r.h.store.instances(r.session.id).find((i) => i.instanceId === m.instance_id)?.projectId}`),
      ),
    );
    expect(questions.length).toBe(pairs.size);
  });

  it('moves each instance once when free capacity is on spare hosts, and is faster with more hosts in flight', async () => {
    const one = await run(cloud(8, 4, 2), { max_parallel_hosts: 1 });
    const auto = await run(cloud(8, 4, 2), { max_parallel_hosts: 'auto' });
    for (const r of [one, auto]) expect(r.problems).toEqual([]);
    expect(auto.moves).toBe(auto.instances);
    expect(auto.mostInMaintenance).toBe(2);
    expect(auto.makespan).toBeLessThan(one.makespan / 1.8);
  });

  it('with auto, fills free room spread over many hosts without overbooking any of them (memory included)', async () => {
    const r = await run(cloud(10, 3, 0), { max_parallel_hosts: 'auto' });
    expect(r.problems).toEqual([]);
    expect(r.mostInMaintenance).toBeGreaterThan(1);
  });

  it('never lets an instance its project re-instantiates (OWN_ACTION) land on a host of a wave', async () => {
    const yaml = cloud(8, 2, 2).replace('{id: proj-b, auto_reply: ack, action: LIVE_MIGRATE}', '{id: proj-b, auto_reply: ack, action: OWN_ACTION}');
    const r = await run(yaml, { max_parallel_hosts: 4 });
    expect(r.problems).toEqual([]);
    expect(r.mostInMaintenance).toBe(4);
  });

  it('keeps at most --max-migrations moves under way at once', async () => {
    const r = await run(cloud(6, 4, 2), { max_parallel_hosts: 'auto', max_migrations: 3 });
    expect(r.problems).toEqual([]);
    let running = 0;
    let most = 0;
    for (const e of r.h.store.events(null)) {
      if (e.eventType === 'sim.move.started') running++;
      if (e.eventType === 'sim.instance.moved' || e.eventType === 'sim.move.failed') running--;
      most = Math.max(most, running);
    }
    expect(most).toBe(3);
  });

  it('fails naming the host when a host of a wave does not come back, and continues once fixed', async () => {
    const yaml = cloud(4, 2, 2).replace('timing:', 'faults: [{host_fails: compute-4}]\ntiming:');
    const h = harness(yaml);
    const expected = expectationsOf(h.cloud);
    const failed = await runSession(h, { max_parallel_hosts: 2 });
    expect(failed.session.state).toBe('MAINTENANCE_FAILED');
    expect(failed.session.failure).toMatch(/^maintenance of compute-4 failed/);
    expect(h.store.hosts(failed.session.id).find((x) => x.name === 'compute-4')).toMatchObject({ state: 'FAILED', cause: expect.stringMatching(/compute-4/) });
    h.cloud.setFaults([]);
    await h.engine.continueSession(failed.session.id);
    const done = await h.engine.waitForEnd(failed.session.id);
    expect(brokenInvariants(h.store, h.cloud, done.id, expected)).toEqual([]);
  });
});
