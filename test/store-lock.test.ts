// The engine survives its store: another process holds the store's write lock for 7 s in the
// middle of a session (longer than SQLite's 5 s busy wait). The engine keeps running, retries,
// and the session ends MAINTENANCE_DONE with every invariant intact. This test runs on the real
// clock, because the lock is held by another process for real time.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RealClock } from '../src/engine/clock.js';
import { Engine } from '../src/engine/engine.js';
import { importCloud, parseCloudText } from '../src/infra/sim/cloud-file.js';
import { SimCloud } from '../src/infra/sim/sim-cloud.js';
import { Store } from '../src/store/store.js';
import { brokenInvariants, expectationsOf } from './invariants.js';

const BIN = join(__dirname, '..', 'bin', 'maintctl.js');

const CLOUD = `
hosts: [{name: compute-0, vcpus: 4}, {name: compute-1, vcpus: 4}, {name: compute-2, vcpus: 4}, {name: compute-3, vcpus: 4}]
instances:
  - {name: a-0, project: proj-a, host: compute-0, vcpus: 2}
  - {name: a-1, project: proj-a, host: compute-1, vcpus: 2}
  - {name: a-2, project: proj-a, host: compute-2, vcpus: 2}
projects: [{id: proj-a, auto_reply: ack, action: MIGRATE, reply_delay_s: 0.2}]
timing: {migrate_s: 1, live_migrate_s: 1, host_maintenance_s: 1}
`;

/** Runs a child process to its end; resolves with its exit code and output. */
function run(args: string[], onLine: (line: string) => void = () => undefined): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args);
    let output = '';
    const take = (chunk: Buffer) => {
      output += chunk.toString();
      for (const line of chunk.toString().split('\n')) if (line) onLine(line);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, output }));
  });
}

/** Another process that takes the store's write lock, holds it for `ms`, and says when it had it. */
const LOCKER = `
const Database = require(${JSON.stringify(require.resolve('better-sqlite3'))});
const db = new Database(process.argv[1]);
db.pragma('busy_timeout = 10000');
db.exec('BEGIN EXCLUSIVE');
console.log('locked ' + Date.now());
setTimeout(() => { db.exec('COMMIT'); console.log('released ' + Date.now()); db.close(); }, Number(process.argv[2]));
`;

describe('a store locked by another process', () => {
  const dir = mkdtempSync(join(tmpdir(), 'maintctl-lock-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('for 7 s mid-session: the engine keeps running and the session ends MAINTENANCE_DONE', async () => {
    const path = join(dir, 'maintctl.db');
    const store = Store.open(path);
    const clock = new RealClock();
    const cloudId = importCloud(store, parseCloudText(CLOUD, 'lock cloud'), 'lock', clock.now());
    const expected = expectationsOf(SimCloud.open(store, clock, cloudId));
    const session = await new Engine({ store, clock }).createSession({}, { kind: 'sim', cloudId });
    store.close();

    let locker: Promise<{ code: number | null; output: string }> | null = null;
    const engine = run([BIN, '--state-dir', dir, 'engine'], (line) => {
      // Once the first host is in maintenance, the session is well under way: lock the store.
      if (!locker && / IN_MAINTENANCE/.test(line)) locker = run(['-e', LOCKER, path, '7000']);
    });
    const ran = await engine;
    expect(locker, `the session never got under way:\n${ran.output}`).not.toBeNull();
    const lock = await locker!;
    expect(ran.code, ran.output).toBe(0);
    const lockedAt = Number(/locked (\d+)/.exec(lock.output)?.[1]);
    const releasedAt = Number(/released (\d+)/.exec(lock.output)?.[1]);
    expect(releasedAt - lockedAt).toBeGreaterThanOrEqual(7000);

    const after = Store.open(path);
    const done = after.getSession(session.id);
    expect(done.state).toBe('MAINTENANCE_DONE');
    // The lock fell in the middle of the session: it went on after the store was free again.
    expect(done.updatedAt).toBeGreaterThan(releasedAt);
    expect(brokenInvariants(after, SimCloud.open(after, new RealClock(), cloudId), session.id, expected)).toEqual([]);
    expect(after.events(session.id).filter((e) => e.eventType === 'maintctl.engine_error')).toEqual([]);
    after.close();
  });
});
