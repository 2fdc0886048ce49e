// Releases, updates and rollbacks (issue 13, seed 003) on the sim cloud with the virtual clock: a
// shell plug-in upgrades each host and fails where the test says; the cluster's status, each
// host's release, the event log and the notifications are read from the store.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidInputError, NotFoundError, RefusedError } from '../src/domain/errors.js';
import { exitCodeFor } from '../src/cli/exit-codes.js';
import { addRelease, createCluster, removeRelease, showCluster, notificationDocuments } from '../src/engine/release-view.js';
import { findCluster, findOperation, listNotifications } from '../src/store/releases.js';
import { SqliteRepository } from '../src/store/sqlite-repository.js';
import { harness, sessionStates, type Harness } from './helpers.js';
import { pluginBench, type PluginBench } from './support/plugins.js';

const HOSTS = ['compute-0', 'compute-1', 'compute-2', 'compute-3', 'compute-4'];
const CLOUD = `
hosts:
${HOSTS.map((h) => `  - {name: ${h}, vcpus: 4}`).join('\n')}
instances:
  - {name: web-0, project: shop, host: compute-4, vcpus: 1}
projects:
  - {id: shop, auto_reply: ack, action: LIVE_MIGRATE}
timing: {migrate_s: 0, live_migrate_s: 0, host_maintenance_s: 60}
`;

/** The upgrade plug-in: logs what it does; fails on the host named in $OUT/fail-<to version> if any. */
const UPGRADE = `log "$MAINTCTL_HOST $MAINTCTL_RELEASE_FROM->$MAINTCTL_RELEASE_TO $MAINTCTL_REPO_SOURCE"
if [ -e "$OUT/fail-$MAINTCTL_RELEASE_TO" ] && [ "$(cat "$OUT/fail-$MAINTCTL_RELEASE_TO")" = "$MAINTCTL_HOST" ]; then
  echo "package conflict on $MAINTCTL_HOST" >&2; exit 4
fi`;

