// maintctl store copy: a state directory's sessions (one finished, one recorded and not run yet),
// with releases, a cluster, constraints, subscriptions and pending webhook deliveries, copied into
// PostgreSQL and from there into a fresh state directory, where session show and session events
// give the same documents as at first. Refused while an engine runs on the source (a state
// directory's engine lock, a replica's lease), and refused by a target holding the sessions.
// Commands run in this process (main() with a buffer IO); the refusal of a running engine's lock
// runs the built CLI, since only another process sees this one's lock as an engine's.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { releaseEngineLock, takeEngineLock } from '../src/client/background.js';
import { Engine } from '../src/engine/engine.js';
import { PgRepository } from '../src/store/pg-repository.js';
import { SqliteRepository } from '../src/store/sqlite-repository.js';
import { addRelease, createCluster } from '../src/engine/release-view.js';
import { harness, runSession } from './helpers.js';
import { run, tempDir } from './support/cli.js';
import { runInProcess } from './support/cli-world.js';
import { postgresMissing, psql, startPostgres, type Postgres } from './support/postgres.js';

const CLOUD = `
hosts:
  - {name: ctl-0, type: controller}
  - {name: compute-0, vcpus: 4}
  - {name: compute-1, vcpus: 4}
  - {name: compute-2, vcpus: 4}
instances:
  - {name: a-0, project: proj-a, host: compute-0, vcpus: 2}
  - {name: b-0, project: proj-b, host: compute-1, vcpus: 1}
projects:
  - {id: proj-a, auto_reply: ack, action: MIGRATE}
  - {id: proj-b, auto_reply: ack, action: LIVE_MIGRATE}
`;

