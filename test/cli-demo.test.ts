// The built maintctl, run as a user would (a child process, not a terminal).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const BIN = join(__dirname, '..', 'bin', 'maintctl.js');
const dir = mkdtempSync(join(tmpdir(), 'maintctl-cli-'));

function maintctl(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, '--state-dir', dir, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('maintctl demo', () => {
  it('runs a whole session to MAINTENANCE_DONE and exits 0', () => {
    const r = maintctl('demo');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/MAINTENANCE -> PREPARE_MAINTENANCE/);
    expect(r.stdout).toMatch(/MAINTENANCE_COMPLETE -> MAINTENANCE_DONE \(100%\)/);
    expect(r.stdout).toMatch(/^ {2}compute-5 +compute +MAINTAINED/m);
    expect(r.stderr).toBe('');
  });

  it('prints only the final session document with -o json', () => {
    const r = maintctl('-o', 'json', 'demo');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { state: string; percent_done: number; hosts: Array<{ maintained: boolean }> };
    expect(doc.state).toBe('MAINTENANCE_DONE');
    expect(doc.percent_done).toBe(100);
    expect(doc.hosts.every((h) => h.maintained)).toBe(true);
  });

  it('exits 3 with the cause when the session fails', () => {
    const cloud = join(dir, 'nack.yaml');
    writeFileSync(cloud, 'hosts: [{name: c0, vcpus: 2}]\ninstances: [{name: x, project: p, host: c0}]\nprojects: [{id: p, auto_reply: nack}]\n');
    const r = maintctl('demo', '--cloud', cloud);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe('maintctl: session ended MAINTENANCE_FAILED: project p rejected MAINTENANCE (NACK_MAINTENANCE)\n');
  });

  it('exits 2 with a one-line error for a missing or wrong cloud file', () => {
    const missing = maintctl('demo', '--cloud', join(dir, 'nope.yaml'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(`maintctl: cloud file ${join(dir, 'nope.yaml')} does not exist\n`);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'hosts: [{name: c0, vcpus: 2}]\ninstances: [{name: x, project: p, host: c9}]\n');
    const wrong = maintctl('demo', '--cloud', bad);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toBe(`maintctl: invalid cloud file ${bad}: instances[0].host: no host named "c9"\n`);
  });

  it('exits 2 on a bad flag value or an unknown command', () => {
    expect(maintctl('demo', '--speed', 'fast')).toMatchObject({ code: 2, stderr: expect.stringMatching(/invalid --speed "fast"/) });
    expect(maintctl('frobnicate').code).toBe(2);
  });
});

describe('maintctl engine', () => {
  it('exits at once when the state directory has no unfinished session', () => {
    const r = maintctl('engine');
    expect(r.code).toBe(0);
  });
});
