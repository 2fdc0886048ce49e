// maintctl demo and maintctl engine, in this process (main() with a buffer IO): the demo runs its own
// simulated cloud in memory whatever the --state-dir or --endpoint, so it runs once, not per mode.
// The built CLI runs once, for what only a process shows: its exit code.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, cliEnv, tempDir, writeIn } from './support/cli.js';
import { runInProcess } from './support/cli-world.js';

const dir = tempDir('maintctl-cli-');
const maintctl = (...args: string[]) => runInProcess(['--state-dir', dir, ...args]);

describe('maintctl demo', () => {
  it('runs a whole session to MAINTENANCE_DONE and exits 0', async () => {
    const r = await maintctl('demo');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/MAINTENANCE -> PREPARE_MAINTENANCE/);
    expect(r.stdout).toMatch(/MAINTENANCE_COMPLETE -> MAINTENANCE_DONE \(100%\)/);
    expect(r.stdout).toMatch(/^ {2}compute-5 +compute +MAINTAINED/m);
    expect(r.stderr).toBe('');
  });

  it('prints only the final session document with -o json', async () => {
    const r = await maintctl('-o', 'json', 'demo');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { state: string; percent_done: number; hosts: Array<{ maintained: boolean }> };
    expect(doc.state).toBe('MAINTENANCE_DONE');
    expect(doc.percent_done).toBe(100);
    expect(doc.hosts.every((h) => h.maintained)).toBe(true);
  });

  it('exits 3 with the cause when the session fails', async () => {
    const cloud = writeIn(dir, 'nack.yaml', 'hosts: [{name: c0, vcpus: 2}]\ninstances: [{name: x, project: p, host: c0}]\nprojects: [{id: p, auto_reply: nack}]\n');
    const r = await maintctl('demo', '--cloud', cloud);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe('maintctl: session ended MAINTENANCE_FAILED: project p rejected MAINTENANCE (NACK_MAINTENANCE)\n');
  });

  it('exits 2 with a one-line error for a missing or wrong cloud file', async () => {
    const missing = await maintctl('demo', '--cloud', join(dir, 'nope.yaml'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(`maintctl: cloud file ${join(dir, 'nope.yaml')} does not exist\n`);
    const bad = writeIn(dir, 'bad.yaml', 'hosts: [{name: c0, vcpus: 2}]\ninstances: [{name: x, project: p, host: c9}]\n');
    const wrong = await maintctl('demo', '--cloud', bad);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toBe(`maintctl: invalid cloud file ${bad}: instances[0].host: no host named "c9"\n`);
  });

  it('exits 2 on a bad flag value or an unknown command', async () => {
    expect(await maintctl('demo', '--speed', 'fast')).toMatchObject({ code: 2, stderr: expect.stringMatching(/invalid --speed "fast"/) });
    expect((await maintctl('frobnicate')).code).toBe(2);
  });

  // A process: what main() returns must become the exit code the shell sees.
  it('the built CLI exits 2 on a bad flag value', () => {
    const r = spawnSync(process.execPath, [BIN, '--state-dir', dir, 'demo', '--speed', 'fast'], { encoding: 'utf8', env: cliEnv() });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^maintctl: invalid --speed "fast"/);
  });
});

describe('maintctl engine', () => {
  it('exits at once when the state directory has no unfinished session', async () => {
    const r = await maintctl('engine');
    expect(r.code).toBe(0);
  });
});
