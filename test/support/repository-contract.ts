// What every Repository implementation must do, as one suite: call repositoryContract with a
// function that opens a fresh, empty repository for each test.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NotFoundError, RefusedError } from '../../src/domain/errors.js';
import { DEFAULT_OPTIONS, type Host, type Instance, type Operation, type Project, type Session } from '../../src/domain/model.js';
import * as rows from './model-rows.js';
import { HostsClaimedError, LeaseLostError, type Fence, type Repository, type Write } from '../../src/store/repository.js';
import type { GroupConstraint, InstanceConstraint } from '../../src/domain/constraints.js';
import type { Cluster, ClusterOperation, Release } from '../../src/domain/releases.js';

export interface OpenedRepository {
  repo: Repository;
  close: () => Promise<void>;
  /** Another connection to the same data, as another process would open it (only where that exists). */
  connectAgain?: () => Promise<Repository>;
}

export interface ContractOptions {
  /** The repository can be opened twice on the same data (open returns connectAgain). */
  sharedData?: boolean;
  /** Releases and clusters are kept (not by a rehearsal's repository, which refuses to write them). */
  clusters?: boolean;
}

export const T0 = Date.UTC(2026, 0, 1);
const INFRA = 'openstack:https://keystone.example:5000/v3';
const TTL = 60_000;

// ---- rows: the shared factories (model-rows.ts) with values a store must carry back unchanged

export function session(id: string, patch: Partial<Session> = {}): Session {
  return rows.session({
    id,
    maintenanceAt: T0 + 3_600_000,
    metadata: { openstack_release: 'Queens' },
    options: { ...DEFAULT_OPTIONS },
    driver: { kind: 'sim', cloudId: 'cloud-1' },
    download: ['https://my.sw.upgrades.com/SW1.tar.gz'],
    actions: [
      { plugin: 'prepare', type: 'pre', metadata: {} },
      { plugin: 'os_upgrade', type: 'host', metadata: { upgrade: 'SW1' } },
    ],
    createdAt: T0,
    updatedAt: T0,
    stateEnteredAt: T0,
    visit: 0,
    attempt: 0,
    discovered: false,
    syncedAt: 0,
    ...patch,
  });
}

export const host = (name: string, patch: Partial<Host> = {}): Host =>
  rows.host(name, { vcpus: 16, vcpusUsed: 4, memoryMb: 65536, memoryMbUsed: 8192, since: T0, ...patch });

export const project = (projectId: string, patch: Partial<Project> = {}): Project => rows.project(projectId, patch);

export const instance = (instanceId: string, patch: Partial<Instance> = {}): Instance =>
  rows.instance(instanceId, 'c1', { memoryMb: 2048, ...patch });

export const operation = (sessionId: string, key: string, patch: Partial<Operation> = {}): Operation =>
  rows.operation(key, { id: 0, sessionId, kind: 'migrate', target: key.split(':').at(-1)!, attempt: 0, createdAt: T0, updatedAt: T0, ...patch });

const byName = (hosts: Host[]) => [...hosts].sort((a, b) => a.name.localeCompare(b.name));
const nothing: Write = { changes: {}, events: [] };

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to be rejected');
}

