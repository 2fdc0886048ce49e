// Cold start of the CLI: `maintctl session list` on a state directory holding BENCH_SESSIONS
// sessions (default 1,000), and `maintctl --help`, each beside `node -e 0` measured in the same
// run, alternating, so the ratio says what maintctl adds to starting Node itself.
// Goal: session list within 2.5 x node -e 0.
//
// Run: npm run build && node bench/cold-start.mjs   (BENCH_RUNS: runs of each command, default 15)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { envInt, fixed, machineLine, percentile, printTable } from './format.mjs';
import { distDir, fillStore } from './support.mjs';

// The entry point beside the build measured (BENCH_DIST=DIR/dist measures DIR/bin/maintctl.js).
const BIN = join(distDir, '..', 'bin', 'maintctl.js');
const sessions = envInt('BENCH_SESSIONS', 1000);
const runs = envInt('BENCH_RUNS', 15);
const dir = mkdtempSync(join(tmpdir(), 'maintctl-cold-'));
await fillStore(join(dir, 'maintctl.db'), sessions);

const env = { ...process.env, NO_COLOR: '1', MAINTCTL_STATE_DIR: dir };
const commands = [
  { name: 'node -e 0', args: ['-e', '0'] },
  { name: `maintctl session list (${sessions} sessions)`, args: [BIN, 'session', 'list'], check: (out) => out.split('\n').length > sessions },
  { name: 'maintctl --help', args: [BIN, '--help'] },
];

/** Wall time of one run in ms; the output is checked so a failing command is not timed as fast. */
function once(c) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, c.args, { env, encoding: 'utf8', maxBuffer: 64 << 20 });
  const ms = performance.now() - t0;
  if (r.status !== 0 || (c.check && !c.check(r.stdout))) throw new Error(`${c.name} failed (exit ${r.status}): ${r.stderr}`);
  return ms;
}

const samples = commands.map(() => []);
once(commands[1]); // warm the file cache: a cold start of the program, not of the disk
for (let i = 0; i < runs; i++) commands.forEach((c, j) => samples[j].push(once(c)));
rmSync(dir, { recursive: true, force: true });

const medians = samples.map((s) => percentile([...s].sort((a, b) => a - b), 50));
console.log(`cold start, median of ${runs} runs each, alternating; ${machineLine(distDir)}`);
printTable(
  [
    { title: 'command', value: (r) => r.name, left: true },
    { title: 'median ms', value: (r) => fixed(0)(r.median) },
    { title: 'min ms', value: (r) => fixed(0)(r.min) },
    { title: 'x node -e 0', value: (r) => fixed(2)(r.median / medians[0]) },
  ],
  commands.map((c, j) => ({ name: c.name, median: medians[j], min: Math.min(...samples[j]) })),
);
if (process.env.BENCH_STRICT && medians[1] / medians[0] > 2.5) {
  console.log('session list is over 2.5 x node -e 0');
  process.exitCode = 1;
}
