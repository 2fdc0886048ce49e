// Cold start of the CLI: `maintctl session list` on a state directory holding BENCH_SESSIONS
// sessions (default 1,000), `maintctl --help`, and `maintctl engine` (what `session create`
// starts in the background, and the crash tests start dozens of times) on a state directory with
// nothing left to run and on one with a tiny session, each beside `node -e 0` measured in the
// same run, alternating, so the ratio says what maintctl adds to starting Node itself.
// Goal: session list within 2.5 x node -e 0.
//
// Run: npm run build && node bench/cold-start.mjs   (BENCH_RUNS: runs of each command, default 15)
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { envInt, fixed, machineLine, percentile, printTable } from './format.mjs';
import { distDir, fillStore, tinySession } from './support.mjs';

// The entry point beside the build measured (BENCH_DIST=DIR/dist measures DIR/bin/maintctl.js).
const BIN = join(distDir, '..', 'bin', 'maintctl.js');
const sessions = envInt('BENCH_SESSIONS', 1000);
const runs = envInt('BENCH_RUNS', 15);
const dir = mkdtempSync(join(tmpdir(), 'maintctl-cold-'));
await fillStore(join(dir, 'maintctl.db'), sessions);
// The tiny session as recorded (copied afresh before each engine run), and the same state
// directory once an engine has run it to the end: nothing left to run there.
const tiny = join(dir, 'tiny');
const tinyRecorded = join(dir, 'tiny-recorded');
const finished = join(dir, 'finished');
await tinySession(join(tinyRecorded, 'maintctl.db'));
const freshTiny = () => {
  rmSync(tiny, { recursive: true, force: true });
  cpSync(tinyRecorded, tiny, { recursive: true });
};

const env = { ...process.env, NO_COLOR: '1', MAINTCTL_STATE_DIR: dir };
const commands = [
  { name: 'node -e 0', args: ['-e', '0'] },
  { name: `maintctl session list (${sessions} sessions)`, args: [BIN, 'session', 'list'], check: (out) => out.split('\n').length > sessions },
  { name: 'maintctl --help', args: [BIN, '--help'] },
  { name: 'maintctl engine (nothing to run)', args: [BIN, '--state-dir', finished, 'engine'] },
  {
    name: 'maintctl engine --virtual-clock (1 tiny session)',
    args: [BIN, '--state-dir', tiny, 'engine', '--virtual-clock'],
    before: freshTiny,
    check: (out) => out.includes('-> MAINTENANCE_DONE'),
  },
];

/**
 * CPU time of this process's waited-for children so far, in ms (Linux: cutime + cstime of
 * /proc/self/stat, in clock ticks of 10 ms); null elsewhere. On a shared machine the CPU a start
 * costs says more than its wall time.
 */
function childrenCpuMs() {
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
    return (Number(fields[13]) + Number(fields[14])) * 10;
  } catch {
    return null;
  }
}

/** Wall and CPU time of one run in ms; the output is checked so a failing command is not timed as fast. */
function once(c) {
  c.before?.();
  const cpu0 = childrenCpuMs();
  const t0 = performance.now();
  const r = spawnSync(process.execPath, c.args, { env, encoding: 'utf8', maxBuffer: 64 << 20 });
  const ms = performance.now() - t0;
  const cpu = cpu0 === null ? null : childrenCpuMs() - cpu0;
  if (r.status !== 0 || (c.check && !c.check(r.stdout))) throw new Error(`${c.name} failed (exit ${r.status}): ${r.stderr}${r.stdout}`);
  return { ms, cpu };
}

const samples = commands.map(() => []);
once(commands[1]); // warm the file cache: a cold start of the program, not of the disk
freshTiny();
cpSync(tinyRecorded, finished, { recursive: true });
once({ ...commands[4], args: [BIN, '--state-dir', finished, 'engine', '--virtual-clock'], before: undefined }); // runs it to the end
for (let i = 0; i < runs; i++) commands.forEach((c, j) => samples[j].push(once(c)));
rmSync(dir, { recursive: true, force: true });

const median = (values) => percentile([...values].sort((a, b) => a - b), 50);
const medians = samples.map((s) => median(s.map((x) => x.ms)));
const cpuMean = (s) => (s.some((x) => x.cpu === null) ? null : s.reduce((sum, x) => sum + x.cpu, 0) / s.length);
console.log(`cold start, median of ${runs} runs each, alternating; ${machineLine(distDir)}`);
printTable(
  [
    { title: 'command', value: (r) => r.name, left: true },
    { title: 'median ms', value: (r) => fixed(0)(r.median) },
    { title: 'min ms', value: (r) => fixed(0)(r.min) },
    { title: 'x node -e 0', value: (r) => fixed(2)(r.median / medians[0]) },
    { title: 'cpu ms (mean)', value: (r) => fixed(0)(r.cpu) },
  ],
  commands.map((c, j) => ({ name: c.name, median: medians[j], min: Math.min(...samples[j].map((x) => x.ms)), cpu: cpuMean(samples[j]) })),
);
if (process.env.BENCH_STRICT && medians[1] / medians[0] > 2.5) {
  console.log('session list is over 2.5 x node -e 0');
  process.exitCode = 1;
}
