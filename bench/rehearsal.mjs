// Rehearsal speed: whole sessions on simulated clouds of growing size, on the virtual clock.
// Prints wall time, simulated time, their ratio (how much faster than real time a rehearsal
// runs), the cost per host, and how that cost grows against the smallest cloud (the baseline).
// Run: npm run bench (measures the built code in dist/)
import { VirtualClock } from '../dist/engine/clock.js';
import { Engine } from '../dist/engine/engine.js';
import { importCloud, parseCloudText } from '../dist/infra/sim/cloud-file.js';
import { Store } from '../dist/store/store.js';

function cloudYaml(computes) {
  const hosts = ['  - {name: ctl-0, type: controller}'];
  const instances = [];
  for (let c = 0; c < computes; c++) {
    hosts.push(`  - {name: compute-${c}, vcpus: 16}`);
    // Every compute runs two instances of two projects: the session must make room first.
    instances.push(`  - {name: a-${c}, project: proj-a, host: compute-${c}, vcpus: 4}`);
    instances.push(`  - {name: b-${c}, project: proj-b, host: compute-${c}, vcpus: 2}`);
  }
  return [
    'hosts:',
    ...hosts,
    'instances:',
    ...instances,
    'projects:',
    '  - {id: proj-a, auto_reply: ack, action: MIGRATE}',
    '  - {id: proj-b, auto_reply: ack, action: LIVE_MIGRATE}',
  ].join('\n');
}

async function rehearse(computes, parallel) {
  const store = Store.open(':memory:');
  const clock = new VirtualClock(Date.UTC(2026, 0, 1), { auto: true });
  const cloudId = importCloud(store, parseCloudText(cloudYaml(computes), 'bench'), 'bench', clock.now());
  const engine = new Engine({ store, clock });
  engine.start();
  const started = performance.now();
  const session = await engine.createSession({ max_parallel_hosts: parallel }, { kind: 'sim', cloudId });
  const end = await engine.waitForEnd(session.id);
  const wallMs = performance.now() - started;
  if (end.state !== 'MAINTENANCE_DONE') throw new Error(`${computes} computes: ${end.state} ${end.failure}`);
  const events = store.events(session.id).length;
  store.close();
  return { computes, parallel, wallMs, simulatedS: (end.updatedAt - end.createdAt) / 1000, events, rssMb: process.memoryUsage().rss / 2 ** 20 };
}

const sizes = (process.env.BENCH_SIZES ?? '10,50,100,200').split(',').map(Number);
const rows = [];
for (const size of sizes) rows.push(await rehearse(size, 1));
rows.push(await rehearse(sizes.at(-1), 4));

const base = rows[0];
const perHost = (r) => r.wallMs / r.computes;
console.log('computes  parallel  wall ms  simulated s  sim/wall  events  ms/host  ms/host vs baseline  rss MB');
for (const r of rows) {
  console.log(
    [
      String(r.computes).padStart(8),
      String(r.parallel).padStart(9),
      r.wallMs.toFixed(0).padStart(8),
      r.simulatedS.toFixed(0).padStart(12),
      `${(r.simulatedS / (r.wallMs / 1000)).toFixed(0)}x`.padStart(9),
      String(r.events).padStart(7),
      perHost(r).toFixed(2).padStart(8),
      `${(perHost(r) / perHost(base)).toFixed(2)}x`.padStart(20),
      r.rssMb.toFixed(0).padStart(7),
    ].join(' '),
  );
}
