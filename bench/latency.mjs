// Reply latency on the real clock: from a project's reply to the next thing the engine records
// for that session (the wake-up a reply must cause at once, never a poll).
//
// Row 1, in process: the engine runs here; the script is the VNFM of both projects. On each
// question it answers every pending question of the session, and the clock starts just before the
// last answer (the one the engine waits for) and stops at the next event the engine commits for
// that session (the reply's own record not counted).
// Row 2, across processes: the engine runs here on a store file, with watchMs 100; the answers
// are written by a child process through its own connection, as `maintctl project reply` would.
// Both processes stamp times as performance.timeOrigin + performance.now().
//
// Cloud per session: BENCH_LATENCY_COMPUTES computes (default 50) with one instance of each
// project, one spare compute, zero-length moves and host maintenance (only the engine's own
// time is left); sessions follow one another until BENCH_SAMPLES samples (default 200) are taken.
//
// Run: npm run build && node bench/latency.mjs
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { envInt, fixed, machineLine, percentile, printTable } from './format.mjs';

const PROJECTS = ['proj-a', 'proj-b'];
const stamp = () => performance.timeOrigin + performance.now();

// ---- the child: answers what the parent tells it to, through its own store connection

if (process.argv[2] === '--replier') {
  const { openRecorder } = await import('./support.mjs');
  const recorder = openRecorder(process.argv[3]);
  process.on('message', async (m) => {
    if (m.close) {
      await recorder.close();
      process.disconnect();
      return;
    }
    try {
      let t0 = null;
      for (const [i, a] of m.answers.entries()) {
        if (i === m.answers.length - 1) t0 = stamp();
        await recorder.reply(m.sessionId, a.projectId, a.body);
      }
      process.send({ batch: m.batch, t0 });
    } catch (err) {
      process.send({ batch: m.batch, error: err.message });
    }
  });
  process.send({ ready: true });
} else {
  await main();
}

// ---- the parent

async function main() {
  const support = await import('./support.mjs');
  const samples = envInt('BENCH_SAMPLES', 200);
  const computes = envInt('BENCH_LATENCY_COMPUTES', 50);
  console.log(`latency: reply -> next engine event, real clock; ${computes} computes per session, ${samples} samples per row`);
  console.log(`${machineLine(support.distDir)}\n`);

  const rows = [];
  const failures = [];
  rows.push(await measure(support, { computes, samples, crossProcess: false, failures }));
  rows.push(await measure(support, { computes, samples, crossProcess: true, failures }));

  printTable(
    [
      { title: 'reply from', value: (r) => r.label, left: true },
      { title: 'samples', value: (r) => r.n },
      { title: 'median ms', value: (r) => fixed(2)(r.median) },
      { title: 'p90 ms', value: (r) => fixed(2)(r.p90) },
      { title: 'p99 ms', value: (r) => fixed(2)(r.p99) },
      { title: 'max ms', value: (r) => fixed(2)(r.max) },
      { title: 'wall s', value: (r) => fixed(1)(r.wallS) },
      { title: 'goal', value: (r) => r.goal, left: true },
    ],
    rows,
  );
  for (const f of failures) console.error(f);
  if (failures.length) process.exitCode = 1;
}

function cloudFor(support, computes) {
  return support.uniformCloud({
    computes,
    spare: 1,
    vcpus: 4,
    perCompute: PROJECTS.length,
    projects: PROJECTS.map((id) => ({ id, autoReply: 'none' })),
    timing: { migrate_s: 0, live_migrate_s: 0, host_maintenance_s: 0 },
  });
}

