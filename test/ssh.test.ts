// The ssh built-in against a real sshd on 127.0.0.1 (test/support/sshd.ts): the command runs on
// the "host" with the contract's variables and the JSON on stdin, through the system ssh client
// with key authentication and a known_hosts file; an unknown host key fails, never prompts.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshArgs, type PluginCall } from '../src/engine/plugins.js';
import { pluginRuns } from '../src/store/plugin-runs.js';
import { harness, runSession } from './helpers.js';
import { pluginBench } from './support/plugins.js';
import { startSshd, type Sshd } from './support/sshd.js';

const CLOUD = `hosts: [{name: compute-0, vcpus: 4}]
timing: {migrate_s: 0, live_migrate_s: 0, host_maintenance_s: 0}
`;

describe('the ssh plug-in', () => {
  let sshd: Sshd;
  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(() => sshd?.stop());

  const metadata = (extra: Record<string, unknown>) => ({
    user: sshd.user,
    port: sshd.port,
    identity_file: sshd.identityFile,
    known_hosts: sshd.knownHosts,
    address: '127.0.0.1',
    ...extra,
  });

  it('runs metadata.command on the host over ssh, with the contract in its environment and on stdin', async () => {
    const bench = pluginBench();
    const h = harness(CLOUD, { plugins: bench.registry });
    try {
      const wrote = join(bench.out, 'remote');
      const command = `echo "upgraded $MAINTCTL_HOST ($MAINTCTL_PLUGIN_TYPE) $MAINTCTL_METADATA" > ${wrote}; cat > ${wrote}.stdin; echo "done over ssh"`;
      const { session } = await runSession(h, { actions: [{ plugin: 'ssh', type: 'compute', metadata: metadata({ command }) }] });
      expect(session.state).toBe('MAINTENANCE_DONE');
      const text = readFileSync(wrote, 'utf8');
      expect(text).toMatch(/^upgraded compute-0 \(compute\) \{.*"address":"127\.0\.0\.1".*\}\n$/);
      expect(JSON.parse(readFileSync(`${wrote}.stdin`, 'utf8'))).toMatchObject({ session_id: session.id, host: 'compute-0', plugin: 'ssh', plugin_type: 'compute' });
      expect(pluginRuns(h.store, session.id)[0]).toMatchObject({ status: 'done', exitStatus: 0, output: 'done over ssh\n' });
    } finally {
      await h.engine.stop();
      h.store.close();
      bench.remove();
    }
  });

  it('fails, without prompting, when the host key is not the one in known_hosts', async () => {
    const bench = pluginBench();
    const h = harness(CLOUD, { plugins: bench.registry });
    try {
      const strangers = join(bench.out, 'known_hosts');
      writeFileSync(strangers, '');
      const { session } = await runSession(h, { actions: [{ plugin: 'ssh', type: 'host', metadata: metadata({ command: 'true', known_hosts: strangers }) }] });
      expect(session.state).toBe('MAINTENANCE_FAILED');
      expect(session.failure).toMatch(/^plug-in ssh \(host\) on compute-0 failed: exit status 255; last output: .*Host key verification failed\./);
    } finally {
      await h.engine.stop();
      h.store.close();
      bench.remove();
    }
  });

  it('builds the ssh command line from metadata: BatchMode, port, key, known_hosts, user, the address template', () => {
    const call = { plugin: 'ssh', type: 'host', host: 'compute-7', hostType: 'compute', sessionId: 's', metadata: {}, sessionMetadata: {}, workDir: '/w' } as unknown as PluginCall;
    const args = sshArgs({ ...call, metadata: { command: "echo 'hi'", address: '{host}.mgmt.example', port: '2222', user: 'ops', identity_file: '/k', known_hosts: '/kh' } });
    expect(args.slice(0, -1)).toEqual([
      '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=30', '-p', '2222', '-i', '/k', '-o', 'IdentitiesOnly=yes',
      '-o', 'UserKnownHostsFile=/kh', '-o', 'StrictHostKeyChecking=yes', '-l', 'ops', '--', 'compute-7.mgmt.example',
    ]);
    expect(args.at(-1)).toMatch(/^env MAINTCTL_SESSION_ID='s' .* MAINTCTL_HOST='compute-7' MAINTCTL_HOST_TYPE='compute' sh -c 'echo '\\''hi'\\'''$/);
  });
});