export function repositoryContract(
  name: string,
  open: () => Promise<OpenedRepository>,
  options: ContractOptions = {},
): void {
  describe(name, () => {
    let opened: OpenedRepository;
    let repo: Repository;

    beforeEach(async () => {
      opened = await open();
      repo = opened.repo;
    });

    afterEach(async () => {
      await opened.close();
    });

    /** A session with hosts c1, c2 on INFRA and a lease held by "engine-a". */
    async function running(id = 's-1', patch: Partial<Session> = {}): Promise<{ s: Session; fence: Fence }> {
      const s = session(id, patch);
      await repo.createSession(s, [host('c1'), host('c2')], INFRA, [], T0);
      const epoch = await repo.acquireLease(id, 'engine-a', T0, TTL);
      expect(epoch).not.toBeNull();
      return { s, fence: { owner: 'engine-a', epoch: epoch! } };
    }

    describe('sessions', () => {
      it('reads back a created session, its hosts and the events written with it', async () => {
        const s = session('s-1', { data: { waves: 2 } });
        const hosts = [host('c2'), host('c1', { disabledBefore: true, memoryMb: null, memoryMbUsed: null })];
        const events = await repo.createSession(
          s,
          hosts,
          INFRA,
          [
            { eventType: 'maintenance.session', payload: { state: 'MAINTENANCE' } },
            { eventType: 'maintenance.host', payload: { host: 'c1' } },
          ],
          T0,
        );

        expect(events.map((e) => e.eventType)).toEqual(['maintenance.session', 'maintenance.host']);
        expect(events[0]!.id).toBeLessThan(events[1]!.id);
        expect(events.every((e) => e.sessionId === 's-1' && e.time === T0)).toBe(true);
        expect(events[1]!.payload).toEqual({ host: 'c1' });

        expect(await repo.findSession('s-1')).toEqual(s);
        const rows = await repo.loadSession('s-1');
        expect(rows).not.toBeNull();
        expect(rows!.session).toEqual(s);
        expect(byName(rows!.hosts)).toEqual(byName(hosts));
        expect(rows!.projects).toEqual([]);
        expect(rows!.instances).toEqual([]);
        expect(rows!.operations).toEqual([]);
        expect((await repo.events('s-1')).map((e) => e.id)).toEqual(events.map((e) => e.id));
      });

      it('finds nothing for an unknown session', async () => {
        expect(await repo.findSession('nope')).toBeNull();
        expect(await repo.loadSession('nope')).toBeNull();
      });

      it('refuses hosts another active session holds on the same infrastructure, naming the session and the host', async () => {
        await repo.createSession(session('s-1'), [host('c1'), host('c2')], INFRA, [], T0);
        const error = await rejection(
          repo.createSession(session('s-2'), [host('c2'), host('c3')], INFRA, [{ eventType: 'maintenance.session', payload: {} }], T0),
        );
        expect(error).toBeInstanceOf(HostsClaimedError);
        expect(error).toBeInstanceOf(RefusedError);
        expect((error as HostsClaimedError).claims).toEqual([{ host: 'c2', sessionId: 's-1' }]);
        expect((error as Error).message).toContain('c2');
        expect((error as Error).message).toContain('s-1');
      });

      it('a refused session writes nothing: no session, no events, no claims on its other hosts', async () => {
        await repo.createSession(session('s-1'), [host('c1')], INFRA, [], T0);
        await rejection(repo.createSession(session('s-2'), [host('c1'), host('c3')], INFRA, [{ eventType: 'maintenance.session', payload: {} }], T0));
        expect(await repo.findSession('s-2')).toBeNull();
        expect(await repo.loadSession('s-2')).toBeNull();
        expect(await repo.events('s-2')).toEqual([]);
        expect(await repo.activeSessionIds()).toEqual(['s-1']);
        // c3 was not left claimed by the refused session.
        await expect(repo.createSession(session('s-3'), [host('c3')], INFRA, [], T0)).resolves.toEqual([]);
      });

      it('accepts the same host names on another infrastructure', async () => {
        await repo.createSession(session('s-1'), [host('c1')], INFRA, [], T0);
        await repo.createSession(session('s-2'), [host('c1')], 'sim:cloud-2', [], T0);
        expect(await repo.findSession('s-2')).not.toBeNull();
      });

      it('a commit that ends the session (MAINTENANCE_DONE) releases its hosts', async () => {
        const { s, fence } = await running();
        await repo.commit('s-1', fence, { changes: { session: { ...s, state: 'MAINTENANCE_DONE' } }, events: [] }, T0 + 1000);
        expect((await repo.findSession('s-1'))!.state).toBe('MAINTENANCE_DONE');
        await repo.createSession(session('s-2'), [host('c1'), host('c2')], INFRA, [], T0 + 2000);
        expect(await repo.findSession('s-2')).not.toBeNull();
      });

      it('a commit that does not end the session keeps its hosts claimed', async () => {
        const { s, fence } = await running();
        await repo.commit('s-1', fence, { changes: { session: { ...s, state: 'SCALE_IN' }, hosts: [host('c1', { state: 'EMPTYING' })] }, events: [] }, T0 + 1000);
        await expect(repo.createSession(session('s-2'), [host('c1')], INFRA, [], T0 + 2000)).rejects.toBeInstanceOf(HostsClaimedError);
      });

      it('releaseClaims gives the hosts back', async () => {
        await repo.createSession(session('s-1'), [host('c1')], INFRA, [], T0);
        await repo.releaseClaims('s-1');
        await repo.createSession(session('s-2'), [host('c1')], INFRA, [], T0);
        expect(await repo.findSession('s-2')).not.toBeNull();
      });

      it('deleteSession removes the session and releases its hosts', async () => {
        await running();
        await repo.deleteSession('s-1', T0);
        expect(await repo.findSession('s-1')).toBeNull();
        expect(await repo.loadSession('s-1')).toBeNull();
        expect(await repo.lease('s-1')).toBeNull();
        await repo.createSession(session('s-2'), [host('c1'), host('c2')], INFRA, [], T0);
        expect(await repo.findSession('s-2')).not.toBeNull();
      });

      it('activeSessionIds lists sessions that are neither done nor failed', async () => {
        await repo.createSession(session('s-run', { createdAt: T0 }), [], INFRA, [], T0);
        await repo.createSession(session('s-done', { state: 'MAINTENANCE_DONE', createdAt: T0 + 1 }), [], INFRA, [], T0);
        await repo.createSession(session('s-failed', { state: 'MAINTENANCE_FAILED', createdAt: T0 + 2 }), [], INFRA, [], T0);
        await repo.createSession(session('s-later', { state: 'PLANNED_MAINTENANCE', createdAt: T0 + 3 }), [], INFRA, [], T0);
        expect(await repo.activeSessionIds()).toEqual(['s-run', 's-later']);
      });
    });

    describe('commit', () => {
      it('writes the rows and events of a batch under the current lease', async () => {
        const { s, fence } = await running();
        await repo.commit(
          's-1',
          fence,
          { changes: { projects: [project('p1')], instances: [instance('gone'), instance('i1')] }, events: [] },
          T0 + 500,
        );

        const move = operation('s-1', 'move:w1:i1');
        const events = await repo.commit(
          's-1',
          fence,
          {
            changes: {
              session: { ...s, state: 'PREPARE_MAINTENANCE', visit: 1, data: { waves: 1 } },
              hosts: [host('c1', { state: 'EMPTYING', wave: 1, since: T0 + 1000 })],
              projects: [project('p1', { state: 'PREPARE_MAINTENANCE', visit: 1, wave: 1 })],
              instances: [instance('i1', { wave: 1, target: 'c2', projectState: 'PREPARE_MAINTENANCE' })],
              removedInstances: ['gone'],
              operations: [move],
            },
            events: [
              { eventType: 'maintenance.session', payload: { state: 'PREPARE_MAINTENANCE' } },
              { eventType: 'maintenance.planned', payload: { project_id: 'p1' } },
            ],
          },
          T0 + 1000,
        );

        expect(events.map((e) => e.eventType)).toEqual(['maintenance.session', 'maintenance.planned']);
        expect(events[0]!.id).toBeLessThan(events[1]!.id);

        const rows = (await repo.loadSession('s-1'))!;
        expect(rows.session).toEqual({ ...s, state: 'PREPARE_MAINTENANCE', visit: 1, data: { waves: 1 } });
        expect(byName(rows.hosts)).toEqual([host('c1', { state: 'EMPTYING', wave: 1, since: T0 + 1000 }), host('c2')]);
        expect(rows.projects).toEqual([project('p1', { state: 'PREPARE_MAINTENANCE', visit: 1, wave: 1 })]);
        expect(rows.instances).toEqual([instance('i1', { wave: 1, target: 'c2', projectState: 'PREPARE_MAINTENANCE' })]);
        expect(rows.operations).toHaveLength(1);
        expect(rows.operations[0]!.id).toBeGreaterThan(0);
        expect(rows.operations[0]).toEqual({ ...operation('s-1', 'move:w1:i1'), id: rows.operations[0]!.id });
        // The written operation learns its id.
        expect(move.id).toBe(rows.operations[0]!.id);
        expect((await repo.events('s-1')).map((e) => e.id)).toEqual(events.map((e) => e.id));
      });

      it('upserts operations by key and attempt: same pair updates the row, another attempt adds one', async () => {
        const { fence } = await running();
        await repo.commit('s-1', fence, { changes: { operations: [operation('s-1', 'move:w1:i1')] }, events: [] }, T0);
        const first = (await repo.loadSession('s-1'))!.operations[0]!;

        const update = operation('s-1', 'move:w1:i1', { status: 'requested', checkAt: T0 + 5000, updatedAt: T0 + 100 });
        await repo.commit('s-1', fence, { changes: { operations: [update] }, events: [] }, T0 + 100);
        let ops = (await repo.loadSession('s-1'))!.operations;
        expect(ops).toHaveLength(1);
        expect(ops[0]!.id).toBe(first.id);
        expect(update.id).toBe(first.id);
        expect(ops[0]!.status).toBe('requested');
        expect(ops[0]!.checkAt).toBe(T0 + 5000);

        await repo.commit('s-1', fence, { changes: { operations: [operation('s-1', 'move:w1:i1', { attempt: 1 })] }, events: [] }, T0 + 200);
        ops = (await repo.loadSession('s-1'))!.operations;
        expect(ops.map((o) => o.attempt).sort()).toEqual([0, 1]);
        expect(new Set(ops.map((o) => o.id)).size).toBe(2);
      });

      it('refuses with LeaseLostError and writes nothing once another engine took the lease over', async () => {
        const { s, fence } = await running();
        const epochB = await repo.acquireLease('s-1', 'engine-b', T0 + TTL + 1, TTL);
        expect(epochB).not.toBeNull();
        expect(epochB!).toBeGreaterThan(fence.epoch);
        const before = await repo.loadSession('s-1');
        const eventsBefore = await repo.events('s-1');

        const error = await rejection(
          repo.commit(
            's-1',
            fence,
            {
              changes: {
                session: { ...s, state: 'MAINTENANCE_DONE' },
                hosts: [host('c1', { state: 'FAILED' })],
                projects: [project('p9')],
                operations: [operation('s-1', 'move:w1:i1')],
                replies: [{ projectId: 'p9', state: 'ACK_MAINTENANCE', instanceActions: {}, receivedAt: T0 }],
              },
              events: [{ eventType: 'maintenance.session', payload: {} }],
            },
            T0 + TTL + 2,
          ),
        );
        expect(error).toBeInstanceOf(LeaseLostError);
        expect(await repo.loadSession('s-1')).toEqual(before);
        expect(await repo.events('s-1')).toEqual(eventsBefore);
        expect(await repo.repliesSince('s-1', 0)).toEqual([]);
        // The session did not end, so its hosts are still claimed.
        await expect(repo.createSession(session('s-2'), [host('c1')], INFRA, [], T0 + TTL + 3)).rejects.toBeInstanceOf(HostsClaimedError);

        // The new owner writes.
        await repo.commit('s-1', { owner: 'engine-b', epoch: epochB! }, { changes: { hosts: [host('c1', { state: 'EMPTYING' })] }, events: [] }, T0 + TTL + 4);
        expect((await repo.loadSession('s-1'))!.hosts.find((h) => h.name === 'c1')!.state).toBe('EMPTYING');
      });

      it('refuses a fence of the right owner but an old epoch', async () => {
        const { fence } = await running();
        await repo.acquireLease('s-1', 'engine-b', T0 + TTL + 1, TTL);
        const again = await repo.acquireLease('s-1', 'engine-a', T0 + 3 * TTL, TTL);
        expect(again).not.toBeNull();
        expect(again).not.toBe(fence.epoch);
        await expect(repo.commit('s-1', fence, nothing, T0 + 3 * TTL)).rejects.toBeInstanceOf(LeaseLostError);
        await expect(repo.commit('s-1', { owner: 'engine-a', epoch: again! }, nothing, T0 + 3 * TTL)).resolves.toEqual([]);
      });

      it('refuses a commit on a session nobody holds the lease of', async () => {
        await repo.createSession(session('s-1'), [host('c1')], INFRA, [], T0);
        await expect(repo.commit('s-1', { owner: 'engine-a', epoch: 1 }, { changes: { hosts: [host('c1', { state: 'FAILED' })] }, events: [] }, T0)).rejects.toBeInstanceOf(LeaseLostError);
        expect((await repo.loadSession('s-1'))!.hosts[0]!.state).toBe('PENDING');
      });
    });

    describe('leases', () => {
      it('a free lease is taken, with an epoch', async () => {
        await repo.createSession(session('s-1'), [], INFRA, [], T0);
        const epoch = await repo.acquireLease('s-1', 'engine-a', T0, TTL);
        expect(typeof epoch).toBe('number');
        const lease = await repo.lease('s-1');
        expect(lease).toMatchObject({ owner: 'engine-a', expiresAt: T0 + TTL, epoch });
        expect(await repo.leaseHeld('s-1', T0 + TTL - 1)).toBe(true);
        expect(await repo.leaseHeld('s-1', T0 + TTL)).toBe(false);
      });

      it('another owner is refused while the lease is valid', async () => {
        await repo.createSession(session('s-1'), [], INFRA, [], T0);
        await repo.acquireLease('s-1', 'engine-a', T0, TTL);
        expect(await repo.acquireLease('s-1', 'engine-b', T0 + TTL - 1, TTL)).toBeNull();
        expect((await repo.lease('s-1'))!.owner).toBe('engine-a');
      });

      it('the owner renews with the same epoch, and the renewal keeps others out longer', async () => {
        await repo.createSession(session('s-1'), [], INFRA, [], T0);
        const epoch = await repo.acquireLease('s-1', 'engine-a', T0, TTL);
        expect(await repo.acquireLease('s-1', 'engine-a', T0 + TTL / 2, TTL)).toBe(epoch);
        // Past the first expiry, but not the renewed one.
        expect(await repo.acquireLease('s-1', 'engine-b', T0 + TTL + 1, TTL)).toBeNull();
        expect((await repo.lease('s-1'))!.expiresAt).toBe(T0 + TTL / 2 + TTL);
      });

      it('after expiry another owner takes over with the next epoch', async () => {
        await repo.createSession(session('s-1'), [], INFRA, [], T0);
        const epoch = await repo.acquireLease('s-1', 'engine-a', T0, TTL);
        expect(await repo.acquireLease('s-1', 'engine-b', T0 + TTL, TTL)).toBe(epoch! + 1);
        expect((await repo.lease('s-1'))!.owner).toBe('engine-b');
        // And the old owner is now the one refused.
        expect(await repo.acquireLease('s-1', 'engine-a', T0 + TTL + 1, TTL)).toBeNull();
      });

      it('heldLeases lists the valid leases of every session with their owners', async () => {
        await repo.createSession(session('s-1'), [], INFRA, [], T0);
        await repo.createSession(session('s-2'), [], INFRA, [], T0);
        await repo.createSession(session('s-3'), [], INFRA, [], T0);
        await repo.acquireLease('s-1', 'engine-a', T0, TTL);
        await repo.acquireLease('s-2', 'engine-b', T0, TTL);
        await repo.acquireLease('s-3', 'engine-a', T0 - TTL, TTL); // expired
        expect((await repo.heldLeases(T0 + 1)).map((l) => [l.sessionId, l.owner])).toEqual([
          ['s-1', 'engine-a'],
          ['s-2', 'engine-b'],
        ]);
        await repo.releaseLease('s-2', 'engine-b');
        expect((await repo.heldLeases(T0 + 1)).map((l) => l.sessionId)).toEqual(['s-1']);
      });

      it('a released lease can be taken by another owner at once', async () => {
        await repo.createSession(session('s-1'), [], INFRA, [], T0);
        await repo.acquireLease('s-1', 'engine-a', T0, TTL);
        await repo.releaseLease('s-1', 'engine-b'); // not the owner: no effect
        expect(await repo.acquireLease('s-1', 'engine-b', T0 + 1, TTL)).toBeNull();
        await repo.releaseLease('s-1', 'engine-a');
        expect(await repo.leaseHeld('s-1', T0 + 2)).toBe(false);
        expect(await repo.acquireLease('s-1', 'engine-b', T0 + 2, TTL)).not.toBeNull();
      });
    });

    describe('updateProject and updateSession', () => {
      async function withProjects(): Promise<Session> {
        const s = session('s-1');
        await repo.createSession(s, [host('c1')], INFRA, [], T0);
        await repo.updateSession(
          's-1',
          () => ({
            changes: {
              projects: [project('p1', { state: 'MAINTENANCE' }), project('p2', { state: 'MAINTENANCE' })],
              instances: [instance('a1'), instance('a2'), instance('b1', { projectId: 'p2' })],
            },
            events: [],
          }),
          T0,
        );
        return s;
      }

      it('updateProject hands decide the session, the project and only its instances, and writes what it returns', async () => {
        const s = await withProjects();
        let seen: unknown;
        const events = await repo.updateProject(
          's-1',
          'p1',
          (rows) => {
            seen = rows;
            return {
              changes: {
                projects: [{ ...rows.project!, replyState: 'ACK_MAINTENANCE', repliedAt: T0 + 10 }],
                instances: [{ ...rows.instances[0]!, action: 'MIGRATE' }],
                replies: [{ projectId: 'p1', state: 'ACK_MAINTENANCE', instanceActions: { a1: 'MIGRATE' }, receivedAt: T0 + 10 }],
              },
              events: [{ eventType: 'maintenance.reply', payload: { project_id: 'p1' } }],
            };
          },
          T0 + 10,
        );
        expect(seen).toEqual({ session: s, project: project('p1', { state: 'MAINTENANCE' }), instances: [instance('a1'), instance('a2')] });
        expect(events.map((e) => e.eventType)).toEqual(['maintenance.reply']);

        const rows = (await repo.loadSession('s-1'))!;
        expect(rows.projects.find((p) => p.projectId === 'p1')).toEqual(
          project('p1', { state: 'MAINTENANCE', replyState: 'ACK_MAINTENANCE', repliedAt: T0 + 10 }),
        );
        expect(rows.instances.find((i) => i.instanceId === 'a1')!.action).toBe('MIGRATE');
        expect(await repo.repliesSince('s-1', 0)).toMatchObject([{ projectId: 'p1', state: 'ACK_MAINTENANCE', instanceActions: { a1: 'MIGRATE' } }]);
        expect((await repo.events('s-1')).map((e) => e.eventType)).toEqual(['maintenance.reply']);
      });

      it('updateProject gives a null project for one the session does not have', async () => {
        await withProjects();
        let seen: unknown;
        await repo.updateProject('s-1', 'p-unknown', (rows) => ((seen = rows), nothing), T0);
        expect(seen).toMatchObject({ project: null, instances: [] });
      });

      it('a decide that throws writes nothing, and its error reaches the caller', async () => {
        await withProjects();
        const before = await repo.loadSession('s-1');
        const refused = new RefusedError('not now');
        await expect(
          repo.updateProject('s-1', 'p1', () => {
            throw refused;
          }, T0 + 10),
        ).rejects.toBe(refused);
        await expect(
          repo.updateSession('s-1', () => {
            throw refused;
          }, T0 + 10),
        ).rejects.toBe(refused);
        expect(await repo.loadSession('s-1')).toEqual(before);
        expect(await repo.events('s-1')).toEqual([]);
        expect(await repo.repliesSince('s-1', 0)).toEqual([]);
      });

      it('updateSession hands decide every row of the session and writes what it returns', async () => {
        const s = await withProjects();
        let seen: unknown;
        await repo.updateSession(
          's-1',
          (rows) => {
            seen = rows;
            return {
              changes: { session: { ...rows.session, state: 'MAINTENANCE_FAILED', failure: 'stuck', failedState: 'MAINTENANCE' } },
              events: [{ eventType: 'maintenance.session', payload: { state: 'MAINTENANCE_FAILED' } }],
            };
          },
          T0 + 20,
        );
        expect(seen).toMatchObject({
          session: s,
          hosts: [host('c1')],
          projects: [project('p1', { state: 'MAINTENANCE' }), project('p2', { state: 'MAINTENANCE' })],
        });
        expect((seen as { instances: Instance[] }).instances.map((i) => i.instanceId).sort()).toEqual(['a1', 'a2', 'b1']);
        expect(await repo.findSession('s-1')).toEqual({ ...s, state: 'MAINTENANCE_FAILED', failure: 'stuck', failedState: 'MAINTENANCE' });
        expect((await repo.events('s-1')).map((e) => e.payload)).toEqual([{ state: 'MAINTENANCE_FAILED' }]);
      });

      it('updateProject and updateSession refuse an unknown session', async () => {
        await expect(repo.updateSession('nope', () => nothing, T0)).rejects.toBeInstanceOf(NotFoundError);
        await expect(repo.updateProject('nope', 'p1', () => nothing, T0)).rejects.toBeInstanceOf(NotFoundError);
      });
    });

    describe('replies', () => {
      it('repliesSince returns the replies written after an id, oldest first, of that session only', async () => {
        const { fence } = await running();
        await repo.createSession(session('s-other'), [], INFRA, [], T0);
        const reply = (projectId: string, state: string, receivedAt: number) => ({ projectId, state, instanceActions: {}, receivedAt });

        await repo.commit('s-1', fence, { changes: { replies: [reply('p1', 'ACK_MAINTENANCE', T0 + 1)] }, events: [] }, T0 + 1);
        await repo.updateSession('s-other', () => ({ changes: { replies: [reply('px', 'NACK_MAINTENANCE', T0 + 2)] }, events: [] }), T0 + 2);
        await repo.updateProject('s-1', 'p2', () => ({ changes: { replies: [reply('p2', 'ACK_MAINTENANCE', T0 + 3)] }, events: [] }), T0 + 3);
        await repo.updateSession(
          's-1',
          () => ({ changes: { replies: [{ projectId: 'p3', state: 'ACK_SCALE_IN', instanceActions: { i9: 'OWN_ACTION' }, receivedAt: T0 + 4 }] }, events: [] }),
          T0 + 4,
        );

        const all = await repo.repliesSince('s-1', 0);
        expect(all.map((r) => [r.projectId, r.state, r.receivedAt])).toEqual([
          ['p1', 'ACK_MAINTENANCE', T0 + 1],
          ['p2', 'ACK_MAINTENANCE', T0 + 3],
          ['p3', 'ACK_SCALE_IN', T0 + 4],
        ]);
        expect(all[2]!.instanceActions).toEqual({ i9: 'OWN_ACTION' });
        expect(all[0]!.id).toBeLessThan(all[1]!.id);
        expect(all[1]!.id).toBeLessThan(all[2]!.id);
        expect((await repo.repliesSince('s-1', all[0]!.id)).map((r) => r.projectId)).toEqual(['p2', 'p3']);
        expect(await repo.repliesSince('s-1', all[2]!.id)).toEqual([]);
        expect(await repo.latestReplyId('s-1')).toBe(all[2]!.id);
      });
    });

    describe('plug-in runs', () => {
      it('records a run as it goes and lists runs by host, plug-in and step, oldest first', async () => {
        await running('s-1');
        const base = { sessionId: 's-1', attempt: 0, type: 'compute', startedAt: T0 };
        const a = await repo.startPluginRun({ ...base, key: 'host:c1:1', host: 'c1', plugin: 'os_upgrade' });
        const b = await repo.startPluginRun({ ...base, key: 'host:c2:1', host: 'c2', plugin: 'os_upgrade' });
        const c = await repo.startPluginRun({ ...base, key: 'pre:0', host: null, plugin: 'prepare', type: 'pre' });
        await repo.updatePluginRun(a, { output: 'half', outputChars: 4 });
        expect((await repo.pluginRuns('s-1', { host: 'c1' }))[0]).toMatchObject({ status: 'running', output: 'half', outputChars: 4, exitStatus: null, endedAt: null });
        await repo.updatePluginRun(a, { status: 'failed', exitStatus: 3, cause: 'exit status 3', output: 'half done', outputChars: 9, endedAt: T0 + 5 });
        expect(await repo.pluginRuns('s-1', { host: 'c1' })).toEqual([
          { id: a, sessionId: 's-1', key: 'host:c1:1', attempt: 0, host: 'c1', plugin: 'os_upgrade', type: 'compute', status: 'failed', exitStatus: 3, cause: 'exit status 3', output: 'half done', outputChars: 9, startedAt: T0, endedAt: T0 + 5 },
        ]);
        expect((await repo.pluginRuns('s-1', { plugin: 'os_upgrade' })).map((r) => r.id)).toEqual([a, b]);
        expect((await repo.pluginRuns('s-1', { key: 'pre:0' })).map((r) => r.host)).toEqual([null]);
        expect((await repo.pluginRuns('s-1', { afterId: a })).map((r) => r.id)).toEqual([b, c]);
        expect(await repo.pluginRuns('s-other')).toEqual([]);
      });

      it('forgets the runs of a deleted session', async () => {
        await running('s-1');
        await repo.startPluginRun({ sessionId: 's-1', key: 'pre:0', attempt: 0, host: null, plugin: 'prepare', type: 'pre', startedAt: T0 });
        await repo.deleteSession('s-1', T0);
        expect(await repo.pluginRuns('s-1')).toEqual([]);
      });
    });

    describe('loadSession operations', () => {
      it('includes open operations, session-wide steps of every attempt and the steps of hosts in maintenance, not finished moves', async () => {
        const { fence } = await running('s-1', { attempt: 1 });
        const op = (key: string, attempt: number, status: Operation['status'], kind: Operation['kind'] = 'migrate') =>
          operation('s-1', key, { attempt, status, kind, target: key.startsWith('host:') ? key.split(':')[1]! : 'x' });
        await repo.commit(
          's-1',
          fence,
          {
            changes: {
              hosts: [host('c1', { state: 'IN_MAINTENANCE' }), host('c2', { state: 'MAINTAINED' })],
              operations: [
                op('move:w1:done', 1, 'done'),
                op('move:w1:failed', 1, 'failed'),
                op('move:w1:started', 1, 'started'),
                op('move:w0:requested', 0, 'requested', 'live_migrate'),
                op('download', 0, 'done', 'download'),
                op('pre:prepare', 1, 'failed', 'plugin'),
                op('post:report', 1, 'failed', 'plugin'),
                op('host:c1:0', 1, 'done', 'host_maintenance'),
                op('host:c1:1', 0, 'done', 'plugin'),
                op('host:c2:0', 0, 'done', 'host_maintenance'),
                op('pre:prepare', 0, 'done', 'plugin'),
              ],
            },
            events: [],
          },
          T0,
        );
        const ops = (await repo.loadSession('s-1'))!.operations;
        // A continued session must see what finished in an earlier attempt, so that it never runs again.
        expect(ops.map((o) => `${o.key}@${o.attempt}`).sort()).toEqual(
          ['download@0', 'host:c1:0@1', 'host:c1:1@0', 'move:w0:requested@0', 'move:w1:started@1', 'post:report@1', 'pre:prepare@0', 'pre:prepare@1'].sort(),
        );
      });
    });

    describe('views and subscriptions', () => {
      it('resolves a full id or an unambiguous prefix, in any case, and says what an ambiguous one matches', async () => {
        await repo.createSession(session('abc-1'), [], INFRA, [], T0);
        await repo.createSession(session('abd-2'), [], INFRA, [], T0);
        expect(await repo.resolveSessionId('ABC')).toBe('abc-1');
        expect(await repo.resolveSessionId('abd-2')).toBe('abd-2');
        await expect(repo.resolveSessionId('ab')).rejects.toThrow(/ambiguous: it matches abc-1, abd-2/);
        await expect(repo.resolveSessionId('zz')).rejects.toBeInstanceOf(NotFoundError);
        // % is a character, not a pattern.
        await expect(repo.resolveSessionId('a%')).rejects.toBeInstanceOf(NotFoundError);
      });

      it('counts each session\'s hosts and maintained hosts, oldest first', async () => {
        const { fence } = await running('s-1');
        await repo.createSession(session('s-2', { createdAt: T0 + 1 }), [host('c9')], INFRA, [], T0);
        await repo.commit('s-1', fence, { changes: { hosts: [host('c1', { state: 'MAINTAINED' })] }, events: [] }, T0 + 1);
        expect((await repo.sessionCounts()).map((c) => [c.id, c.hostsTotal, c.hostsMaintained])).toEqual([
          ['s-1', 2, 1],
          ['s-2', 1, 0],
        ]);
      });

      it('subscribing twice keeps one subscription; a webhook gets each event of its project once, queued with the event', async () => {
        await running('s-1');
        const sub = { projectId: 'p1', eventType: 'maintenance.planned', url: 'http://hook.example/a', format: 'fenix' as const, sessionId: null };
        const first = await repo.subscribe(sub, T0);
        expect((await repo.subscribe({ ...sub, eventType: 'maintenance.scheduled' }, T0)).id).not.toBe(first.id);
        expect((await repo.subscribe(sub, T0 + 1)).id).toBe(first.id);
        expect((await repo.listSubscriptions('p1')).map((s) => s.eventType)).toEqual(['maintenance.planned', 'maintenance.scheduled']);
        expect(await repo.isSubscribed('p1', 's-1')).toBe(true);
        expect(await repo.isSubscribed('p2', 's-1')).toBe(false);

        const [asked] = await repo.record('s-1', { changes: {}, events: [{ eventType: 'maintenance.planned', payload: { project_id: 'p1' } }] }, T0 + 5);
        await repo.record('s-1', { changes: {}, events: [{ eventType: 'maintenance.planned', payload: { project_id: 'p2' } }] }, T0 + 6);
        const deliveries = await repo.sessionDeliveries('s-1');
        expect(deliveries).toHaveLength(1);
        expect(deliveries[0]).toMatchObject({ eventId: asked!.id, url: 'http://hook.example/a', status: 'pending', nextAttemptAt: T0 + 5 });
        expect(await repo.nextDeliveryAt()).toBe(T0 + 5);
        expect((await repo.event(asked!.id))!.payload).toEqual({ project_id: 'p1' });
        expect(await repo.latestEventId()).toBeGreaterThan(asked!.id);

        expect(await repo.unsubscribe('p1', { eventType: 'maintenance.scheduled' })).toBe(1);
        expect(await repo.unsubscribe('p1', {})).toBe(1);
        expect(await repo.listSubscriptions()).toEqual([]);
        // Its pending delivery is cancelled with it.
        expect((await repo.sessionDeliveries('s-1'))[0]!.status).toBe('cancelled');
        expect(await repo.nextDeliveryAt()).toBeNull();
      });

      it('a subscription keeps the webhook host it was allowed to reach, and subscribing again updates it', async () => {
        const sub = { projectId: 'p1', eventType: 'maintenance.planned', url: 'http://169.254.169.254/hook', format: 'fenix' as const, sessionId: null };
        const first = await repo.subscribe({ ...sub, allowedHost: '169.254.169.254' }, T0);
        expect(first.allowedHost).toBe('169.254.169.254');
        expect((await repo.findSubscription(first.id))!.allowedHost).toBe('169.254.169.254');
        expect((await repo.subscribe(sub, T0 + 1)).allowedHost).toBeNull();
        expect((await repo.listSubscriptions('p1')).map((s) => [s.id, s.allowedHost])).toEqual([[first.id, null]]);
      });

      it('pluginRunTails gives the end of long output', async () => {
        await running('s-1');
        const id = await repo.startPluginRun({ sessionId: 's-1', key: 'pre:0', attempt: 0, host: null, plugin: 'prepare', type: 'pre', startedAt: T0 });
        const output = `${'x'.repeat(10_000)}THE END`;
        await repo.updatePluginRun(id, { output, outputChars: output.length });
        const [tail] = await repo.pluginRunTails('s-1');
        expect(tail!.output.endsWith('THE END')).toBe(true);
        expect(tail!.output.length).toBeLessThan(output.length);
        expect(tail!.outputChars).toBe(output.length);
      });
    });

    if (options.clusters === false) {
      it('keeps no release or cluster: reads find none, writes are refused', async () => {
        expect(await repo.releases()).toEqual([]);
        expect(await repo.cluster('prod')).toBeNull();
        const r1: Release = { name: 'r1', version: '1.0', canUpdateFrom: [], compatibleWith: null, repoSource: null, metadata: {}, createdAt: T0 };
        expect(await rejection(repo.addRelease(r1))).toBeInstanceOf(RefusedError);
        const update: ClusterOperation = { sessionId: 's-1', cluster: 'prod', kind: 'update', from: 'r0', to: 'r1', rollbackOf: null, rollbackSession: null, autoRollback: false, createdAt: T0 };
        expect(await rejection(repo.createSession(session('s-1'), [host('c1')], INFRA, [], T0, update))).toBeInstanceOf(RefusedError);
        expect(await repo.findSession('s-1')).toBeNull();
      });
    } else describe('releases, clusters and notifications', () => {
      const release = (name: string, version: string, patch: Partial<Release> = {}): Release => ({
        name, version, canUpdateFrom: [], compatibleWith: null, repoSource: null, metadata: {}, createdAt: T0, ...patch,
      });
      const cluster = (name: string, hosts: string[], patch: Partial<Cluster> = {}): Cluster => ({
        name, cloud: null, currentRelease: 'r1', pendingRelease: null, status: 'operational', sessionId: null,
        hosts: hosts.map((h) => ({ host: h, release: 'r1' })), createdAt: T0, updatedAt: T0, ...patch,
      });
      const update = (sessionId: string): ClusterOperation => ({
        sessionId, cluster: 'prod', kind: 'update', from: 'r1', to: 'r2', rollbackOf: null, rollbackSession: null, autoRollback: true, createdAt: T0,
      });
      async function withCluster(): Promise<void> {
        await repo.addRelease(release('r1', '1.0', { metadata: { os: 'queens' } }));
        await repo.addRelease(release('r2', '2.0', { canUpdateFrom: ['1.0'], repoSource: 'http://mirror.example/r2', createdAt: T0 + 1 }));
        await repo.createCluster(cluster('prod', ['c1', 'c2'], { cloud: 'openstack:east' }));
      }

      it('reads back releases and clusters as written, oldest first, and refuses a name twice', async () => {
        await withCluster();
        expect(await repo.release('r2')).toEqual(release('r2', '2.0', { canUpdateFrom: ['1.0'], repoSource: 'http://mirror.example/r2', createdAt: T0 + 1 }));
        expect((await repo.releases()).map((r) => r.name)).toEqual(['r1', 'r2']);
        expect(await repo.release('nope')).toBeNull();
        expect(await repo.cluster('prod')).toEqual(cluster('prod', ['c1', 'c2'], { cloud: 'openstack:east' }));
        expect(await repo.cluster('nope')).toBeNull();
        expect(await rejection(repo.addRelease(release('r1', '9.9')))).toBeInstanceOf(RefusedError);
        expect((await repo.release('r1'))!.version).toBe('1.0');
        expect(await rejection(repo.createCluster(cluster('prod', ['c9'])))).toBeInstanceOf(RefusedError);
      });

      it('a cluster needs its release, and a host belongs to one cluster: a refused one writes nothing', async () => {
        await withCluster();
        const noRelease = await rejection(repo.createCluster(cluster('qa', ['c9'], { currentRelease: 'r9' })));
        expect(noRelease).toBeInstanceOf(NotFoundError);
        expect((noRelease as Error).message).toBe('no release r9: release list shows those there are');
        const taken = await rejection(repo.createCluster(cluster('qa', ['c9', 'c2'])));
        expect((taken as Error).message).toBe('hosts already in a cluster: c2 (prod): a host belongs to one cluster');
        expect((await repo.clusters()).map((c) => c.name)).toEqual(['prod']);
        await repo.createCluster(cluster('qa', ['c9'], { createdAt: T0 + 5 }));
        expect((await repo.clusters()).map((c) => c.name)).toEqual(['prod', 'qa']);
      });

      it('a release a cluster runs is not deleted; another is, and returned', async () => {
        await withCluster();
        expect(((await rejection(repo.removeRelease('r1'))) as Error).message).toBe('release r1 is in use by cluster prod: it can be deleted once no cluster runs it');
        expect((await repo.removeRelease('r2')).name).toBe('r2');
        expect(await rejection(repo.removeRelease('r2'))).toBeInstanceOf(NotFoundError);
        expect((await repo.releases()).map((r) => r.name)).toEqual(['r1']);
      });

      it("a session's operation starts with it, its maintained hosts move, and its end makes the release the cluster's, each with a notification", async () => {
        await withCluster();
        const s = session('s-1');
        const started = await repo.createSession(s, [host('c1'), host('c2')], INFRA, [], T0, update('s-1'));
        expect(started.map((e) => e.eventType)).toEqual(['maintctl.notification']);
        expect(await repo.clusterOperation('s-1')).toEqual(update('s-1'));
        expect(await repo.cluster('prod')).toMatchObject({ status: 'update', pendingRelease: 'r2', sessionId: 's-1' });
        const fence = { owner: 'engine-a', epoch: (await repo.acquireLease('s-1', 'engine-a', T0, TTL))! };
        const moved = await repo.commit('s-1', fence, { changes: { hosts: [host('c1', { state: 'MAINTAINED' })] }, events: [] }, T0 + 10);
        expect(moved.map((e) => e.payload.message)).toEqual(['host c1 of cluster prod runs r2 (update from r1)']);
        expect((await repo.cluster('prod'))!.hosts).toEqual([{ host: 'c1', release: 'r2' }, { host: 'c2', release: 'r1' }]);
        await repo.commit('s-1', fence, { changes: { session: { ...s, state: 'MAINTENANCE_FAILED', failure: 'c2 broke' } }, events: [] }, T0 + 20);
        expect(await repo.cluster('prod')).toMatchObject({ status: 'update_error', currentRelease: 'r1', pendingRelease: 'r2' });
        expect(await repo.pendingAutoRollbacks()).toEqual(['s-1']);
        const notices = await repo.notifications({ cluster: 'prod' });
        expect(notices.map((n) => [n.topic, n.host, n.sessionId])).toEqual([
          ['warning', null, 's-1'],
          ['done', 'c1', 's-1'],
          ['error', null, 's-1'],
        ]);
        // Each notification is in the event log too, with its id.
        const logged = (await repo.events('s-1')).filter((e) => e.eventType === 'maintctl.notification').map((e) => e.payload.id);
        expect(logged).toEqual(notices.map((n) => n.id));
        expect((await repo.notifications({ afterId: notices[0]!.id, topic: 'error' })).map((n) => n.message)).toEqual([notices[2]!.message]);
        expect(await repo.notifications({ cluster: 'qa' })).toEqual([]);
      });

      it('a session refused for its hosts starts no operation; deleting one settles its cluster; settleCluster writes with a notification', async () => {
        await withCluster();
        await repo.createSession(session('s-0'), [host('c2')], INFRA, [], T0);
        expect(await rejection(repo.createSession(session('s-1'), [host('c1'), host('c2')], INFRA, [], T0, update('s-1')))).toBeInstanceOf(HostsClaimedError);
        expect(await repo.clusterOperation('s-1')).toBeNull();
        expect(await repo.cluster('prod')).toMatchObject({ status: 'operational', sessionId: null });
        expect(await repo.notifications()).toEqual([]);
        await repo.createSession(session('s-2'), [host('c1')], INFRA, [], T0, update('s-2'));
        const deleted = await repo.deleteSession('s-2', T0 + 30);
        expect(deleted.map((e) => e.payload.topic)).toEqual(['warning']);
        expect(await repo.cluster('prod')).toMatchObject({ status: 'operational', currentRelease: 'r1', pendingRelease: null });
        // The operation is kept (a rollback would name it).
        expect((await repo.clusterOperation('s-2'))!.kind).toBe('update');
        const settled = await repo.settleCluster({ ...(await repo.cluster('prod'))!, currentRelease: 'r2', updatedAt: T0 + 40 }, { topic: 'done', message: 'settled', cluster: 'prod', host: null, sessionId: null }, T0 + 40);
        expect(settled.map((e) => [e.sessionId, e.payload.message])).toEqual([[null, 'settled']]);
        expect(await repo.cluster('prod')).toMatchObject({ currentRelease: 'r2', updatedAt: T0 + 40 });
      });
    });

    describe('application constraints', () => {
      const group = (groupId: string, projectId: string, patch: Partial<GroupConstraint> = {}): GroupConstraint => ({
        groupId, projectId, groupName: `${groupId}-name`, antiAffinityGroup: true, maxInstancesPerHost: 1, maxImpactedMembers: 2,
        recoveryTime: 12.5, resourceMitigation: false, ...patch,
      });
      const member = (instanceId: string, projectId: string, patch: Partial<InstanceConstraint> = {}): InstanceConstraint => ({
        instanceId, projectId, groupId: 'g1', instanceName: `${instanceId}-name`, maxInterruptionTime: 0.25, migrationType: 'LIVE_MIGRATE',
        resourceMitigation: true, leadTime: 30, ...patch,
      });

      it('puts, reads back, replaces, lists and deletes groups and instance constraints', async () => {
        await repo.putInstanceGroup(group('g1', 'p1'), T0);
        await repo.putInstanceGroup(group('g2', 'p2', { antiAffinityGroup: false }), T0);
        await repo.putInstanceConstraint(member('i1', 'p1'), T0);
        await repo.putInstanceConstraint(member('i2', 'p2', { groupId: null, maxInterruptionTime: null, migrationType: null }), T0);
        expect(await repo.instanceGroup('g1')).toEqual(group('g1', 'p1'));
        expect(await repo.instanceConstraint('i2')).toEqual(member('i2', 'p2', { groupId: null, maxInterruptionTime: null, migrationType: null }));
        expect(await repo.instanceGroup('nope')).toBeNull();
        expect(await repo.putInstanceGroup(group('g1', 'p1', { maxImpactedMembers: 5 }), T0 + 1)).toEqual(group('g1', 'p1', { maxImpactedMembers: 5 }));
        expect((await repo.instanceGroup('g1'))!.maxImpactedMembers).toBe(5);
        expect(await repo.listConstraints('p1')).toEqual({ groups: [group('g1', 'p1', { maxImpactedMembers: 5 })], instances: [member('i1', 'p1')] });
        expect((await repo.listConstraints()).groups.map((g) => g.groupId)).toEqual(['g1', 'g2']);
        expect((await repo.constraintsOf(['p2', 'p3'])).instances.map((i) => i.instanceId)).toEqual(['i2']);
        expect(await repo.deleteInstanceGroup('g1')).toBe(true);
        expect(await repo.deleteInstanceGroup('g1')).toBe(false);
        // Its member's constraints stay.
        expect((await repo.instanceConstraint('i1'))!.groupId).toBe('g1');
        expect(await repo.deleteInstanceConstraint('i1')).toBe(true);
        expect(await repo.listConstraints('p1')).toEqual({ groups: [], instances: [] });
      });
    });

    if (options.sharedData) {
      describe('other connections', () => {
        it('changeToken changes once another connection has written', async () => {
          expect(opened.connectAgain).toBeDefined();
          const other = await opened.connectAgain!();
          const before = await repo.changeToken();
          expect(await repo.changeToken()).toBe(before);
          await other.createSession(session('s-from-elsewhere'), [host('c1')], INFRA, [], T0);
          // A shared database announces writes asynchronously (NOTIFY): the token changes soon after.
          await expect.poll(() => repo.changeToken(), { timeout: 30_000 }).not.toBe(before);
          // And the write is visible here.
          expect(await repo.findSession('s-from-elsewhere')).not.toBeNull();
          expect(await repo.activeSessionIds()).toEqual(['s-from-elsewhere']);
        });

        it('host claims hold across connections', async () => {
          const other = await opened.connectAgain!();
          await other.createSession(session('s-1'), [host('c1')], INFRA, [], T0);
          await expect(repo.createSession(session('s-2'), [host('c1')], INFRA, [], T0)).rejects.toBeInstanceOf(HostsClaimedError);
        });
      });
    }
  });
}
