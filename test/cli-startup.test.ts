// Start-up: a command loads the packages it uses and no other (the figures are in bench/cold-start.mjs),
// the engine too: it is started for every session, and the crash tests start it dozens of times.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT, cliEnv, maintctlIn, tempDir, writeIn } from './support/cli.js';

const TRACE = join(ROOT, 'test', 'support', 'load-trace.mjs');

/** The packages `maintctl ...args` imports, in the order it first does. */
function packagesLoaded(args: string[]): string[] {
  const r = spawnSync(process.execPath, ['--import', TRACE, BIN, ...args], { env: cliEnv(), encoding: 'utf8', timeout: 30_000 });
  expect(r.status, r.stderr).toBe(0);
  return loadedIn(r.stderr);
}

/** The packages a trace reports, each once, in the order first reported. */
const loadedIn = (trace: string) => [...new Set([...trace.matchAll(/^loaded: (\S+)$/gm)].map((m) => m[1]!))];

/** What better-sqlite3 itself requires. */
const SQLITE = ['better-sqlite3', 'bindings', 'file-uri-to-path'];

const HEAVY = ['undici', 'ora', 'zod', 'yaml', 'cli-table3', '@inquirer/prompts'];

describe('start-up', () => {
  it('maintctl --help loads commander only', () => {
    expect(packagesLoaded(['--help'])).toEqual(['commander']);
    expect(packagesLoaded(['--version'])).toEqual(['commander']);
  });

  it('session list loads the store and colours, not the engine, the HTTP client, spinners, schemas or YAML', async () => {
    const dir = tempDir();
    const cloud = writeIn(dir, 'cloud.yaml', 'hosts: [{name: compute-0, vcpus: 2}]\ninstances: []\ntiming: {host_maintenance_s: 0}\n');
    const created = await maintctlIn(dir, ['session', 'create', '--cloud', cloud, '--wait', '--timeout', '20s']);
    expect(created.code, created.stderr).toBe(0);
    const loaded = packagesLoaded(['--state-dir', dir, 'session', 'list']);
    expect(loaded).toEqual(expect.arrayContaining(['commander', 'better-sqlite3']));
    expect(loaded.filter((p) => HEAVY.includes(p))).toEqual([]);
  });

  it('the engine (as session create starts it) runs a sim session with commander and better-sqlite3 alone', async () => {
    // The sim's VNFM answers (a reply recorded, an instance moved): the engine never reads input
    // from outside, so it needs no schemas, no YAML, no HTTP client, no OpenStack driver.
    const dir = tempDir();
    const cloud = writeIn(
      dir,
      'cloud.yaml',
      'hosts: [{name: compute-0, vcpus: 2}, {name: compute-1, vcpus: 2}]\ninstances: [{name: a-0, project: proj-a, host: compute-0}]\n' +
        'projects: [{id: proj-a, auto_reply: ack, reply_delay_s: 0}]\ntiming: {host_maintenance_s: 0, migrate_s: 0}\n',
    );
    // The background engine inherits the environment, so it reports what it loads into engine.log.
    const created = await maintctlIn(dir, ['session', 'create', '--cloud', cloud, '--wait', '--timeout', '20s'], cliEnv({ NODE_OPTIONS: `--import ${TRACE}` }));
    expect(created.code, created.stderr).toBe(0);
    const log = readFileSync(join(dir, 'engine.log'), 'utf8');
    expect(log).toMatch(/proj-a ACK_MAINTENANCE/);
    expect(loadedIn(log)).toEqual(['commander', ...SQLITE]);
    // One engine: --wait does not start a second one while the first has yet to take the lock.
    expect(log).not.toMatch(/another engine already runs/);
  });
});