describe('releases, updates and rollbacks', () => {
  let bench: PluginBench;
  let h: Harness;
  const repo = () => new SqliteRepository(h.store);
  afterEach(async () => {
    await h.engine.stop();
    h.store.close();
    bench.remove();
  });

  /** Three releases (1.0 -> 2.0 -> 3.0) and a cluster of the five hosts on 1.0. */
  async function setUp(failOn: Record<string, string> = {}) {
    bench = pluginBench();
    bench.write('upgrade', UPGRADE);
    for (const [to, host] of Object.entries(failOn)) writeFileSync(join(bench.out, `fail-${to}`), host);
    h = harness(CLOUD, { plugins: bench.registry });
    const now = h.clock.now();
    await addRelease(repo(), { name: 'r1', version: '1.0', can_update_from: ['0.9'] }, now);
    await addRelease(repo(), { name: 'r2', version: '2.0', can_update_from: ['1.0'], repo_source: 'http://mirror.example/r2' }, now);
    await addRelease(repo(), { name: 'r3', version: '3.0', can_update_from: ['2.0'] }, now);
    await createCluster(repo(), { name: 'prod', release: 'r1', hosts: HOSTS }, now);
  }

  const update = (release: string, extra: Record<string, unknown> = {}) =>
    h.engine.createSession(
      { hosts: [], cluster: 'prod', release, actions: [{ plugin: 'upgrade', type: 'compute' }], ...extra },
      { kind: 'sim', cloudId: h.cloudId },
    );

  const releases = async () => Object.fromEntries((await showCluster(repo(), 'prod')).hosts.map((x) => [x.host, x.release]));
  const notices = async (sessionId?: string) =>
    (await notificationDocuments(repo(), { cluster: 'prod' }))
      .filter((n) => sessionId === undefined || n.session_id === sessionId)
      .map((n) => `${n.topic}: ${n.message}`);

  it('update every host and the cluster when the session is done; plug-ins get the versions and the repo source', async () => {
    await setUp();
    const session = await update('r2');
    expect((await showCluster(repo(), 'prod'))).toMatchObject({ status: 'update', current_release: 'r1', pending_release: 'r2', session_id: session.id, operation: 'update' });
    expect(session.metadata.release).toMatchObject({ cluster: 'prod', operation: 'update', from: { name: 'r1', version: '1.0' }, to: { name: 'r2', version: '2.0' } });
    const end = await h.engine.waitForEnd(session.id);
    expect(end.state).toBe('MAINTENANCE_DONE');
    expect((await showCluster(repo(), 'prod'))).toMatchObject({ status: 'operational', current_release: 'r2', pending_release: null });
    expect(Object.values((await releases()))).toEqual(['r2', 'r2', 'r2', 'r2', 'r2']);
    expect(bench.log()).toEqual(HOSTS.map((x) => `${x} 1.0->2.0 http://mirror.example/r2`));
    // Projects are told the target release in the notification metadata.
    const planned = h.store.events(session.id).find((e) => e.eventType === 'maintenance.planned')!;
    expect(planned.payload).toMatchObject({ project_id: 'shop', state: 'MAINTENANCE', metadata: { release: { to: { name: 'r2', version: '2.0', repo_source: 'http://mirror.example/r2' } } } });
    expect((await notices(session.id))).toEqual([
      `warning: update of cluster prod from r1 to r2 started on 5 host(s): ${HOSTS.join(', ')}`,
      ...HOSTS.map((x) => `done: host ${x} of cluster prod runs r2 (update from r1)`),
      'done: update of cluster prod to r2 done: it is operational on r2',
    ]);
  });

  it('roll back the two hosts a failed update moved: the cluster ends operational on the old release', async () => {
    await setUp({ '2.0': 'compute-2' });
    const session = await update('r2');
    const failed = await h.engine.waitForEnd(session.id);
    expect(failed.state).toBe('MAINTENANCE_FAILED');
    expect(failed.failure).toMatch(/^plug-in upgrade \(compute\) on compute-2 failed: exit status 4/);
    expect((await showCluster(repo(), 'prod'))).toMatchObject({ status: 'update_error', current_release: 'r1', pending_release: 'r2' });
    expect((await releases())).toEqual({ 'compute-0': 'r2', 'compute-1': 'r2', 'compute-2': 'r1', 'compute-3': 'r1', 'compute-4': 'r1' });

    const { session: rollback, hosts } = await h.engine.rollbackSession(session.id);
    expect(hosts).toEqual(['compute-0', 'compute-1']);
    expect((await showCluster(repo(), 'prod'))).toMatchObject({ status: 'rollback', pending_release: 'r1', session_id: rollback!.id, operation: 'rollback' });
    const end = await h.engine.waitForEnd(rollback!.id);
    expect(end.state).toBe('MAINTENANCE_DONE');
    expect((await showCluster(repo(), 'prod'))).toMatchObject({ status: 'operational', current_release: 'r1', pending_release: null });
    expect(Object.values((await releases()))).toEqual(['r1', 'r1', 'r1', 'r1', 'r1']);
    expect(bench.log()).toEqual([
      'compute-0 1.0->2.0 http://mirror.example/r2',
      'compute-1 1.0->2.0 http://mirror.example/r2',
      'compute-2 1.0->2.0 http://mirror.example/r2',
      'compute-0 2.0->1.0 ',
      'compute-1 2.0->1.0 ',
    ]);
    // The event log: the rollback is an ordinary rolling session over the two hosts.
    expect(sessionStates(h.store.events(rollback!.id)).at(-1)).toBe('MAINTENANCE_DONE');
    expect(h.store.events(rollback!.id).filter((e) => e.eventType === 'maintenance.host').map((e) => `${e.payload.host} ${e.payload.state}`)).toEqual([
      'compute-0 IN_MAINTENANCE',
      'compute-0 MAINTENANCE_COMPLETE',
      'compute-1 IN_MAINTENANCE',
      'compute-1 MAINTENANCE_COMPLETE',
    ]);
    expect(h.store.events(null).filter((e) => e.eventType === 'maintctl.notification')).toHaveLength((await notices()).length);
    expect((await notices())).toEqual([
      `warning: update of cluster prod from r1 to r2 started on 5 host(s): ${HOSTS.join(', ')}`,
      'done: host compute-0 of cluster prod runs r2 (update from r1)',
      'done: host compute-1 of cluster prod runs r2 (update from r1)',
      `error: update of cluster prod to r2 failed: ${failed.failure}; roll it back with session rollback ${session.id}`,
      'warning: rollback of cluster prod from r2 to r1 started on 2 host(s): compute-0, compute-1',
      'done: host compute-0 of cluster prod runs r1 (rollback from r2)',
      'done: host compute-1 of cluster prod runs r1 (rollback from r2)',
      'done: rollback of cluster prod to r1 done: it is operational on r1',
    ]);
    // Rolled back once: never twice, and the update cannot be continued any more.
    await expect(h.engine.rollbackSession(session.id)).rejects.toThrow(`session ${session.id} was rolled back already, by session ${rollback!.id}`);
    await expect(h.engine.continueSession(session.id)).rejects.toThrow(RefusedError);
  });

  it('end rollback_error when the rollback fails too', async () => {
    await setUp({ '2.0': 'compute-2', '1.0': 'compute-1' });
    const session = await update('r2');
    await h.engine.waitForEnd(session.id);
    const { session: rollback } = await h.engine.rollbackSession(session.id);
    const end = await h.engine.waitForEnd(rollback!.id);
    expect(end.state).toBe('MAINTENANCE_FAILED');
    expect((await showCluster(repo(), 'prod'))).toMatchObject({ status: 'rollback_error', current_release: 'r1', pending_release: 'r1' });
    expect((await releases())).toEqual({ 'compute-0': 'r1', 'compute-1': 'r2', 'compute-2': 'r1', 'compute-3': 'r1', 'compute-4': 'r1' });
    expect((await notices(rollback!.id)).at(-1)).toBe(`error: rollback of cluster prod to r1 failed: ${end.failure}; continue it with session update`);
    // A new update is refused until the rollback is brought to its end.
    await expect(update('r2')).rejects.toThrow(`cluster prod is rollback_error: roll back session ${rollback!.id} (session rollback) or continue it (session update) first`);
  });

  it('roll back by itself with auto_rollback', async () => {
    await setUp({ '2.0': 'compute-2' });
    const session = await update('r2', { auto_rollback: true });
    expect((await h.engine.waitForEnd(session.id)).state).toBe('MAINTENANCE_FAILED');
    await h.engine.whenIdle(); // the rollback started once the update had failed, and ran
    const rollbackId = findOperation(h.store, session.id)?.rollbackSession;
    expect(rollbackId).toBeTruthy();
    expect((await h.engine.waitForEnd(rollbackId!)).state).toBe('MAINTENANCE_DONE');
    expect((await showCluster(repo(), 'prod'))).toMatchObject({ status: 'operational', current_release: 'r1' });
    expect(Object.values((await releases()))).toEqual(['r1', 'r1', 'r1', 'r1', 'r1']);
    expect(h.store.hosts(rollbackId!).map((x) => x.name)).toEqual(['compute-0', 'compute-1']);
  });

  it('settle the cluster at once when the update failed before any host moved', async () => {
    await setUp({ '2.0': 'compute-0' });
    const session = await update('r2');
    await h.engine.waitForEnd(session.id);
    expect((await releases())).toEqual(Object.fromEntries(HOSTS.map((x) => [x, 'r1'])));
    expect(await h.engine.rollbackSession(session.id)).toEqual({ session: null, hosts: [] });
    expect((await showCluster(repo(), 'prod'))).toMatchObject({ status: 'operational', current_release: 'r1', pending_release: null });
    expect((await notices()).at(-1)).toBe('done: no host of cluster prod had moved to r2: it is operational on r1');
    expect(h.store.listSessions()).toHaveLength(1);
  });

  it('roll back a done update over every host', async () => {
    await setUp();
    const session = await update('r2');
    await h.engine.waitForEnd(session.id);
    // Its old release, no longer used, may be deleted: the rollback then asks for it back.
    await removeRelease(repo(), 'r1');
    await expect(h.engine.rollbackSession(session.id)).rejects.toThrow('release r1 was deleted since: add it again (release add) to roll back to it');
    await addRelease(repo(), { name: 'r1', version: '1.0', can_update_from: ['0.9'] }, h.clock.now());
    const { session: rollback, hosts } = await h.engine.rollbackSession(session.id);
    expect(hosts).toEqual(HOSTS);
    await h.engine.waitForEnd(rollback!.id);
    expect((await showCluster(repo(), 'prod'))).toMatchObject({ status: 'operational', current_release: 'r1' });
  });
});

