// Plug-ins through the CLI, as an admin uses them: --plugin-dir and the state directory's
// plugins/, a refused unknown plug-in (exit 2), `session logs` (all, per host, per plug-in, JSON,
// --follow while a plug-in runs) and the last lines in `session show`. Commands run in this
// process (main() with a buffer IO, test/support/cli-world.ts), and so does the engine; the
// plug-ins are real executables it runs. Sessions run on zero-time sim clouds.
//
// Embedded only: plug-ins are the state directory's and the session's --plugin-dir, and their
// output is kept there (a server's client refuses `session logs`).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliWorld, type CliWorld } from './support/cli-world.js';
import { blockUntil, pluginBench } from './support/plugins.js';

const worlds: CliWorld[] = [];
const benches: Array<ReturnType<typeof pluginBench>> = [];
afterAll(async () => {
  await Promise.all(worlds.map((w) => w.close()));
  benches.forEach((b) => b.remove());
});

const CLOUD = `hosts: [{name: compute-0, vcpus: 4}, {name: compute-1, vcpus: 4}]
timing: {migrate_s: 0, live_migrate_s: 0, host_maintenance_s: 0}
`;

/** A world of its own (its dir is the state directory), its cloud file and a plug-in bench. */
async function setUp() {
  const w = await cliWorld('embedded');
  worlds.push(w);
  const bench = pluginBench();
  benches.push(bench);
  return { w, dir: w.dir, cloud: w.cloud('cloud.yaml', CLOUD), bench };
}

const WAIT = ['--wait', '--timeout', '30s'];
const idOf = (stdout: string) => /[0-9a-f-]{36}/.exec(stdout)![0];

describe.concurrent('plug-ins from the CLI', () => {
  it('runs plug-ins from --plugin-dir and the state directory, and shows their output with session logs', async () => {
    const { w, dir, cloud, bench } = await setUp();
    bench.write('os_upgrade', 'echo "upgrading $MAINTCTL_HOST to $(echo "$MAINTCTL_METADATA")"; echo "a warning" >&2');
    mkdirSync(join(dir, 'plugins'));
    writeFileSync(join(dir, 'plugins', 'finalize'), '#!/bin/sh\necho "all hosts done"\n', { mode: 0o755 });
    const created = await w.run([
      'session', 'create', '--cloud', cloud, '--plugin-dir', bench.dir,
      '--action', 'compute:os_upgrade:upgrade=SW1', '--action', 'post:finalize', ...WAIT,
    ]);
    expect(created.code, created.stderr).toBe(0);
    const id = idOf(created.stdout);

    const all = await w.run(['session', 'logs', id]);
    expect(all.code).toBe(0);
    expect(all.stdout).toContain(`== compute-0 os_upgrade (compute)  started `);
    expect(all.stdout).toContain('DONE exit 0\nupgrading compute-0 to {"upgrade":"SW1"}\n');
    expect(all.stdout).toContain('a warning\n');
    expect(all.stdout).toMatch(/== session finalize \(post\) .*\nall hosts done\n/);

    const one = await w.run(['session', 'logs', id.slice(0, 8), '--host', 'compute-1']);
    expect(one.stdout).toContain('upgrading compute-1');
    expect(one.stdout).not.toContain('compute-0');
    const json = JSON.parse((await w.run(['-o', 'json', 'session', 'logs', id, '--plugin', 'finalize'])).stdout) as Array<Record<string, unknown>>;
    expect(json).toEqual([
      expect.objectContaining({ host: null, plugin: 'finalize', type: 'post', status: 'done', exit_status: 0, output: 'all hosts done\n', output_truncated: false }),
    ]);
    const show = await w.run(['session', 'show', id]);
    expect(show.stdout).toContain(`Plug-ins  3 done, 0 running, 0 failed (output: maintctl session logs ${id.slice(0, 8)})`);
  });

  it('refuses an unknown plug-in with exit 2, naming the directories searched, and records nothing', async () => {
    const { w, dir, cloud, bench } = await setUp();
    const r = await w.run(['session', 'create', '--cloud', cloud, '--plugin-dir', bench.dir, '--action', 'host:os_upgrade']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `maintctl: unknown action plug-in "os_upgrade": it is not a built-in (dummy, shell, ssh, wait) and no executable of that name is in ${bench.dir}, ${join(dir, 'plugins')}: add an executable there or give its directory with --plugin-dir DIR\n`,
    );
    expect((await w.run(['-o', 'json', 'session', 'list'])).stdout.trim()).toBe('[]');
    const missing = await w.run(['session', 'create', '--cloud', cloud, '--plugin-dir', join(dir, 'nowhere'), '--action', 'host:dummy']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(`maintctl: invalid --plugin-dir "${join(dir, 'nowhere')}": no such directory\n`);
  });

  it('shows a failed plug-in in session show, and follows a running one with session logs --follow', async () => {
    const { w, cloud, bench } = await setUp();
    bench.write('upgrade', `echo "fetching packages on $MAINTCTL_HOST"\n${blockUntil('release')}\necho "no space left on device" >&2\nexit 100`);
    const created = await w.run(['session', 'create', '--cloud', cloud, '--hosts', 'compute-0', '--plugin-dir', bench.dir, '--action', 'host:upgrade']);
    const id = idOf(created.stdout);
    const following = w.start(['session', 'logs', id, '--follow']);
    await following.waitFor(/^fetching packages on compute-0$/);
    const running = await w.run(['session', 'show', id]);
    expect(running.stdout).toContain('Plug-ins  0 done, 1 running, 0 failed');
    expect(running.stdout).toContain('  compute-0  upgrade (host)  RUNNING\n    | fetching packages on compute-0');
    writeFileSync(join(bench.out, 'release'), '');
    const followed = { code: await following.ended(), stdout: `${following.lines.join('\n')}\n` };
    expect(followed.code).toBe(0);
    expect(followed.stdout).toMatch(/^== compute-0 upgrade \(host\)  started \S+\nfetching packages on compute-0\nno space left on device\n-- compute-0 upgrade \(host\) FAILED exit 100: exit status 100\n$/);
    const show = await w.run(['session', 'show', id]);
    expect(show.stdout).toContain('Failure   plug-in upgrade (host) on compute-0 failed: exit status 100; last output: fetching packages on compute-0 | no space left on device');
    expect(show.stdout).toContain('  compute-0  upgrade (host)  FAILED exit 100\n    | fetching packages on compute-0\n    | no space left on device');
  });
});
