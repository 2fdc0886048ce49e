// Rehearsal speed: whole sessions on simulated clouds of growing size, on the virtual clock.
// Each size runs in a child process of its own (this script, forked with --size N), so the peak
// memory printed is that run's alone, and a run that takes too long is stopped, not waited for.
//
// Cloud: N computes of 24 vCPUs, each running 20 one-vCPU instances of two projects (one answers
// MIGRATE, the other LIVE_MIGRATE, after 1 s), so every compute has room for the others' moves;
// one controller; the sim's default timing. The session asks for max_parallel_hosts "auto" when
// the build accepts it, else 1 (column "parallel").
//
// Run: npm run build && node bench/rehearsal.mjs
//   BENCH_SIZES=1000,10000 (computes per run)   BENCH_TIMEOUT_S=600 (per run)
//   BENCH_STRICT=1: a run that times out fails the script too (the smoke run sets it; otherwise
//   only a crash or a session that does not end MAINTENANCE_DONE does).
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { envInt, fixed, machineLine, printTable } from './format.mjs';

const PER_COMPUTE = 20;
const VCPUS = 24;

// ---- one run, in the child

async function rehearse(computes) {
  const { DONE, addCloud, closeBench, cloudSize, createSession, openRehearsal, sessionEventCount, uniformCloud, waitForEnd } = await import('./support.mjs');
  const setupStarted = performance.now();
  const bench = await openRehearsal();
  // The cloud file is not kept once imported (nor is it by a rehearsal): only its size is.
  const { driver, instances } = importUniform(bench, addCloud, cloudSize, uniformCloud({
    computes,
    vcpus: VCPUS,
    perCompute: PER_COMPUTE,
    projects: [
      { id: 'proj-migrate', action: 'MIGRATE', replyDelayS: 1 },
      { id: 'proj-live', action: 'LIVE_MIGRATE', replyDelayS: 1 },
    ],
  }));
  try {
    const setupMs = performance.now() - setupStarted;
    const started = performance.now();
    let parallel = 'auto';
    let created = await createSession(bench, { max_parallel_hosts: parallel }, driver);
    if (created.refused) {
      parallel = 1;
      created = await createSession(bench, { max_parallel_hosts: parallel }, driver);
    }
    if (created.refused) throw new Error(`the session was refused: ${created.refused}`);
    const end = await waitForEnd(bench, created.session.id);
    const wallMs = performance.now() - started;
    return {
      computes,
      instances,
      parallel,
      state: end.state,
      done: end.state === DONE,
      failure: end.failure,
      setupMs,
      wallMs,
      simulatedS: end.simulatedMs / 1000,
      events: sessionEventCount(bench, created.session.id),
    };
  } finally {
    await closeBench(bench);
  }
}

function importUniform(bench, addCloud, cloudSize, cloud) {
  return { driver: addCloud(bench, cloud), instances: cloudSize(cloud).instances };
}

const sizeArg = process.argv.indexOf('--size');
if (sizeArg !== -1) {
  const result = await rehearse(Number(process.argv[sizeArg + 1]));
  // maxRSS is in KiB: the peak of this process, i.e. of this run.
  process.send({ ...result, peakRssMb: process.resourceUsage().maxRSS / 1024 });
  process.disconnect();
} else {
  await main();
}

// ---- the table, in the parent

function runChild(computes, timeoutS) {
  return new Promise((resolve) => {
    const child = fork(fileURLToPath(import.meta.url), ['--size', String(computes)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result = null;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutS * 1000);
    child.on('message', (m) => (result = m));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) resolve({ computes, timedOut: true });
      else if (result) resolve(result);
      else resolve({ computes, crashed: `exited with ${signal ?? `code ${code}`}` });
    });
  });
}

async function main() {
  const sizes = (process.env.BENCH_SIZES ?? '1000,10000').split(',').map((s) => Number(s.trim()));
  if (sizes.some((n) => !Number.isInteger(n) || n <= 0)) throw new Error(`BENCH_SIZES must list positive integers, not "${process.env.BENCH_SIZES}"`);
  const timeoutS = envInt('BENCH_TIMEOUT_S', 600);
  const { distDir } = await import('./support.mjs');
  console.log(`rehearsal: whole sessions, ${PER_COMPUTE} one-vCPU instances per ${VCPUS}-vCPU compute, virtual clock`);
  console.log(`${machineLine(distDir)}; each size in its own process, stopped after ${timeoutS} s\n`);

  const rows = [];
  for (const computes of sizes) rows.push(await runChild(computes, timeoutS));

  const measured = rows.filter((r) => r.wallMs !== undefined);
  const base = measured[0];
  const perCompute = (r) => r.wallMs / r.computes;
  printTable(
    [
      { title: 'computes', value: (r) => r.computes },
      { title: 'instances', value: (r) => r.instances },
      { title: 'parallel', value: (r) => r.parallel },
      { title: 'setup s', value: (r) => fixed(1)(r.setupMs / 1000) },
      { title: 'wall s', value: (r) => fixed(2)(r.wallMs / 1000) },
      { title: 'simulated s', value: (r) => fixed(0)(r.simulatedS) },
      { title: 'events', value: (r) => r.events },
      { title: 'peak RSS MB', value: (r) => fixed(0)(r.peakRssMb) },
      { title: 'wall/compute vs smallest', value: (r) => `${fixed(2)(perCompute(r) / perCompute(base))}x` },
    ],
    rows.map((r) => {
      if (r.timedOut) return { computes: r.computes, note: `timed out after ${timeoutS} s` };
      if (r.crashed) return { computes: r.computes, note: `crashed: ${r.crashed}` };
      return r.done ? r : { ...r, computes: `${r.computes} ${r.state}` };
    }),
  );

  console.log('');
  const first = measured[0];
  const last = measured.at(-1);
  if (first && last && last !== first) {
    const sizeRatio = last.computes / first.computes;
    console.log(
      `wall growth ${first.computes} -> ${last.computes} computes (${Number(sizeRatio.toFixed(1))}x the cloud): ${fixed(2)(last.wallMs / first.wallMs)}x` +
        ` (goal for 1,000 -> 10,000: <= 12x)`,
    );
  } else if (rows.length > 1) {
    console.log('wall growth: not measured (fewer than two sizes finished)');
  }
  const big = rows.find((r) => r.computes === 10000 && r.wallMs !== undefined);
  console.log(
    `goals at 10,000 computes: < 30 s wall, < 1.5 GB peak RSS` +
      (big ? `; measured ${fixed(1)(big.wallMs / 1000)} s, ${fixed(2)(big.peakRssMb / 1024)} GB` : rows.some((r) => r.computes === 10000) ? '; not measured (see the row)' : '; not run (BENCH_SIZES)'),
  );

  const strict = process.env.BENCH_STRICT === '1';
  const bad = rows.filter((r) => r.crashed || (r.wallMs !== undefined && !r.done) || (strict && r.timedOut));
  const why = (r) => (r.crashed ? `crashed (${r.crashed})` : r.timedOut ? `timed out after ${timeoutS} s` : `ended ${r.state}: ${r.failure}`);
  for (const r of bad) console.error(`${r.computes} computes: ${why(r)}`);
  if (bad.length) process.exitCode = 1;
}
