// Failover on PostgreSQL: `maintctl serve` replicas (the built CLI) on one real PostgreSQL,
// started here with the tests' own harness (test/support/postgres.ts, replicas.ts: loaded
// through vite-node, so the bench and the tests share one way of starting them).
//
// Row 1, failover time: three replicas, BENCH_FAILOVER_SESSIONS sessions (default 3) on slow sim
// clouds; BENCH_KILLS times (default 20) the replica holding a session is SIGKILLed and the clock
// runs from the kill to another replica holding the session under a new lease epoch (from there it
// runs it: the session progresses again), polled every 50 ms; a new replica then takes the dead
// one's place. Lease: BENCH_LEASE_S (2 s).
// Row 2, reply -> next action: twelve sessions; a webhook VNFM answers each question through the
// balancer; a sample is the time from a reply's record (maintctl.reply) to the next event of the
// session when that is the runner's (the last answer it waited for), both stamped by the
// replicas. With 3 replicas the reply often lands on one that does not run the session (heard
// through NOTIFY); with 1 it always lands on the runner.
//
// Run: npm run build && node bench/failover.mjs
import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';
import { ViteNodeRunner } from 'vite-node/client';
import { ViteNodeServer } from 'vite-node/server';
import { envInt, fixed, machineLine, percentile, printTable } from './format.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const vite = await createServer({ root, logLevel: 'error', server: { hmr: false }, optimizeDeps: { noDiscovery: true, include: [] } });
const node = new ViteNodeServer(vite);
const runner = new ViteNodeRunner({ root, fetchModule: (id) => node.fetchModule(id), resolveId: (id, importer) => node.resolveId(id, importer) });
const load = (path) => runner.executeFile(`${root}${path}`);
const sorted = (values) => [...values].sort((a, b) => a - b);

const [{ startPostgres }, { startCluster, until }, { startVnfm, jsonCall }, { PgRepository }] = await Promise.all([
  load('test/support/postgres.ts'),
  load('test/support/replicas.ts'),
  load('test/support/vnfm.ts'),
  load('src/store/pg-repository.ts'),
]);

const KILLS = envInt('BENCH_KILLS', 20);
const SESSIONS = envInt('BENCH_FAILOVER_SESSIONS', 3);
const LEASE_S = process.env.BENCH_LEASE_S ?? '2';

const pg = await startPostgres();
try {
  console.log(machineLine(`${root}dist (serve replicas of the built CLI), PostgreSQL of the tests' harness`));
  // Each row is printed as soon as it is measured.
  const row = (what, replicas, samples, digits) =>
    printTable(
      [
        { title: 'measure', value: (r) => r.what, left: true },
        { title: 'replicas', value: (r) => r.replicas },
        { title: 'samples', value: (r) => r.samples.length },
        { title: 'median ms', value: (r) => fixed(digits)(percentile(r.samples, 50)) },
        { title: 'max ms', value: (r) => fixed(digits)(r.samples.at(-1)) },
      ],
      [{ what, replicas, samples }],
    );
  row(`failover, lease ${LEASE_S} s (kill -> held again)`, 3, sorted(await failoverTimes()), 0);
  row('reply -> next action', 3, sorted(await replyLatency(3)), 1);
  row('reply -> next action', 1, sorted(await replyLatency(1)), 1);
} finally {
  await pg.stop();
  await vite.close();
}

/** Sessions created through the balancer, on clouds whose steps are slow enough to be killed in the middle of. */
async function createSessions(cluster, count) {
  const ids = [];
  for (const cloud of cluster.clouds.slice(0, count)) {
    const r = await jsonCall('POST', `${cluster.balancer.url}/v1/maintenance`, { cloud, hosts: [], metadata: {}, project_maintenance_reply: 600 });
    if (r.status !== 200) throw new Error(`create failed: ${JSON.stringify(r.body)}`);
    ids.push(String(r.body.session_id));
  }
  return ids;
}

async function subscribeVnfm(cluster, vnfm) {
  for (const project of ['proj-a', 'proj-b']) {
    await jsonCall('POST', `${cluster.balancer.url}/v1/projects/${project}/subscriptions`, { url: vnfm.url, format: 'aodh' });
  }
}

async function failoverTimes() {
  const url = await pg.createDatabase();
  const samples = [];
  // Each session lasts a few kills; new ones are made as they end.
  const cluster = await startCluster(url, { replicas: 3, clouds: KILLS + SESSIONS, leaseTime: LEASE_S });
  const repo = await PgRepository.open(url);
  const vnfm = await startVnfm({}, { retry: true });
  try {
    await subscribeVnfm(cluster, vnfm);
    let made = 0;
    const live = [];
    const more = async () => {
      const [id] = await createSessions({ ...cluster, clouds: [cluster.clouds[made++]] }, 1);
      live.push(id);
    };
    for (let i = 0; i < SESSIONS; i++) await more();
    while (samples.length < KILLS) {
      const id = live[samples.length % live.length];
      const session = await repo.findSession(id);
      if (['MAINTENANCE_DONE', 'MAINTENANCE_FAILED'].includes(session.state)) {
        live.splice(live.indexOf(id), 1);
        await more();
        continue;
      }
      const holder = await until('a holder', () => cluster.holder(id));
      const { epoch } = await repo.lease(id);
      const killedAt = Date.now();
      await cluster.kill(holder);
      // Progressing again: a live replica holds the session under a new epoch (and runs it from there).
      const next = await until('another replica to take the session over', async () => {
        const lease = await repo.lease(id);
        return lease && lease.epoch > epoch && lease.owner !== holder.id ? { time: Date.now() } : null;
      });
      samples.push(next.time - killedAt);
      await cluster.add();
    }
  } finally {
    await repo.close();
    await vnfm.close();
    await cluster.stop();
  }
  return samples;
}

/**
 * Times from a reply's record to the next thing the session's runner commits, where nothing else
 * came between (the last answer a question waited for), with `replicas` replicas behind the balancer.
 */
async function replyLatency(replicas) {
  const url = await pg.createDatabase();
  const cluster = await startCluster(url, { replicas, clouds: 12, leaseTime: LEASE_S });
  const repo = await PgRepository.open(url);
  const vnfm = await startVnfm({}, { retry: true });
  const samples = [];
  try {
    await subscribeVnfm(cluster, vnfm);
    const ids = await createSessions(cluster, 12);
    await until('the sessions to end', async () => {
      for (const id of ids) if (!['MAINTENANCE_DONE', 'MAINTENANCE_FAILED'].includes((await repo.findSession(id)).state)) return false;
      return true;
    }, 600_000);
    for (const id of ids) {
      const events = await repo.events(id);
      events.forEach((e, i) => {
        const next = events[i + 1];
        if (e.eventType === 'maintctl.reply' && next && next.eventType !== 'maintctl.reply') samples.push(next.time - e.time);
      });
    }
  } finally {
    await repo.close();
    await vnfm.close();
    // A replica that does not stop on SIGTERM is killed by the harness and named here; the figures stand.
    await cluster.stop().catch((err) => console.log(`note: ${err.message}`));
  }
  return samples;
}
