// Crash safety: a real engine process is stopped dead (SIGKILL) at 20 different points of one
// session and restarted each time. The session must still end MAINTENANCE_DONE, with every
// compute maintained exactly once and every instance present exactly once.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../src/engine/clock.js';
import { Engine } from '../src/engine/engine.js';
import { importCloud, parseCloudText } from '../src/infra/sim/cloud-file.js';
import { SimCloud } from '../src/infra/sim/sim-cloud.js';
import { Store } from '../src/store/store.js';
import { addRelease, createCluster, showCluster } from '../src/engine/release-view.js';
import { SqliteRepository } from '../src/store/sqlite-repository.js';
import { findOperation } from '../src/store/releases.js';
import { T0 } from './helpers.js';
import { brokenInvariants, expectationsOf, mostInMaintenance } from './invariants.js';
import { alive, blockUntil, pluginBench, untilExists } from './support/plugins.js';

const BIN = join(__dirname, '..', 'bin', 'maintctl.js');

// Full at first (SCALE_IN), then PREPARE; three kinds of answers; plug-ins of every type.
const CLOUD = `
hosts:
  - {name: ctl-0, type: controller}
  - {name: compute-0, vcpus: 4}
  - {name: compute-1, vcpus: 4}
  - {name: compute-2, vcpus: 4}
  - {name: compute-3, vcpus: 4}
  - {name: compute-4, vcpus: 4}
  - {name: compute-5, vcpus: 4}
instances:
  - {name: a-0, project: proj-a, host: compute-0, vcpus: 2}
  - {name: a-1, project: proj-a, host: compute-1, vcpus: 2}
  - {name: a-2, project: proj-a, host: compute-2, vcpus: 2}
  - {name: a-3, project: proj-a, host: compute-3, vcpus: 2}
  - {name: b-0, project: proj-b, host: compute-0, vcpus: 2}
  - {name: b-1, project: proj-b, host: compute-1, vcpus: 2}
  - {name: c-0, project: proj-c, host: compute-2, vcpus: 2}
  - {name: c-1, project: proj-c, host: compute-3, vcpus: 2}
  - {name: a-4, project: proj-a, host: compute-4, vcpus: 2}
  - {name: b-2, project: proj-b, host: compute-4, vcpus: 2}
  - {name: c-2, project: proj-c, host: compute-5, vcpus: 2}
  - {name: b-3, project: proj-b, host: compute-5, vcpus: 2}
projects:
  - {id: proj-a, auto_reply: ack, action: MIGRATE, scale_in: 2}
  - {id: proj-b, auto_reply: ack, action: LIVE_MIGRATE}
  - {id: proj-c, auto_reply: ack, action: OWN_ACTION}
`;

interface RunResult {
  halted: string | null;
  code: number | null;
  output: string;
}

/**
 * Runs the engine until it halts at checkpoint `haltAt` (then kills it) or exits by itself; or,
 * with `killWhen`, kills it once that resolves.
 */
function runEngine(stateDir: string, haltAt: number | null, killWhen?: Promise<unknown>): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, MAINTCTL_CRASH_TEST_HALT_AT: haltAt === null ? '' : String(haltAt) };
    const child = spawn(process.execPath, [BIN, '--state-dir', stateDir, 'engine', '--virtual-clock'], { env });
    let output = '';
    let halted: string | null = null;
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /HALTED at checkpoint \d+: (.+)/.exec(output);
      if (match && !halted) {
        halted = match[1]!;
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    void killWhen?.then(() => {
      halted = 'killed by the test';
      child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ halted, code, output }));
  });
}

