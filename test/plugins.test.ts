// Action plug-ins as a user writes them: real shell scripts in a plug-in directory, run by the
// engine on the sim cloud (virtual clock) for each host and for the session. What they saw
// (environment, stdin, working directory) and when they ran is read from the files they write.
// A script that must still be running when something happens blocks on a file the test creates.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../src/domain/errors.js';
import { pluginRuns } from '../src/store/plugin-runs.js';
import { harness, runSession, type Harness } from './helpers.js';
import { alive, blockUntil, pluginBench, untilExists, type PluginBench } from './support/plugins.js';

/** A controller and `computes` empty computes: nothing to move, so hosts go straight to maintenance. */
const cloud = (computes: number) => `
hosts:
  - {name: ctl-0, type: controller}
${Array.from({ length: computes }, (_, i) => `  - {name: compute-${i}, vcpus: 4}`).join('\n')}
timing: {migrate_s: 0, live_migrate_s: 0, host_maintenance_s: 60}
`;

const LOG_SELF = 'log "$MAINTCTL_PLUGIN_TYPE $MAINTCTL_PLUGIN ${MAINTCTL_HOST:--}"';

describe('action plug-ins', () => {
  let bench: PluginBench;
  let h: Harness | null = null;
  const open = (computes: number) => (h = harness(cloud(computes), { plugins: bench.registry }));
  afterEach(async () => {
    await h?.engine.stop();
    h?.store.close();
    h = null;
    bench.remove();
  });
  const fresh = () => (bench = pluginBench());

  it('run pre first, then on each host host then its own type, post last; by explicit order, else by name', async () => {
    fresh();
    for (const name of ['z_pre', 'a_pre', 'host_b', 'host_a', 'comp_1', 'comp_2', 'ctl_only', 'post_x']) bench.write(name, LOG_SELF);
    const h = open(2);
    const { session } = await runSession(h, {
      actions: [
        { plugin: 'post_x', type: 'post' },
        { plugin: 'comp_1', type: 'compute', order: 2 },
        { plugin: 'host_b', type: 'host' },
        { plugin: 'z_pre', type: 'pre' },
        { plugin: 'comp_2', type: 'compute', order: 1 },
        { plugin: 'ctl_only', type: 'controller' },
        { plugin: 'host_a', type: 'host' },
        { plugin: 'a_pre', type: 'pre' },
      ],
    });
    expect(session.state).toBe('MAINTENANCE_DONE');
    const log = bench.log();
    const on = (host: string) => log.filter((l) => l.endsWith(` ${host}`));
    expect(log.slice(0, 2)).toEqual(['pre a_pre -', 'pre z_pre -']);
    expect(log.at(-1)).toBe('post post_x -');
    // Controllers first (one at a time), then computes; hosts one at a time (--max-parallel 1).
    expect(on('ctl-0')).toEqual(['host host_a ctl-0', 'host host_b ctl-0', 'controller ctl_only ctl-0']);
    expect(log.slice(2, 5)).toEqual(on('ctl-0'));
    for (const c of ['compute-0', 'compute-1']) {
      expect(on(c)).toEqual([`host host_a ${c}`, `host host_b ${c}`, `compute comp_2 ${c}`, `compute comp_1 ${c}`]);
    }
    expect(log).toHaveLength(2 + 3 + 8 + 1);
  });

  it('give each run its host, type, metadata, session and work directory, in the environment and as JSON on stdin', async () => {
    fresh();
    bench.write(
      'probe',
      `where="\${MAINTCTL_HOST:-session}-$MAINTCTL_PLUGIN_TYPE"
env | grep '^MAINTCTL_' | sort > "$OUT/env-$where"
cat > "$OUT/stdin-$where"
pwd > "$OUT/cwd-$where"`,
    );
    process.env.MAINTCTL_LEAKED = 'from the engine';
    try {
      const h = open(2);
      const { session } = await runSession(h, {
        metadata: { openstack_release: 'Queens' },
        actions: [
          { plugin: 'probe', type: 'pre', metadata: { step: 'first' } },
          { plugin: 'probe', type: 'compute', metadata: { upgrade: 'SW1' } },
        ],
      });
      expect(session.state).toBe('MAINTENANCE_DONE');
      const workDir = bench.registry.workDir(session.id);
      const env = (where: string) => readFileSync(join(bench.out, `env-${where}`), 'utf8').trim().split('\n');
      expect(env('compute-1-compute')).toEqual([
        'MAINTCTL_HOST=compute-1',
        'MAINTCTL_HOST_TYPE=compute',
        'MAINTCTL_METADATA={"upgrade":"SW1"}',
        'MAINTCTL_PLUGIN=probe',
        'MAINTCTL_PLUGIN_TYPE=compute',
        `MAINTCTL_SESSION_ID=${session.id}`,
        'MAINTCTL_SESSION_METADATA={"openstack_release":"Queens"}',
        `MAINTCTL_WORK_DIR=${workDir}`,
      ]);
      // pre and post run for the session: no host.
      expect(env('session-pre')).toEqual([
        'MAINTCTL_METADATA={"step":"first"}',
        'MAINTCTL_PLUGIN=probe',
        'MAINTCTL_PLUGIN_TYPE=pre',
        `MAINTCTL_SESSION_ID=${session.id}`,
        'MAINTCTL_SESSION_METADATA={"openstack_release":"Queens"}',
        `MAINTCTL_WORK_DIR=${workDir}`,
      ]);
      expect(JSON.parse(readFileSync(join(bench.out, 'stdin-compute-0-compute'), 'utf8'))).toEqual({
        session_id: session.id,
        host: 'compute-0',
        host_type: 'compute',
        plugin: 'probe',
        plugin_type: 'compute',
        metadata: { upgrade: 'SW1' },
        session_metadata: { openstack_release: 'Queens' },
        work_dir: workDir,
      });
      expect(JSON.parse(readFileSync(join(bench.out, 'stdin-session-pre'), 'utf8'))).toMatchObject({ host: null, host_type: null, plugin_type: 'pre' });
      expect(readFileSync(join(bench.out, 'cwd-compute-0-compute'), 'utf8').trim()).toBe(workDir);
    } finally {
      delete process.env.MAINTCTL_LEAKED;
    }
  });

  it('fail the session with the plug-in, host, exit status and last output; continuing re-runs only that plug-in and what follows, on that host', async () => {
    fresh();
    bench.write('step_a', LOG_SELF);
    bench.write(
      'step_b',
      `${LOG_SELF}
if [ "$MAINTCTL_HOST" = compute-1 ] && [ ! -e "$OUT/fixed" ]; then
  echo "unpacking the upgrade"; echo "disk full on $MAINTCTL_HOST" >&2; exit 3
fi`,
    );
    bench.write('step_c', LOG_SELF);
    bench.write('pre_p', LOG_SELF);
    bench.write('post_p', LOG_SELF);
    const h = open(3);
    const actions = ['step_a', 'step_b', 'step_c'].map((plugin) => ({ plugin, type: 'compute' }));
    const { session } = await runSession(h, { actions: [...actions, { plugin: 'pre_p', type: 'pre' }, { plugin: 'post_p', type: 'post' }] });
    expect(session.state).toBe('MAINTENANCE_FAILED');
    expect(session.failure).toBe('plug-in step_b (compute) on compute-1 failed: exit status 3; last output: unpacking the upgrade | disk full on compute-1');
    const failed = h.store.hosts(session.id).find((x) => x.name === 'compute-1')!;
    expect(failed.state).toBe('FAILED');
    expect(failed.cause).toContain('exit status 3');
    expect(h.store.hosts(session.id).find((x) => x.name === 'compute-2')!.state).toBe('PENDING'); // untouched
    const before = bench.log();

    writeFileSync(join(bench.out, 'fixed'), '');
    await h.engine.continueSession(session.id);
    const end = await h.engine.waitForEnd(session.id);
    expect(end.state).toBe('MAINTENANCE_DONE');
    const rerun = bench.log().slice(before.length);
    expect(rerun).toEqual([
      'compute step_b compute-1',
      'compute step_c compute-1',
      'compute step_a compute-2',
      'compute step_b compute-2',
      'compute step_c compute-2',
      'post post_p -',
    ]);
    expect(bench.log().filter((l) => l === 'pre pre_p -')).toHaveLength(1);
    const runs = pluginRuns(h.store, session.id, { host: 'compute-1', plugin: 'step_b' });
    expect(runs.map((r) => [r.attempt, r.status, r.exitStatus])).toEqual([
      [0, 'failed', 3],
      [1, 'done', 0],
    ]);
  });

  it('never run again what finished on other hosts in flight when one failed', async () => {
    fresh();
    bench.write(
      'upgrade',
      `${LOG_SELF}; touch "$OUT/started-$MAINTCTL_HOST"
if [ "$MAINTCTL_HOST" = compute-1 ] && [ ! -e "$OUT/fixed" ]; then
  ${blockUntil('started-compute-0')}; ${blockUntil('started-compute-2')}; exit 1
fi
[ "$MAINTCTL_HOST" = compute-1 ] || ${blockUntil('go')}`,
    );
    bench.write('after', LOG_SELF);
    const h = open(3);
    const created = await h.engine.createSession(
      { max_parallel_hosts: 3, actions: [{ plugin: 'upgrade', type: 'compute' }, { plugin: 'after', type: 'compute' }] },
      { kind: 'sim', cloudId: h.cloudId },
    );
    const failed = await h.engine.waitForEnd(created.id);
    expect(failed.failure).toMatch(/^plug-in upgrade \(compute\) on compute-1 failed: exit status 1/);
    // compute-1 failed once the other two were upgrading: their runs end, and are recorded, after the session failed.
    expect(bench.log().filter((l) => l.startsWith('compute upgrade')).sort()).toEqual(['compute upgrade compute-0', 'compute upgrade compute-1', 'compute upgrade compute-2']);
    writeFileSync(join(bench.out, 'go'), '');
    await h.engine.whenIdle();
    writeFileSync(join(bench.out, 'fixed'), '');
    await h.engine.continueSession(created.id);
    expect((await h.engine.waitForEnd(created.id)).state).toBe('MAINTENANCE_DONE');
    const count = (line: string) => bench.log().filter((l) => l === line).length;
    expect(count('compute upgrade compute-0')).toBe(1);
    expect(count('compute upgrade compute-2')).toBe(1);
    expect(count('compute upgrade compute-1')).toBe(2);
    for (const c of ['compute-0', 'compute-1', 'compute-2']) expect(count(`compute after ${c}`)).toBe(1);
  });

  it('kill a plug-in past its timeout with its whole process group, and fail the session saying so', async () => {
    fresh();
    bench.write('hang', `sleep 600 & echo $! > "$OUT/child.pid"\necho "waiting for the package mirror"\nwait`);
    const h = open(1);
    const { session } = await runSession(h, { hosts: ['compute-0'], actions: [{ plugin: 'hang', type: 'host', metadata: { timeout: 0.5 } }] });
    expect(session.state).toBe('MAINTENANCE_FAILED');
    expect(session.failure).toBe(
      'plug-in hang (host) on compute-0 failed: ran past its timeout of 0.5 s and was killed with its process group; last output: waiting for the package mirror',
    );
    const child = Number(readFileSync(join(bench.out, 'child.pid'), 'utf8'));
    await untilExists(() => !alive(child));
    expect(alive(child)).toBe(false);
  });

  it('keep stdout and stderr of each run, the last MiB of it', async () => {
    fresh();
    bench.write('chatty', `echo "out on $MAINTCTL_HOST"; echo "err on $MAINTCTL_HOST" >&2`);
    bench.write('flood', `head -c 1500000 /dev/zero | tr '\\0' 'x'; echo; echo "the end"`);
    const h = open(2);
    const { session } = await runSession(h, {
      hosts: ['compute-0', 'compute-1'],
      actions: [
        { plugin: 'chatty', type: 'compute' },
        { plugin: 'flood', type: 'pre' },
      ],
    });
    expect(session.state).toBe('MAINTENANCE_DONE');
    const [c1] = pluginRuns(h.store, session.id, { host: 'compute-1' });
    expect(c1).toMatchObject({ plugin: 'chatty', type: 'compute', status: 'done', exitStatus: 0 });
    expect(c1!.output.split('\n').sort()).toEqual(['', 'err on compute-1', 'out on compute-1']);
    const [flood] = pluginRuns(h.store, session.id, { plugin: 'flood' });
    expect(flood!.host).toBeNull();
    expect(flood!.output).toHaveLength(1024 * 1024);
    expect(flood!.outputChars).toBe(1500000 + 1 + 'the end\n'.length);
    expect(flood!.output.endsWith('x\nthe end\n')).toBe(true);
  });

  it('run the host plug-ins of the hosts in flight at the same time, never more than --max-parallel', async () => {
    fresh();
    bench.write(
      'upgrade',
      `log "start $MAINTCTL_HOST"; touch "$OUT/started-$MAINTCTL_HOST"
${blockUntil('release')}
log "end $MAINTCTL_HOST"`,
    );
    const h = open(4);
    const created = await h.engine.createSession(
      { hosts: ['compute-0', 'compute-1', 'compute-2', 'compute-3'], max_parallel_hosts: 3, actions: [{ plugin: 'upgrade', type: 'host' }] },
      { kind: 'sim', cloudId: h.cloudId },
    );
    // Three run at once: each waits for the release the test gives only once all three started.
    const started = () => ['compute-0', 'compute-1', 'compute-2', 'compute-3'].filter((c) => existsSync(join(bench.out, `started-${c}`)));
    await untilExists(() => started().length >= 3);
    expect(started()).toHaveLength(3);
    writeFileSync(join(bench.out, 'release'), '');
    expect((await h.engine.waitForEnd(created.id)).state).toBe('MAINTENANCE_DONE');
    let running = 0;
    let most = 0;
    for (const line of bench.log()) {
      running += line.startsWith('start') ? 1 : -1;
      most = Math.max(most, running);
    }
    expect(most).toBe(3);
    expect(bench.log().filter((l) => l.startsWith('end'))).toHaveLength(4);
  });

  it('built-ins: shell runs metadata.command with the contract, wait sleeps on the session clock', async () => {
    fresh();
    const h = open(1);
    const { session } = await runSession(h, {
      hosts: ['compute-0'],
      actions: [
        { plugin: 'shell', type: 'host', metadata: { command: `echo "shell on $MAINTCTL_HOST ($MAINTCTL_PLUGIN)" >> "${bench.out}/shell"` } },
        { plugin: 'wait', type: 'pre', metadata: { seconds: 7200 } },
        { plugin: 'dummy', type: 'post' },
      ],
    });
    expect(session.state).toBe('MAINTENANCE_DONE');
    expect(readFileSync(join(bench.out, 'shell'), 'utf8')).toBe('shell on compute-0 (shell)\n');
    // Two hours of the virtual clock passed in the pre plug-in, instantly.
    expect(session.updatedAt - session.createdAt).toBeGreaterThanOrEqual(7200_000);
    expect(pluginRuns(h.store, session.id, { plugin: 'dummy' })[0]!.output).toBe('dummy post plug-in: nothing to do\n');
  });

  it('refuse at create a plug-in found nowhere, naming the directories searched, and a built-in missing its metadata', async () => {
    fresh();
    bench.write('known', 'exit 0');
    writeFileSync(join(bench.dir, 'not-executable'), '#!/bin/sh\n');
    const h = open(1);
    const create = (actions: unknown[]) => h.engine.createSession({ actions }, { kind: 'sim', cloudId: h.cloudId }, { pluginDirs: ['/opt/site-plugins'] });
    const refused = create([{ plugin: 'known', type: 'host' }, { plugin: 'os_upgrade', type: 'host' }]);
    await expect(refused).rejects.toThrow(InvalidInputError);
    await expect(refused).rejects.toThrow(
      `unknown action plug-in "os_upgrade": it is not a built-in (dummy, shell, ssh, wait) and no executable of that name is in /opt/site-plugins, ${bench.dir}: add an executable there or give its directory with --plugin-dir DIR`,
    );
    await expect(create([{ plugin: 'not-executable', type: 'pre' }])).rejects.toThrow(/unknown action plug-in "not-executable"/);
    await expect(create([{ plugin: 'shell', type: 'host' }])).rejects.toThrow('action plug-in shell (host) needs metadata command');
    await expect(create([{ plugin: 'known', type: 'host', metadata: { timeout: 'soon' } }])).rejects.toThrow('metadata timeout must be a positive number of seconds');
    expect(h.store.listSessions()).toEqual([]);
  });
});