const copyArgs = (from: string, to: string) => ['store', 'copy', '--from', from, '--to', to, '-o', 'json'];
const copy = (from: string, to: string) => runInProcess(copyArgs(from, to));
const json = async (dir: string, args: string[]) => {
  const r = await runInProcess(['--state-dir', dir, ...args, '-o', 'json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as unknown;
};

describe.skipIf(postgresMissing())('maintctl store copy', () => {
  let pg: Postgres;
  let source: string;
  let finished: string;
  let active: string;

  beforeAll(async () => {
    pg = await startPostgres();
    source = tempDir('maintctl-copy-src-');
    const h = harness(CLOUD, { path: join(source, 'maintctl.db') });
    const repo = new SqliteRepository(h.store);
    await addRelease(repo, { name: 'r1', version: '1.0' }, h.clock.now());
    await createCluster(repo, { name: 'prod', release: 'r1', hosts: ['compute-2'] }, h.clock.now());
    finished = (await runSession(h, { hosts: ['compute-0', 'compute-1'] })).session.id;
    await h.engine.stop();
    await repo.putInstanceGroup({ groupId: 'g-1', projectId: 'proj-a', groupName: 'web', antiAffinityGroup: true, maxInstancesPerHost: 1, maxImpactedMembers: 1, recoveryTime: 2.5, resourceMitigation: false }, h.clock.now());
    await repo.subscribe({ projectId: 'admin', eventType: 'maintenance.session', url: 'http://hooks.example/admin', format: 'fenix', sessionId: null }, h.clock.now());
    // Recorded, not run: no engine runs on the directory.
    const recorder = new Engine({ store: h.store, clock: h.clock });
    active = (await recorder.createSession({ hosts: ['compute-0'], maintenance_at: '2099-01-01 00:00:00' }, { kind: 'sim', cloudId: h.cloudId })).id;
    h.store.close();
  }, 120_000);
  afterAll(async () => {
    await pg?.stop();
  });

  it('copies a finished and an active session into PostgreSQL and back into a fresh directory, with the same documents', async () => {
    const url = await pg.createDatabase();
    const there = await copy(source, url);
    expect(there.code, there.stderr).toBe(0);
    const report = JSON.parse(there.stdout) as { sessions: string[]; rows: Record<string, number> };
    expect(report.sessions.sort()).toEqual([finished, active].sort());
    expect(report.rows).toMatchObject({ releases: 1, clusters: 1, cluster_hosts: 1, instance_groups: 1, subscriptions: 1 });
    expect(report.rows.deliveries).toBeGreaterThan(0);

    const back = tempDir('maintctl-copy-dst-');
    const again = await copy(url, back);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).rows).toEqual(report.rows);

    for (const id of [finished, active]) {
      expect(await json(back, ['session', 'show', id])).toEqual(await json(source, ['session', 'show', id]));
      expect(await json(back, ['session', 'events', id])).toEqual(await json(source, ['session', 'events', id]));
    }
    expect(await json(back, ['cluster', 'show', 'prod'])).toEqual(await json(source, ['cluster', 'show', 'prod']));
    expect(await json(back, ['project', 'constraints', 'proj-a'])).toEqual(await json(source, ['project', 'constraints', 'proj-a']));
    // The shared store runs the active session: a replica of it sees the session to run.
    const shared = await PgRepository.open(url);
    try {
      expect(await shared.activeSessionIds()).toEqual([active]);
      expect((await shared.sessionDeliveries(active)).length).toBeGreaterThan(0);
    } finally {
      await shared.close();
    }
  });

  it('refuses while an engine runs on the source directory, writing nothing anywhere', async () => {
    const url = await pg.createDatabase();
    expect(takeEngineLock(source)).toBe(true); // as a running engine holds it (this process is alive)
    try {
      // A child process: a copy in this process takes this process's lock for its own.
      const refused = await run(copyArgs(source, url));
      expect(refused.code).toBe(6);
      expect(refused.stderr).toContain(`an engine runs on ${source} (engine pid ${process.pid}): stop it first`);
    } finally {
      releaseEngineLock(source);
    }
    // The target was not even opened: no schema was made there.
    expect(await psql(pg.dir, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'", url.split('/').at(-1))).toBe('0\n');
  });

  it('refuses while a replica holds a lease on the shared source, and creates no target directory', async () => {
    const url = await pg.createDatabase();
    expect((await copy(source, url)).code).toBe(0);
    const replica = await PgRepository.open(url);
    try {
      expect(await replica.acquireLease(active, 'replica-7', Date.now(), 60_000)).not.toBeNull();
      const target = join(tempDir('maintctl-copy-'), 'state');
      const refused = await copy(url, target);
      expect(refused.code).toBe(6);
      expect(refused.stderr).toMatch(/an engine runs on postgres:\/\/.* \(replica replica-7 on .*, pid \d+\): stop it first/);
      const show = await runInProcess(['--state-dir', target, 'session', 'list']);
      expect(show.code).toBe(5); // no store was made there
    } finally {
      await replica.close();
    }
  });

  it('refuses a target that holds any of the sessions, naming them, and copies nothing into it', async () => {
    const url = await pg.createDatabase();
    expect((await copy(source, url)).code).toBe(0);
    const db = url.split('/').at(-1);
    const before = await psql(pg.dir, 'SELECT (SELECT count(*) FROM events) || \' \' || (SELECT count(*) FROM releases)', db);
    const refused = await copy(source, url);
    expect(refused.code).toBe(6);
    const named = [finished, active].sort((a, b) => (a < b ? -1 : 1));
    expect(refused.stderr).toContain('holds already: release r1; cluster prod; sessions ');
    for (const id of named) expect(refused.stderr).toContain(id);
    expect(refused.stderr).toContain('nothing was copied');
    expect(await psql(pg.dir, 'SELECT (SELECT count(*) FROM events) || \' \' || (SELECT count(*) FROM releases)', db)).toBe(before);
  });

  it('is one transaction on the target: a row the target cannot take leaves nothing copied', async () => {
    const url = await pg.createDatabase();
    const db = url.split('/').at(-1);
    await (await PgRepository.open(url)).close();
    // The last table copied takes no row from this source (a column it lacks, needed there).
    await psql(pg.dir, 'ALTER TABLE instance_constraints ADD COLUMN needed INTEGER NOT NULL', db);
    await psql(pg.dir, 'ALTER TABLE instance_groups ADD COLUMN needed INTEGER NOT NULL', db);
    const failed = await copy(source, url);
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toContain('needed');
    expect(await psql(pg.dir, "SELECT (SELECT count(*) FROM sessions) || ' ' || (SELECT count(*) FROM events) || ' ' || (SELECT count(*) FROM releases)", db)).toBe('0 0 0\n');
  });

  it('says what is wrong with --from and --to', async () => {
    const same = await copy(source, source);
    expect([same.code, same.stderr.trim()]).toEqual([2, `maintctl: --from and --to name the same store (${source}): give another --to`]);
    const bad = await copy(source, 'postgres://nobody');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('invalid --to "postgres://nobody": give postgres://USER@HOST[:PORT]/DATABASE');
    const missing = await copy(join(source, 'nope'), tempDir());
    expect(missing.code).toBe(5);
  });
});