// Eight computes with room to spare: four hosts in flight at once.
const WIDE_CLOUD = `
hosts:
${[0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((c) => `  - {name: compute-${c}, vcpus: 8}`).join('\n')}
instances:
${[0, 1, 2, 3, 4, 5, 6, 7].flatMap((c) => [`  - {name: w-${c}, project: proj-a, host: compute-${c}, vcpus: 2}`, `  - {name: v-${c}, project: proj-${c % 2 ? 'b' : 'c'}, host: compute-${c}, vcpus: 2}`]).join('\n')}
projects:
  - {id: proj-a, auto_reply: ack, action: MIGRATE}
  - {id: proj-b, auto_reply: ack, action: LIVE_MIGRATE}
  - {id: proj-c, auto_reply: ack, action: OWN_ACTION}
`;

const PLUGINS = [
  { plugin: 'dummy', type: 'pre' },
  { plugin: 'dummy', type: 'host' },
  { plugin: 'dummy', type: 'compute' },
  { plugin: 'dummy', type: 'post' },
];

/**
 * Records a session, kills the engine running it 20 times (the nth run halts at checkpoint
 * haltAt(n): every run makes some progress, each at a different point), lets it finish, and reads the store.
 */
async function crashAndResume(dir: string, yaml: string, request: Record<string, unknown>, haltAt: (run: number) => number) {
  const store = Store.open(join(dir, 'maintctl.db'));
  const clock = new VirtualClock(T0);
  const cloudId = importCloud(store, parseCloudText(yaml, 'crash cloud'), 'crash', T0);
  const expected = expectationsOf(SimCloud.open(store, clock, cloudId));
  const engine = new Engine({ store, clock }); // not started: it only records the session
  const session = await engine.createSession({ actions: PLUGINS, ...request }, { kind: 'sim', cloudId });
  store.setMeta('virtual_clock_now', String(T0));
  store.close();

  const points: string[] = [];
  for (let i = 0; points.length < 20; i++) {
    const run = await runEngine(dir, haltAt(i));
    expect(run.halted, `run ${i} ended before it could be killed:\n${run.output}`).not.toBeNull();
    expect(run.code).toBeNull(); // killed by the signal, not exited
    points.push(run.halted!);
  }
  const last = await runEngine(dir, null);
  expect(last.code, last.output).toBe(0);

  const after = Store.open(join(dir, 'maintctl.db'));
  const cloud = SimCloud.open(after, new VirtualClock(Number(after.getMeta('virtual_clock_now'))), cloudId);
  expect(brokenInvariants(after, cloud, session.id, expected)).toEqual([]);
  // Every kind of crash point was hit: mid-operation, mid-question, mid-transition.
  const kinds = new Set(points.map((p) => p.split(':')[0]));
  expect([...kinds].sort()).toEqual(expect.arrayContaining(['ask', 'operation-performed', 'operation-recorded', 'transition']));
  // The cloud moved each instance exactly as often as the engine recorded a finished move of it:
  // no move was requested again after a restart, and nothing ran that failed.
  const count = (targets: string[]) => targets.reduce((m, t) => m.set(t, (m.get(t) ?? 0) + 1), new Map<string, number>());
  const simMoves = count(cloud.operations().filter((op) => op.kind !== 'HOST_MAINTENANCE').map((op) => op.target));
  const ops = after.operations(session.id);
  expect(simMoves).toEqual(count(ops.filter((op) => op.kind === 'migrate' || op.kind === 'live_migrate').map((op) => op.target)));
  expect(ops.filter((op) => op.status !== 'done')).toEqual([]);
  return { after, session, events: after.events(null) };
}

