// Constraints: the makespan scenario (bench/makespan.mjs) with application constraints. Each
// busy compute's instances of one project form an instance group of 10 with
// max_impacted_members 2: at most 2 of them move at once. Run with max_parallel_hosts "auto",
// without constraints and with them, beside two bounds.
//
// Cloud: BENCH_COMPUTES computes (default 100) of 20 vCPUs, each running 20 one-vCPU instances of
// two projects (10 each: one group per project and compute), BENCH_SPARE empty computes (5), a
// controller; host maintenance 600 s, a migration 30 s.
//
// Bounds: at most k = BENCH_SPARE hosts can be out of service at a time (the spares are the only
// free capacity), and each must be emptied, then maintained. Without constraints emptying takes at
// least one migration: ceil(hosts / k) x (600 + 30) s. With them a group of 10 moving 2 at a
// time needs ceil(10 / 2) = 5 migrations one after another: ceil(hosts / k) x (600 + 5 x 30) s.
//
// BENCH_MAX_MIGRATIONS sets the session's max_migrations (default: the engine's 10), which also
// bounds how many moves run at once.
//
// Run: npm run build && node bench/constraints.mjs
import {
  DONE, addCloud, closeBench, cloudSize, createSession, distDir, moveCount, openBench, putConstraints, uniformCloud, waitForEnd,
} from './support.mjs';
import { envInt, fixed, machineLine, printTable } from './format.mjs';

const computes = envInt('BENCH_COMPUTES', 100);
const spare = envInt('BENCH_SPARE', 5);
/** Moves under way at once in the session (0: the engine's default, 10). */
const maxMigrations = envInt('BENCH_MAX_MIGRATIONS', 0);
const VCPUS = 20;
const GROUP = 10;
const MAX_IMPACTED = 2;
const timing = { host_maintenance_s: 600, migrate_s: 30, live_migrate_s: 30 };
const projects = [
  { id: 'proj-migrate', action: 'MIGRATE', replyDelayS: 1 },
  { id: 'proj-live', action: 'LIVE_MIGRATE', replyDelayS: 1 },
];

const cloud = () => uniformCloud({ computes, spare, vcpus: VCPUS, perCompute: VCPUS, projects, timing, ids: true });

/** One group per project and busy compute: its instances there. */
function groupsOf(sim) {
  const byGroup = new Map();
  for (const i of sim.instances) {
    const groupId = `${i.project}@${i.host}`;
    byGroup.set(groupId, [...(byGroup.get(groupId) ?? []), i]);
  }
  const groups = [];
  const instances = [];
  for (const [groupId, members] of byGroup) {
    groups.push({ groupId, projectId: members[0].project, groupName: groupId, antiAffinityGroup: false, maxInstancesPerHost: 0, maxImpactedMembers: MAX_IMPACTED, recoveryTime: 0, resourceMitigation: false });
    for (const m of members) {
      instances.push({ instanceId: m.id, projectId: m.project, groupId, instanceName: m.name, maxInterruptionTime: null, migrationType: null, resourceMitigation: false, leadTime: 0 });
    }
  }
  return { groups, instances };
}

async function run(mode, constrained) {
  const bench = openBench({ clock: 'virtual' });
  try {
    const sim = cloud();
    const { instances } = cloudSize(sim);
    if (constrained && !(await putConstraints(bench, groupsOf(sim)))) return { mode, refused: 'this build has no constraints' };
    const driver = addCloud(bench, sim);
    const started = performance.now();
    const created = await createSession(bench, { max_parallel_hosts: 'auto', ...(maxMigrations ? { max_migrations: maxMigrations } : {}) }, driver);
    if (created.refused) return { mode, refused: created.refused };
    const end = await waitForEnd(bench, created.session.id);
    return { mode, ...end, wallMs: performance.now() - started, moves: moveCount(bench), instances };
  } finally {
    await closeBench(bench);
  }
}

const hosts = computes + spare;
const k = spare;
const rounds = Math.ceil(hosts / k);
const freeBoundS = rounds * (timing.host_maintenance_s + timing.migrate_s);
const boundS = rounds * (timing.host_maintenance_s + Math.ceil(GROUP / MAX_IMPACTED) * timing.migrate_s);

console.log(`constraints: ${computes} computes x ${VCPUS} one-vCPU instances + ${spare} empty spare compute(s), 1 controller`);
console.log(`groups: each project's ${GROUP} instances on a compute, max_impacted_members ${MAX_IMPACTED}; max_migrations ${maxMigrations || 'default (10)'}; ${machineLine(distDir)}`);
console.log(`bounds: free ${rounds} x (${timing.host_maintenance_s} + ${timing.migrate_s}) s = ${freeBoundS} s; constrained ${rounds} x (${timing.host_maintenance_s} + ${Math.ceil(GROUP / MAX_IMPACTED)} x ${timing.migrate_s}) s = ${boundS} s\n`);

const free = await run('no constraints', false);
const limited = await run(`max_impacted ${MAX_IMPACTED}`, true);

const failed = [free, limited].filter((r) => !r.refused && r.state !== DONE);
const rows = [free, limited].map((r) => {
  if (r.refused) return { mode: r.mode, note: r.refused };
  const s = r.simulatedMs / 1000;
  return { mode: r.mode + (r.state === DONE ? '' : ` ${r.state}`), makespan: s, xFree: s / freeBoundS, xBound: s / boundS, moves: r.moves, perInstance: r.moves / r.instances, wallMs: r.wallMs };
});
rows.push({ mode: 'bound, free', makespan: freeBoundS, xFree: 1, xBound: freeBoundS / boundS, moves: null, perInstance: null, wallMs: null });
rows.push({ mode: 'bound, constrained', makespan: boundS, xFree: boundS / freeBoundS, xBound: 1, moves: null, perInstance: null, wallMs: null });

const dash = (f) => (v) => (v === null || v === undefined ? '-' : f(v));
printTable(
  [
    { title: 'mode', value: (r) => r.mode + (r.note ? ` (${r.note})` : ''), left: true },
    { title: 'makespan s', value: (r) => dash(fixed(0))(r.makespan) },
    { title: 'x free bound', value: (r) => dash((v) => `${fixed(2)(v)}x`)(r.xFree) },
    { title: 'x constrained bound', value: (r) => dash((v) => `${fixed(2)(v)}x`)(r.xBound) },
    { title: 'moves', value: (r) => dash(String)(r.moves) },
    { title: 'moves/instance', value: (r) => dash(fixed(2))(r.perInstance) },
    { title: 'wall ms', value: (r) => dash(fixed(0))(r.wallMs) },
  ],
  rows,
);

for (const r of failed) console.error(`session (${r.mode}) ended ${r.state}: ${r.failure}`);
if (failed.length) process.exitCode = 1;