describe('release rules', () => {
  let h: Harness;
  const repo = () => new SqliteRepository(h.store);
  afterEach(async () => {
    await h.engine.stop();
    h.store.close();
  });
  /** With a manual clock (`auto: false`) a session created stays as recorded until the test moves time. */
  const setUp = async (options: { auto?: boolean } = {}) => {
    h = harness(CLOUD, options);
    const now = h.clock.now();
    await addRelease(repo(), { name: 'old', version: '0.9' }, now);
    await addRelease(repo(), { name: 'r1', version: '1.0', can_update_from: ['0.9'] }, now);
    await addRelease(repo(), { name: 'r2', version: '2.0', can_update_from: ['1.0'] }, now);
    await addRelease(repo(), { name: 'far', version: '5.0', can_update_from: ['4.0'] }, now);
    await createCluster(repo(), { name: 'prod', release: 'r1', hosts: HOSTS }, now);
  };
  const create = (body: Record<string, unknown>) => h.engine.createSession({ hosts: [], ...body }, { kind: 'sim', cloudId: h.cloudId });
  /** The whole store but the clock-free parts, read at once (the engine runs on between awaits). */
  const snapshot = () => JSON.stringify({ sessions: h.store.listSessions(), cluster: findCluster(h.store, 'prod'), n: listNotifications(h.store), e: h.store.events(null) });

  async function refused(body: Record<string, unknown>, kind: typeof InvalidInputError, message: string, exit: number) {
    const before = snapshot();
    const err = await create(body).catch((e: Error) => e);
    expect(err).toBeInstanceOf(kind);
    expect((err as Error).message).toBe(message);
    expect(exitCodeFor(err)).toBe(exit);
    expect(snapshot()).toBe(before);
  }

  it('allow an update (current version in the target list) and a downgrade (target version in the current list)', async () => {
    await setUp();
    const up = await create({ cluster: 'prod', release: 'r2' });
    expect(findOperation(h.store, up.id)?.kind).toBe('update');
    await h.engine.deleteSession(up.id);
    h.store.close();
    await h.engine.stop();
    await setUp();
    const down = await create({ cluster: 'prod', release: 'old' });
    expect(findOperation(h.store, down.id)?.kind).toBe('downgrade');
    expect((await showCluster(repo(), 'prod')).status).toBe('downgrade');
  });

  it('refuse the same release, one not in either list, an unknown release or cluster, with exit codes and the store unchanged', async () => {
    await setUp();
    const allowed = 'updates: r2 (2.0); downgrades: old (0.9)';
    await refused({ cluster: 'prod', release: 'r1' }, InvalidInputError, `cluster prod already runs r1 (1.0): ${allowed}`, 2);
    await refused({ cluster: 'prod', release: 'far' }, InvalidInputError, `far (5.0) is neither an update nor a downgrade of cluster prod's r1 (1.0): ${allowed}`, 2);
    await refused({ cluster: 'prod', release: 'nope' }, NotFoundError, 'no release nope: release list shows those there are', 5);
    await refused({ cluster: 'qa', release: 'r2' }, NotFoundError, 'no cluster qa: cluster list shows those there are', 5);
    await refused({ cluster: 'prod', release: 'r2', hosts: ['compute-9'] }, InvalidInputError, `host compute-9 is not in cluster prod: it has ${HOSTS.join(', ')}`, 2);
    await refused({ release: 'r2' }, InvalidInputError, 'invalid session request: release needs cluster: name the cluster to update', 2);
    await refused({ cluster: 'prod', auto_rollback: true }, InvalidInputError, 'invalid session request: auto_rollback needs release: only an update or downgrade is rolled back', 2);
  });

  it('refuse deleting a release a cluster uses, and a second operation while one runs', async () => {
    await setUp({ auto: false });
    await expect(removeRelease(repo(), 'r1')).rejects.toThrow('release r1 is in use by cluster prod: it can be deleted once no cluster runs it');
    expect(exitCodeFor(new RefusedError(''))).toBe(6);
    const s = await create({ cluster: 'prod', release: 'r2' });
    // The session goes as far as it can without time moving; then only the refusal could change the store.
    await h.clock.advance(0);
    await refused({ cluster: 'prod', release: 'r2' }, RefusedError, `cluster prod is update: wait for session ${s.id} to end first`, 6);
    await expect(removeRelease(repo(), 'r2')).rejects.toThrow(RefusedError);
    expect((await removeRelease(repo(), 'far')).name).toBe('far');
    // A release made for another maintctl is refused (exit 6), the store unchanged.
    await addRelease(repo(), { name: 'future', version: '1.1', can_update_from: ['1.0'], compatible_with: '>=99' }, h.clock.now());
    // Deleting the update settles the cluster on its current release, saying so.
    await h.engine.deleteSession(s.id);
    expect((await showCluster(repo(), 'prod'))).toMatchObject({ status: 'operational', current_release: 'r1', pending_release: null });
    expect((await notificationDocuments(repo(), {})).at(-1)).toMatchObject({ topic: 'warning', message: `session ${s.id} (update of cluster prod to r2) was deleted: the cluster is operational on r1` });
    const before = JSON.stringify({ sessions: h.store.listSessions(), cluster: findCluster(h.store, 'prod') });
    await expect(create({ cluster: 'prod', release: 'future' })).rejects.toThrow(/^release future works with maintctl >=99; this is maintctl \d/);
    expect(JSON.stringify({ sessions: h.store.listSessions(), cluster: findCluster(h.store, 'prod') })).toBe(before);
    await expect(removeRelease(repo(), 'far')).rejects.toThrow(NotFoundError);
  });
});