describe('crash safety', () => {
  const dirs: string[] = [];
  const fresh = () => {
    dirs.push(mkdtempSync(join(tmpdir(), 'maintctl-crash-')));
    return dirs.at(-1)!;
  };
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('finishes the session correctly although the engine is killed 20 times', async () => {
    const { after, events } = await crashAndResume(fresh(), CLOUD, {}, (i) => 1 + ((i * 3) % 4)); // 1..4 checkpoints a run
    // The scaled-in instances came back once each.
    const created = events.filter((e) => e.eventType === 'sim.instance.created' && String(e.payload.name).startsWith('a-'));
    expect(created.map((e) => e.payload.name).sort()).toEqual(['a-3', 'a-4']);
    after.close();
  });

  it('does the same with four hosts in flight at once', async () => {
    const { after, session, events } = await crashAndResume(fresh(), WIDE_CLOUD, { max_parallel_hosts: 4 }, (i) => 1 + ((i * 3) % 4));
    // (1..4 checkpoints a run: a plan covers four hosts at once, so a session has fewer of them.)
    expect(mostInMaintenance(events, session.id)).toBe(4);
    after.close();
  });

  it('runs a host plug-in killed with the engine again on that host, and never one that finished', async () => {
    const dir = fresh();
    const bench = pluginBench();
    try {
      bench.write(
        'upgrade',
        `log "start $MAINTCTL_HOST"
if [ "$MAINTCTL_HOST" = compute-1 ] && [ ! -e "$OUT/engine-killed" ]; then
  echo $$ > "$OUT/first-run.pid"; ${blockUntil('never')}
fi
log "end $MAINTCTL_HOST"`,
      );
      bench.write('check', 'log "check ${MAINTCTL_HOST:--}"');
      const store = Store.open(join(dir, 'maintctl.db'));
      const clock = new VirtualClock(T0);
      const cloudId = importCloud(store, parseCloudText(WIDE_CLOUD, 'crash cloud'), 'crash', T0);
      const expected = expectationsOf(SimCloud.open(store, clock, cloudId));
      const engine = new Engine({ store, clock, plugins: bench.registry }); // not started: it only records the session
      const actions = [{ plugin: 'check', type: 'host' }, { plugin: 'upgrade', type: 'compute' }, { plugin: 'check', type: 'post' }];
      // One host at a time: when compute-1's upgrade runs, every earlier run has ended and been recorded.
      const session = await engine.createSession({ actions }, { kind: 'sim', cloudId }, { pluginDirs: [bench.dir] });
      store.setMeta('virtual_clock_now', String(T0));
      store.close();

      // Killed while compute-1's upgrade runs (it blocks until then), restarted, left to finish.
      // (The engine notes the run's pid in the session's work directory: wait for that too.)
      const runs = join(dir, 'work', session.id, 'run');
      const running = untilExists(() => existsSync(join(bench.out, 'first-run.pid')) && existsSync(runs) && readdirSync(runs).length > 0, 120_000);
      const killed = await runEngine(dir, null, running);
      expect(killed.halted, killed.output).toBe('killed by the test');
      writeFileSync(join(bench.out, 'engine-killed'), '');
      const last = await runEngine(dir, null);
      expect(last.code, last.output).toBe(0);

      const log = bench.log();
      const count = (line: string) => log.filter((l) => l === line).length;
      expect(count('start compute-1')).toBe(2);
      expect(count('end compute-1')).toBe(1);
      for (let c = 0; c < 10; c++) {
        if (c === 1) continue;
        expect(count(`start compute-${c}`), `compute-${c}`).toBe(1);
        expect(count(`end compute-${c}`), `compute-${c}`).toBe(1);
        expect(count(`check compute-${c}`), `compute-${c}`).toBe(1);
      }
      expect(count('check -')).toBe(1);
      // The run left behind by the killed engine was stopped before the plug-in ran again.
      expect(alive(Number(readFileSync(join(bench.out, 'first-run.pid'), 'utf8')))).toBe(false);
      const after = Store.open(join(dir, 'maintctl.db'));
      const cloud = SimCloud.open(after, new VirtualClock(Number(after.getMeta('virtual_clock_now'))), cloudId);
      expect(brokenInvariants(after, cloud, session.id, expected)).toEqual([]);
      after.close();
    } finally {
      bench.remove();
    }
  });
  it('finishes an automatic rollback although the engine is killed during it, each host rolled back once', async () => {
    const dir = fresh();
    const bench = pluginBench();
    try {
      // The update fails on the third host; its rollback moves compute-0 and compute-1 back.
      bench.write('upgrade', `log "$MAINTCTL_HOST $MAINTCTL_RELEASE_TO"; [ "$MAINTCTL_HOST" = compute-2 ] && [ "$MAINTCTL_RELEASE_TO" = 2.0 ] && exit 4; exit 0`);
      const hosts = ['compute-0', 'compute-1', 'compute-2', 'compute-3', 'compute-4'];
      const store = Store.open(join(dir, 'maintctl.db'));
      const clock = new VirtualClock(T0);
      const cloudId = importCloud(store, parseCloudText(`hosts:\n${hosts.map((h) => `  - {name: ${h}, vcpus: 4}`).join('\n')}\n`, 'crash cloud'), 'crash', T0);
      await addRelease(new SqliteRepository(store), { name: 'r1', version: '1.0' }, T0);
      await addRelease(new SqliteRepository(store), { name: 'r2', version: '2.0', can_update_from: ['1.0'] }, T0);
      await createCluster(new SqliteRepository(store), { name: 'prod', release: 'r1', hosts }, T0);
      const engine = new Engine({ store, clock, plugins: bench.registry }); // not started: it only records the session
      const request = { cluster: 'prod', release: 'r2', auto_rollback: true, actions: [{ plugin: 'upgrade', type: 'compute' }] };
      const update = await engine.createSession(request, { kind: 'sim', cloudId }, { pluginDirs: [bench.dir] });
      store.setMeta('virtual_clock_now', String(T0));
      store.close();

      // Killed after 1 to 4 checkpoints a run until a run finishes by itself; some kills fall in the rollback.
      let killedInRollback = 0;
      for (let i = 0; ; i++) {
        const run = await runEngine(dir, 1 + ((i * 3) % 4));
        if (run.halted === null) {
          expect(run.code, run.output).toBe(0);
          break;
        }
        expect(i, 'the engine never got to the end').toBeLessThan(200);
        const seen = Store.open(join(dir, 'maintctl.db'));
        const rollback = findOperation(seen, update.id)?.rollbackSession;
        if (rollback && seen.getSession(rollback).state !== 'MAINTENANCE_DONE') killedInRollback++;
        seen.close();
      }
      expect(killedInRollback).toBeGreaterThanOrEqual(3);

      const after = Store.open(join(dir, 'maintctl.db'));
      const rollbackId = findOperation(after, update.id)!.rollbackSession!;
      expect(after.getSession(update.id).state).toBe('MAINTENANCE_FAILED');
      expect(after.getSession(rollbackId).state).toBe('MAINTENANCE_DONE');
      expect(await showCluster(new SqliteRepository(after), 'prod')).toMatchObject({ status: 'operational', current_release: 'r1', pending_release: null });
      expect((await showCluster(new SqliteRepository(after), 'prod')).hosts.map((h) => h.release)).toEqual(['r1', 'r1', 'r1', 'r1', 'r1']);
      // Each moved host completed its rollback once, and was told of once; no other host was touched.
      const events = after.events(null);
      const completed = events.filter((e) => e.sessionId === rollbackId && e.eventType === 'maintenance.host' && e.payload.state === 'MAINTENANCE_COMPLETE');
      expect(completed.map((e) => e.payload.host)).toEqual(['compute-0', 'compute-1']);
      const movedBack = events.filter((e) => e.eventType === 'maintctl.notification' && /runs r1 \(rollback/.test(String(e.payload.message)));
      expect(movedBack.map((e) => e.payload.host)).toEqual(['compute-0', 'compute-1']);
      expect(after.hosts(rollbackId).map((h) => `${h.name} ${h.state}`)).toEqual(['compute-0 MAINTAINED', 'compute-1 MAINTAINED']);
      // A rollback run of the plug-in ended (exit 0) once per moved host; a run killed with the engine was run again.
      const done = (host: string) => after.operations(rollbackId).filter((op) => op.kind === 'plugin' && op.target === host && op.status === 'done').length;
      expect([done('compute-0'), done('compute-1')]).toEqual([1, 1]);
      after.close();
    } finally {
      bench.remove();
    }
  });
});
