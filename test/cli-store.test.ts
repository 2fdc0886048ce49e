// A store you can trust: commands that only read never create a state directory or a store, and
// a file that is not a maintctl store is an error naming it, never "No sessions.". The state
// directory's store is the embedded engine's: these run in this process (main() with a buffer IO),
// embedded only.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { maintctlIn, tempDir, writeIn } from './support/cli.js';
import { runInProcess } from './support/cli-world.js';

const maintctlHere = (dir: string, args: string[]) => runInProcess(['--state-dir', dir, ...args]);

const READERS = [
  ['session', 'list'],
  ['session', 'show', 'abc'],
  ['session', 'events', 'abc'],
  ['session', 'delete', 'abc'],
  ['session', 'update', 'abc'],
  ['project', 'show', 'abc', 'proj-a'],
  ['project', 'subscriptions'],
];

describe('a state directory without a store', () => {
  it.each(READERS.map((args) => [args.join(' '), args]))('%s says "no maintctl store at DIR" (exit 5) and creates nothing', async (_name, args) => {
    const dir = join(tempDir(), 'mistyped');
    const r = await maintctlHere(dir, args as string[]);
    expect(r.stderr).toBe(`maintctl: no maintctl store at ${dir}: give the --state-dir the sessions were created in (session create makes a store)\n`);
    expect(r.code).toBe(5);
    expect(r.stdout).toBe('');
    expect(existsSync(dir)).toBe(false);
  });

  it('maintctl engine has nothing to run there: it says so, exits 0 and creates nothing', async () => {
    const dir = join(tempDir(), 'fresh');
    expect(await maintctlHere(dir, ['engine'])).toEqual({ code: 0, stdout: `no maintctl store at ${dir}: no session to run\n`, stderr: '' });
    expect(existsSync(dir)).toBe(false);
  });

  it('--state-dir "" is refused (exit 2) before anything is read', async () => {
    const r = await runInProcess(['--state-dir', '', 'session', 'list']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('maintctl: empty value for --state-dir: give a value, or leave it out for the default\n');
  });

  it('a path under /proc fails at once with one line, for a reader and for session create', async () => {
    const cloud = writeIn(tempDir(), 'cloud.yaml', 'hosts: [{name: compute-0, vcpus: 2}]\n');
    const read = await maintctlHere('/proc/nonexistent/x', ['session', 'list']);
    expect(read.code).toBe(5);
    expect(read.stderr).toMatch(/^maintctl: no maintctl store at \/proc\/nonexistent\/x: /);
    // Node's recursive mkdir never returns here: the built CLI in a child process, so that a hang
    // (a loop inside mkdirSync, which would stop this process too) ends this test by its time-out.
    const write = await maintctlIn('/proc/nonexistent/x', ['session', 'create', '--cloud', cloud]);
    expect(write.code).toBe(1);
    expect(write.stderr).toBe(
      "maintctl: cannot open the store in /proc/nonexistent/x: ENOENT: no such file or directory, mkdir '/proc/nonexistent' (choose another with --state-dir or MAINTCTL_STATE_DIR)\n",
    );
  }, 20_000);
});

describe('a maintctl.db that is not a store', () => {
  const cases: Array<[string, (path: string) => void, string]> = [
    ['zero-length', (path) => writeFileSync(path, ''), 'is empty, not a maintctl store'],
    ['not a database', (path) => writeFileSync(path, 'hello\n'), 'is not a maintctl store: it is not a database'],
    [
      "another program's database",
      (path) => {
        const db = new Database(path);
        db.exec('CREATE TABLE notes (text TEXT)');
        db.close();
      },
      "is not a maintctl store (a database without maintctl's tables)",
    ],
  ];

  it.each(cases)('%s: session list (and, but for an empty file, session create) fail naming the file, and leave it as it was', async (name, make, says) => {
    const dir = tempDir();
    const path = join(dir, 'maintctl.db');
    make(path);
    const before = readFileSync(path);
    const cloud = writeIn(dir, 'cloud.yaml', 'hosts: [{name: compute-0, vcpus: 2}]\n');
    // An empty file may be a store another process is creating this instant: only readers refuse it.
    const commands = name === 'zero-length' ? [['session', 'list']] : [['session', 'list'], ['session', 'create', '--cloud', cloud]];
    for (const args of commands) {
      const r = await maintctlHere(dir, args);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(`maintctl: cannot open the store in ${dir}: ${path} ${says} (choose another with --state-dir or MAINTCTL_STATE_DIR)\n`);
      expect(r.code).toBe(1);
    }
    expect(readFileSync(path)).toEqual(before);
  });
});