async function measure(support, { computes, samples, crossProcess, failures }) {
  const dir = crossProcess ? mkdtempSync(join(tmpdir(), 'maintctl-latency-')) : null;
  const storePath = dir ? join(dir, 'store.db') : ':memory:';
  const bench = support.openBench({ clock: 'real', storePath, ...(crossProcess ? { watchMs: support.WATCH_MS } : {}) });
  const replier = crossProcess ? await startReplier(storePath) : null;
  const taken = [];
  const started = performance.now();
  try {
    for (const p of PROJECTS) support.subscribeProject(bench, p);
    for (let n = 0; taken.length < samples; n++) {
      const driver = support.addCloud(bench, cloudFor(support, computes), `latency-${n}`);
      const created = await support.createSession(bench, {}, driver);
      if (created.refused) throw new Error(`the session was refused: ${created.refused}`);
      const sessionId = created.session.id;
      const stop = answerQuestions(support, bench, sessionId, replier, taken, failures);
      const end = await support.waitForEnd(bench, sessionId);
      stop();
      if (end.state !== support.DONE) {
        failures.push(`latency session ${n} (${crossProcess ? 'across processes' : 'in process'}) ended ${end.state}: ${end.failure}`);
        break;
      }
    }
  } finally {
    await replier?.close();
    await support.closeBench(bench);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
  const sorted = taken.slice(0, samples).sort((a, b) => a - b);
  return {
    label: crossProcess ? `another process (watch ${support.WATCH_MS} ms)` : 'this process',
    n: sorted.length,
    median: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.at(-1),
    wallS: (performance.now() - started) / 1000,
    goal: 'median < 20 ms',
  };
}

/**
 * Answers each question of the session as it is asked; records one sample per batch of answers.
 * Returns a function that stops listening.
 */
function answerQuestions(support, bench, sessionId, replier, taken, failures) {
  let batch = 0;
  // The batch whose last answer was sent and whose effect is awaited: t0 (reply sent) and t1
  // (next engine event) may come in either order across processes.
  let open = null;
  let scheduled = false;
  // Answer after the engine's own step has returned, as a VNFM elsewhere would.
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(answer);
  };
  const complete = () => {
    if (open && open.t0 !== null && open.t1 !== null) {
      taken.push(open.t1 - open.t0);
      open = null;
      schedule(); // a question asked while this batch was open is still to be answered
    }
  };

  let stopped = false;
  const answer = async () => {
    scheduled = false;
    if (stopped || open) return; // the previous batch's effect is still awaited
    open = { batch: ++batch, sent: false, t0: null, t1: null };
    const questions = await support.pendingQuestions(bench, sessionId);
    if (!questions.length) {
      open = null;
      return;
    }
    const answers = questions.map((q) => ({ projectId: q.projectId, body: support.ackBody(q, 'MIGRATE') }));
    try {
      if (replier) {
        const written = replier.send({ batch: open.batch, sessionId, answers });
        open.sent = true;
        open.t0 = await written;
      } else {
        for (const [i, a] of answers.entries()) {
          if (i === answers.length - 1) {
            open.sent = true;
            open.t0 = stamp();
          }
          await support.reply(bench, sessionId, a.projectId, a.body);
        }
      }
      complete();
    } catch (err) {
      failures.push(`reply refused: ${err.message}`);
      open = null;
    }
  };

  const unlisten = support.onEvent(bench, (event) => {
    if (event.sessionId !== sessionId) return;
    if (open?.sent && open.t1 === null && !support.isReplyRecord(event)) {
      open.t1 = stamp();
      complete();
    }
    if (support.isQuestion(event)) schedule();
  });
  return () => {
    stopped = true;
    unlisten();
  };
}

/** A child process that writes replies through its own store connection. */
function startReplier(storePath) {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ['--replier', storePath], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const waiting = new Map();
    child.on('error', reject);
    child.on('exit', (code) => {
      for (const w of waiting.values()) w.reject(new Error(`the replying process exited (${code})`));
    });
    child.on('message', (m) => {
      if (m.ready) {
        resolve({
          send: (message) =>
            new Promise((res, rej) => {
              waiting.set(message.batch, { resolve: res, reject: rej });
              child.send(message);
            }),
          close: () =>
            new Promise((res) => {
              child.once('exit', res);
              child.send({ close: true });
            }),
        });
        return;
      }
      const w = waiting.get(m.batch);
      waiting.delete(m.batch);
      if (m.error) w?.reject(new Error(m.error));
      else w?.resolve(m.t0);
    });
  });
}
