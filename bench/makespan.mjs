// Makespan: how long (in simulated time) a whole session takes on a cloud with some free
// capacity, against the best any schedule could do, and how many moves it spends.
//
// Cloud: BENCH_COMPUTES computes (default 100) of 20 vCPUs, each running 20 one-vCPU instances
// of two projects (one answers MIGRATE, the other LIVE_MIGRATE, after 1 s), BENCH_SPARE empty
// computes of the same size (default 5) and a controller. Host maintenance takes 600 s, a
// migration 30 s.
//
// The bound: the spare computes are the only free capacity, k hosts' worth, so at most k hosts
// can be out of service at a time, and each of them must be emptied (one migration's time) and
// maintained: ceil(hosts / k) x (host time + migration time), hosts = every compute.
//
// Run: npm run build && node bench/makespan.mjs
import {
  DONE, addCloud, closeBench, cloudSize, createSession, distDir, moveCount, openBench, uniformCloud, waitForEnd,
} from './support.mjs';
import { envInt, fixed, machineLine, printTable } from './format.mjs';

const computes = envInt('BENCH_COMPUTES', 100);
const spare = envInt('BENCH_SPARE', 5);
const VCPUS = 20;
const timing = { host_maintenance_s: 600, migrate_s: 30, live_migrate_s: 30 };

function cloud() {
  return uniformCloud({
    computes,
    spare,
    vcpus: VCPUS,
    perCompute: VCPUS,
    projects: [
      { id: 'proj-migrate', action: 'MIGRATE', replyDelayS: 1 },
      { id: 'proj-live', action: 'LIVE_MIGRATE', replyDelayS: 1 },
    ],
    timing,
  });
}

/** One whole session on a fresh store; null when this build refuses the option. */
async function run(mode, maxParallelHosts) {
  const bench = openBench({ clock: 'virtual' });
  try {
    const sim = cloud();
    const { instances } = cloudSize(sim);
    const driver = addCloud(bench, sim);
    const started = performance.now();
    const created = await createSession(bench, { max_parallel_hosts: maxParallelHosts }, driver);
    if (created.refused) return { mode, refused: created.refused };
    const end = await waitForEnd(bench, created.session.id);
    const wallMs = performance.now() - started;
    return { mode, ...end, wallMs, moves: moveCount(bench), instances };
  } finally {
    await closeBench(bench);
  }
}

const hosts = computes + spare;
const k = spare;
const boundS = Math.ceil(hosts / k) * (timing.host_maintenance_s + timing.migrate_s);

console.log(`makespan: ${computes} computes x ${VCPUS} one-vCPU instances + ${spare} empty spare compute(s), 1 controller`);
console.log(`timing: host ${timing.host_maintenance_s} s, migrate ${timing.migrate_s} s, live migrate ${timing.live_migrate_s} s; ${machineLine(distDir)}`);
console.log(`bound: ceil(${hosts} hosts / k=${k}) x (${timing.host_maintenance_s} + ${timing.migrate_s}) s = ${boundS} s\n`);

const auto = await run('"auto"', 'auto');
const one = await run('1', 1);

const failed = [auto, one].filter((r) => !r.refused && r.state !== DONE);
const oneS = one.refused || one.state !== DONE ? null : one.simulatedMs / 1000;
const rows = [auto, one].map((r) => {
  if (r.refused) return { mode: r.mode, note: 'n/a (not supported by this build)' };
  const s = r.simulatedMs / 1000;
  return {
    mode: r.mode + (r.state === DONE ? '' : ` ${r.state}`),
    makespan: s,
    xBound: s / boundS,
    speedUp: oneS === null ? null : oneS / s,
    moves: r.moves,
    perInstance: r.moves / r.instances,
    wallMs: r.wallMs,
  };
});
rows.push({ mode: 'bound', makespan: boundS, xBound: 1, speedUp: oneS === null ? null : oneS / boundS, moves: null, perInstance: null, wallMs: null });

const dash = (f) => (v) => (v === null ? '-' : f(v));
printTable(
  [
    { title: 'mode', value: (r) => r.mode, left: true },
    { title: 'makespan s', value: (r) => fixed(0)(r.makespan) },
    { title: 'x bound', value: (r) => `${fixed(2)(r.xBound)}x` },
    { title: 'speed-up vs 1', value: (r) => dash((v) => `${fixed(2)(v)}x`)(r.speedUp) },
    { title: 'moves', value: (r) => dash(String)(r.moves) },
    { title: 'moves/instance', value: (r) => dash(fixed(2))(r.perInstance) },
    { title: 'wall ms', value: (r) => dash(fixed(0))(r.wallMs) },
  ],
  rows,
);
console.log('\ngoals for "auto": <= 1.15x bound, >= 4x shorter than one at a time, <= 1.1 moves/instance');

for (const r of failed) console.error(`session with max_parallel_hosts ${r.mode} ended ${r.state}: ${r.failure}`);
if (failed.length) process.exitCode = 1;
