// Several `maintctl serve` replicas on one PostgreSQL: the replica running a session dies
// (SIGKILL) or stalls (SIGSTOP past its lease), and the session carries on elsewhere, with nothing
// done twice and nothing lost: checked from the shared event log, the sim clouds and what the
// VNFM received.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../src/engine/clock.js';
import { SimCloud } from '../src/infra/sim/sim-cloud.js';
import { PgRepository } from '../src/store/pg-repository.js';
import { SimStore } from '../src/store/sim-store.js';
import { Store } from '../src/store/store.js';
import { storePath } from '../src/client/state-dir.js';
import { brokenInvariantsOf, expectationsOf } from './invariants.js';
import { postgresMissing, startPostgres, type Postgres } from './support/postgres.js';
import { maintctlIn } from './support/cli.js';
import { startCluster, until, type Cluster } from './support/replicas.js';
import { jsonCall, startVnfm, type Vnfm } from './support/vnfm.js';

/** Short leases (s): a dead replica's sessions are taken over quickly. */
const LEASE = '1';

const DONE = ['MAINTENANCE_DONE', 'MAINTENANCE_FAILED'];

describe.skipIf(postgresMissing())('serve replicas on one PostgreSQL', () => {
  let pg: Postgres;
  beforeAll(async () => {
    pg = await startPostgres();
  });
  afterAll(async () => {
    await pg?.stop();
  });

  /** A cluster with a VNFM answering for both projects by webhook, and `sessions` sessions created through the balancer. */
  async function withSessions(replicas: number, sessions: number): Promise<{ cluster: Cluster; vnfm: Vnfm; ids: string[]; repo: PgRepository }> {
    const storeUrl = await pg.createDatabase();
    const cluster = await startCluster(storeUrl, { replicas, clouds: sessions, leaseTime: LEASE });
    const vnfm = await startVnfm({}, { retry: true });
    const api = cluster.balancer.url;
    for (const project of ['proj-a', 'proj-b']) {
      const r = await jsonCall('POST', `${api}/v1/projects/${project}/subscriptions`, { url: vnfm.url, format: 'aodh' });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
    }
    const ids: string[] = [];
    for (const cloud of cluster.clouds) {
      const r = await jsonCall('POST', `${api}/v1/maintenance`, { cloud, hosts: [], metadata: { openstack_release: 'HA' }, project_maintenance_reply: 60 });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      ids.push(String(r.body.session_id));
    }
    return { cluster, vnfm, ids, repo: await PgRepository.open(storeUrl) };
  }

  const hostEvents = async (repo: PgRepository, id: string) => (await repo.events(id)).filter((e) => e.eventType === 'maintenance.host').length;

  /** When the running test started: its guards end before vitest's limit (180 s), so a failure can say what it waited for. */
  let testStarted = 0;
  beforeEach(() => {
    testStarted = Date.now();
  });

  /** What is left of the running test's time, for a guard that must give up (and say why) before vitest does. */
  const remaining = () => Math.max(5_000, testStarted + 170_000 - Date.now());

  /** Waits for every session to end; one that does not before the test's time runs out fails it with its timeline. */
  async function allEnded(cluster: Cluster, vnfm: Vnfm, repo: PgRepository, ids: string[]): Promise<void> {
    const open = async () => {
      const left: string[] = [];
      for (const id of ids) if (!DONE.includes((await repo.findSession(id))!.state)) left.push(id);
      return left;
    };
    try {
      await until('every session to end', async () => (await open()).length === 0, remaining());
    } catch (err) {
      throw new Error(`${(err as Error).message}:\n${(await open()).map((id) => timeline(cluster, vnfm, id)).join('\n')}`);
    }
  }

  /** Everything that must hold once the sessions ended, as sentences (empty: all holds). */
  /** When the test killed a replica (Date.now()). */
  const killedAt: number[] = [];
  /** SIGSTOP and SIGCONT, for the timeline. */
  const signalled: Array<[number, string]> = [];

  async function problems(cluster: Cluster, repo: PgRepository, vnfm: Vnfm, ids: string[]): Promise<string[]> {
    const found: string[] = [];
    const local = Store.open(storePath(cluster.stateDir), { create: false });
    try {
      for (const id of ids) {
        const rows = (await repo.loadSession(id))!;
        const events = await repo.events(id);
        const cloudId = String(rows.session.driver.cloudId);
        const cloud = SimCloud.open(local, new VirtualClock(Date.now()), cloudId);
        // Every compute maintained once by the cloud itself, whatever the engines did.
        for (const h of new SimStore(local).load(cloudId)!.hosts) if (h.maintainedCount !== 1) found.push(`${id}: ${h.name} maintained ${h.maintainedCount}x`);
        const expected = { names: ['a-0', 'a-1', 'b-0'], before: [] };
        found.push(...brokenInvariantsOf({ ...rows, events }, cloud, id, expected, { placement: false }).map((p) => `${id}: ${p}`));
        // Each question answered once: no reply lost, none recorded twice. (A new holder may put an
        // open question again: the same project, state and deadline make one question.)
        const asked = events.filter((e) => e.eventType === 'maintenance.planned' && e.payload.state !== 'INSTANCE_ACTION_DONE');
        const replies = events.filter((e) => e.eventType === 'maintctl.reply');
        const questions = new Map<string, Set<string>>();
        for (const q of asked) {
          const pair = `${String(q.payload.project_id)} ACK_${String(q.payload.state)}`;
          questions.set(pair, (questions.get(pair) ?? new Set()).add(String(q.payload.reply_at)));
        }
        for (const [pair, distinct] of questions) {
          const answers = replies.filter((r) => `${String(r.payload.project_id)} ${String(r.payload.state)}` === pair).length;
          if (answers !== distinct.size) {
            // What happened around it, for whoever reads the failure: each question's deadline, each reply's time, the kills.
            const times = (es: typeof events) => es.map((e) => new Date(e.time).toISOString().slice(11, 23)).join(' ');
            const about = (e: (typeof events)[number]) => `${String(e.payload.project_id)} ${String(e.payload.state).replace(/^(?!ACK_|NACK_)/, 'ACK_')}` === pair;
            found.push(
              `${id}: ${pair}: ${distinct.size} questions, ${answers} replies recorded ` +
                `(asked at ${times(asked.filter(about))} with reply_at ${[...distinct].join(', ')}; replies at ${times(replies.filter(about))}; ` +
                `kills at ${killedAt.map((k) => new Date(k).toISOString().slice(11, 23)).join(' ')})`,
            );
          }
        }
        // The session's last notices may still be on their way when it ends: each must arrive.
        const deliveries = await until(`the webhook deliveries of ${id} to be settled`, async () => {
          const all = await repo.sessionDeliveries(id);
          return all.some((d) => d.status === 'pending') ? null : all;
        });
        const undelivered = deliveries.filter((d) => d.status !== 'delivered');
        if (undelivered.length) found.push(`${id}: webhook deliveries not delivered: ${undelivered.map((d) => `event ${d.eventId} ${d.status} (${d.lastError ?? 'no error'})`).join(', ')}`);
        if (found.some((f) => f.startsWith(`${id}: `))) found.push(timeline(cluster, vnfm, id));
      }
    } finally {
      local.close();
    }
    // Each notification reached the VNFM once, save one sent by a replica that was killed before it
    // could record the sending (received before that kill, and again from the new holder after it):
    // a receiver that must not see that dedupes by message_id. Two live replicas never both send one.
    const seen = new Map<string, number>();
    vnfm.messageIds.forEach((m, i) => {
      const first = seen.get(m);
      if (first === undefined) return void seen.set(m, vnfm.receivedAt[i]!);
      const explained = killedAt.some((k) => first <= k && vnfm.receivedAt[i]! >= k);
      if (!explained) found.push(`the VNFM received notification ${m} twice, with no replica killed in between`);
    });
    return found;
  }

  /**
   * What happened to a session, for whoever reads a failure: the lines each replica printed about
   * it (what that replica wrote), the notifications the VNFM got and the status of its replies, and
   * the kills, in time order.
   */
  function timeline(cluster: Cluster, vnfm: Vnfm, id: string): string {
    const lines: Array<[number, string]> = [];
    cluster.started.forEach((r, i) => {
      const who = `r${i}`.padEnd(6);
      for (const l of r.process.output().split('\n')) if (l.includes(` ${id.slice(0, 8)} `)) lines.push([Date.parse(l.slice(0, 24)), `${who} ${l.slice(11, 23)} ${l.slice(34)}`]);
    });
    vnfm.seen.forEach((p, i) => {
      if (p.session_id === id) lines.push([vnfm.receivedAt[i]!, `vnfm   ${new Date(vnfm.receivedAt[i]!).toISOString().slice(11, 23)} got ${String(p.state)} for ${String(p.project_id)} (reply_at ${String(p.reply_at)})`]);
    });
    vnfm.answered.filter((a) => a.sessionId === id).forEach((a) => lines.push([a.at, `vnfm   ${new Date(a.at).toISOString().slice(11, 23)} reply ${a.state} -> ${a.status}`]));
    for (const k of killedAt) lines.push([k, `kill   ${new Date(k).toISOString().slice(11, 23)}`]);
    for (const [at, what] of signalled) lines.push([at, `signal ${new Date(at).toISOString().slice(11, 23)} ${what}`]);
    return `timeline of ${id}:\n${lines.sort((a, b) => a[0] - b[0]).map(([, l]) => l).join('\n')}`;
  }

  it('three replicas, ten sessions: the replica running a session is killed at several points, and every session ends DONE with nothing done twice or lost', async () => {
    const { cluster, vnfm, ids, repo } = await withSessions(3, 10);
    try {
      // Kill points: the holder of session k, once k's hosts have shown 1, 2, 3... host notices.
      const points = [
        { session: 0, hostEvents: 1 },
        { session: 3, hostEvents: 2 },
        { session: 6, hostEvents: 3 },
        { session: 9, hostEvents: 4 },
      ];
      let kills = 0;
      for (const point of points) {
        const id = ids[point.session]!;
        const reached = await until(`session ${point.session} to reach ${point.hostEvents} host notices`, async () =>
          DONE.includes((await repo.findSession(id))!.state) ? 'ended' : (await hostEvents(repo, id)) >= point.hostEvents ? 'reached' : null,
        );
        if (reached === 'ended') continue;
        const holder = await until(`a replica to hold session ${point.session}`, () => cluster.holder(id));
        await cluster.kill(holder);
        killedAt.push(Date.now()); // once it is dead: whatever it sent was received before this
        kills++;
        // Taken over by a live replica, and the cluster made whole again.
        await until(`session ${point.session} to be taken over`, async () => DONE.includes((await repo.findSession(id))!.state) || (await cluster.holder(id)));
        await cluster.add();
      }
      expect(kills).toBeGreaterThanOrEqual(2);
      await allEnded(cluster, vnfm, repo, ids);
      expect(await problems(cluster, repo, vnfm, ids)).toEqual([]);
      for (const id of ids) expect((await repo.findSession(id))!.state).toBe('MAINTENANCE_DONE');
    } finally {
      await repo.close();
      await vnfm.close();
      await cluster.stop();
    }
  });

  it('maintctl engine --store runs to the end the sessions of a replica that died, with nobody answering by hand (policies)', async () => {
    const storeUrl = await pg.createDatabase();
    const cluster = await startCluster(storeUrl, { replicas: 1, clouds: 1, leaseTime: LEASE });
    const repo = await PgRepository.open(storeUrl);
    try {
      const created = await jsonCall('POST', `${cluster.balancer.url}/v1/maintenance`, { cloud: 'c0', hosts: [], metadata: {}, unsubscribed_policy: 'migrate' });
      const id = String(created.body.session_id);
      await until('the session to be under way', async () => (await hostEvents(repo, id)) >= 1);
      await cluster.kill(cluster.replicas[0]!);
      const ran = await maintctlIn(cluster.stateDir, ['engine', '--store', storeUrl]);
      expect(ran.code, ran.stdout + ran.stderr).toBe(0);
      expect(ran.stdout).toContain(`${id.slice(0, 8)} session    `);
      expect((await repo.findSession(id))!.state).toBe('MAINTENANCE_DONE');
      // A bad URL is a usage error naming what to give.
      const bad = await maintctlIn(cluster.stateDir, ['engine', '--store', 'mysql://x/y']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/invalid --store "mysql:\/\/x\/y": give postgres:\/\/USER@HOST\[:PORT\]\/DATABASE/);
    } finally {
      await repo.close();
      await cluster.stop();
    }
  });

  it('a replica stopped longer than its lease loses the session and, resumed, writes nothing to it', async () => {
    const { cluster, vnfm, ids, repo } = await withSessions(2, 1);
    const id = ids[0]!;
    try {
      await until('the session to be under way', async () => (await hostEvents(repo, id)) >= 1, remaining());
      const stopped = await until('a replica to hold the session', () => cluster.holder(id), remaining());
      const { epoch } = (await repo.lease(id))!;
      const stoppedAt = Date.now();
      stopped.process.child.kill('SIGSTOP');
      signalled.push([stoppedAt, `SIGSTOP r${cluster.started.indexOf(stopped)}`]);
      const other = await until('the other replica to take the session over', async () => {
        const lease = await repo.lease(id);
        return lease && lease.owner !== stopped.id && lease.expiresAt > Date.now() ? lease : null;
      }, remaining());
      expect(other.epoch).toBeGreaterThan(epoch);
      const eventsAtResume = (await repo.events(id)).length;
      const printedAtResume = stopped.process.output().length;
      stopped.process.child.kill('SIGCONT');
      signalled.push([Date.now(), `SIGCONT r${cluster.started.indexOf(stopped)}`]);
      await allEnded(cluster, vnfm, repo, ids);
      // The stopped replica, resumed, wrote nothing of the session as its runner: no decision, host
      // step, question or state stamped after it was stopped. (A line about a write it committed
      // just before, printed on resuming, carries an earlier time; replies the balancer sent it are
      // requests, which any replica takes; an engine error is a write refused, e.g. the
      // transaction the server ended while the replica was stopped.)
      const after = stopped.process.output().slice(printedAtResume);
      const written = after
        .split('\n')
        .filter((l) => l.includes(` ${id.slice(0, 8)} `) && !/ (reply {6}|engine +error: )/.test(l) && Date.parse(l.slice(0, 24)) > stoppedAt);
      expect(written).toEqual([]);
      // ...and the session's log went on from where the new holder took it, to its end.
      expect((await repo.events(id)).length).toBeGreaterThan(eventsAtResume);
      expect((await repo.lease(id))?.owner ?? other.owner).not.toBe(stopped.id);
      expect(await problems(cluster, repo, vnfm, ids)).toEqual([]);
      expect((await repo.findSession(id))!.state).toBe('MAINTENANCE_DONE');
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${timeline(cluster, vnfm, id)}`, { cause: err });
    } finally {
      await repo.close();
      await vnfm.close();
      await cluster.stop();
    }
  });
});
