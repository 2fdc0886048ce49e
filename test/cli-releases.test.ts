// Releases, clusters, an update that fails on the second host and its rollback, through the CLI
// (main() in this process with a buffer IO), embedded over a state directory and remote against
// maintctl serve: the two transcripts must be equal (ids and times aside), exit codes included.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufferIO } from '../src/cli/io.js';
import { main } from '../src/cli/main.js';
import { startServer, tempDir, type RunningServer } from './support/serve.js';

const CLOUD = `
hosts: [{name: compute-0, vcpus: 4}, {name: compute-1, vcpus: 4}, {name: compute-2, vcpus: 4}]
timing: {migrate_s: 0, live_migrate_s: 0, host_maintenance_s: 0}
`;
const ADMIN = 'releases-admin-token-0123456789';
/** Fails on compute-1 when updating to 2.0. */
const UPGRADE = '#!/bin/sh\necho "$MAINTCTL_HOST $MAINTCTL_RELEASE_FROM -> $MAINTCTL_RELEASE_TO"\n[ "$MAINTCTL_HOST" = compute-1 ] && [ "$MAINTCTL_RELEASE_TO" = 2.0 ] && exit 5\nexit 0\n';

const dir = tempDir('maintctl-releases-');
const cloudFile = join(dir, 'cloud.yaml');
writeFileSync(cloudFile, CLOUD);
let server: RunningServer;

/** A state directory whose plugins/ has the upgrade plug-in. */
function stateDir(name: string): string {
  const path = join(dir, name);
  mkdirSync(join(path, 'plugins'), { recursive: true });
  writeFileSync(join(path, 'plugins', 'upgrade'), UPGRADE);
  chmodSync(join(path, 'plugins', 'upgrade'), 0o755);
  return path;
}

beforeAll(async () => {
  const tokens = join(dir, 'tokens.json');
  writeFileSync(tokens, JSON.stringify({ tokens: [{ token: ADMIN, role: 'admin' }] }));
  server = await startServer({ stateDir: stateDir('server'), cloud: null, clouds: { lab: cloudFile }, tokens });
});
afterAll(() => server?.stop());

interface Mode {
  flags: string[];
  cloud: string;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const TIMES = /\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?Z?/g;
const normalise = (text: string) => text.replace(UUID, '<id>').replace(/\b[0-9a-f]{8}\b/g, '<short>').replace(TIMES, '<time>');

async function scenario(mode: Mode): Promise<string[]> {
  const lines: string[] = [];
  const step = async (...args: string[]) => {
    const io = bufferIO({ NO_COLOR: '1' });
    const code = await main([...mode.flags, ...args], io);
    lines.push(normalise(`$ ${args.join(' ')} -> ${code}\n${io.stdout()}${io.stderr()}`.replaceAll(mode.cloud, 'CLOUD')));
    return { code, out: io.stdout() };
  };
  await step('release', 'add', 'r1', '--version', '1.0');
  await step('release', 'add', 'r2', '--version', '2.0', '--can-update-from', '1.0', '--repo-source', 'http://mirror.example/r2', '--metadata', 'nova=17');
  await step('release', 'add', 'r2', '--version', '3.0');
  await step('release', 'add', 'r3', '--version', '3.0', '--compatible-with', '~2');
  await step('cluster', 'create', 'prod', '--release', 'r1', '--hosts', 'compute-0,compute-1,compute-2', '--cloud', mode.cloud);
  await step('cluster', 'create', 'qa', '--release', 'nope', '--hosts', 'compute-9');
  await step('cluster', 'create', 'qa', '--release', 'r1', '--hosts', 'compute-2');
  await step('session', 'create', '--cluster', 'prod', '--release', 'r1');
  await step('session', 'create', '--cluster', 'prod', '--release', 'r9');
  await step('session', 'create', '--cluster', 'nope', '--release', 'r2');
  await step('release', 'delete', 'r1');
  await step('-o', 'json', 'cluster', 'list');
  const created = await step('-o', 'json', 'session', 'create', '--cluster', 'prod', '--release', 'r2', '--action', 'compute:upgrade');
  const id = String((JSON.parse(created.out) as { session_id: string }).session_id);
  // Followed to its end (it fails on compute-1); then the cluster and the rollback.
  await step('-o', 'json', 'notifications', '--cluster', 'prod', '--follow');
  await step('-o', 'json', 'cluster', 'show', 'prod');
  const back = await step('-o', 'json', 'session', 'rollback', id.slice(0, 8));
  expect(back.code).toBe(0);
  await step('notifications', '--cluster', 'prod', '--topic', 'done', '--follow');
  await step('cluster', 'show', 'prod');
  await step('notifications', '--cluster', 'prod');
  await step('session', 'rollback', id);
  await step('session', 'update', id);
  await step('notifications', '--topic', 'news');
  await step('release', 'show', 'r2');
  return lines;
}

describe('releases through the CLI, embedded and remote', () => {
  it('gives the same output and exit codes either way, and what it says is right', async () => {
    const a = await scenario({ flags: ['--state-dir', stateDir('embedded')], cloud: cloudFile });
    const b = await scenario({ flags: ['--state-dir', tempDir('maintctl-unused-'), '--endpoint', server.url, '--token', ADMIN], cloud: 'lab' });
    expect(b).toEqual(a);
    const at = (prefix: string) => a.find((l) => l.startsWith(`$ ${prefix}`))!;
    expect(at('release add r2 --version 3.0')).toMatch(/-> 6\nmaintctl: release r2 exists already/);
    expect(at('release add r3')).toMatch(/-> 2\nmaintctl: invalid --compatible-with "~2": "~2" is not a comparison/);
    expect(at('cluster create qa --release nope')).toMatch(/-> 5\nmaintctl: no release nope/);
    expect(at('cluster create qa --release r1')).toMatch(/-> 6\nmaintctl: hosts already in a cluster: compute-2 \(prod\)/);
    expect(at('session create --cluster prod --release r1')).toBe('$ session create --cluster prod --release r1 -> 2\nmaintctl: cluster prod already runs r1 (1.0): updates: r2 (2.0)\n');
    expect(at('session create --cluster prod --release r9')).toMatch(/-> 5\nmaintctl: no release r9/);
    expect(at('session create --cluster nope')).toMatch(/-> 5\nmaintctl: no cluster nope/);
    expect(at('release delete r1')).toMatch(/-> 6\nmaintctl: release r1 is in use by cluster prod/);
    // Refusals changed nothing: one cluster, operational on r1, before the update.
    expect(JSON.parse(at('-o json cluster list').split('\n').slice(1).join('\n'))).toMatchObject([{ name: 'prod', status: 'operational', current_release: 'r1' }]);
    const followed = at('-o json notifications --cluster prod --follow').split('\n').slice(1, -1).map((l) => JSON.parse(l) as { topic: string; host: string | null });
    expect(followed.map((n) => `${n.topic} ${n.host ?? '-'}`)).toEqual(['warning -', 'done compute-0', 'error -']);
    expect(JSON.parse(at('-o json cluster show').split('\n').slice(1).join('\n'))).toMatchObject({
      status: 'update_error',
      current_release: 'r1',
      pending_release: 'r2',
      hosts: [{ host: 'compute-0', release: 'r2' }, { host: 'compute-1', release: 'r1' }, { host: 'compute-2', release: 'r1' }],
    });
    expect(JSON.parse(at('-o json session rollback').split('\n').slice(1).join('\n'))).toEqual({ session_id: '<id>', rollback_of: '<id>', hosts: ['compute-0'] });
    expect(at('cluster show prod')).toMatch(/prod +operational +r1 +- +3/);
    expect(at('cluster show prod')).toMatch(/latest operation: rollback/);
    expect(at('notifications --cluster prod -> 0')).toContain('done     prod     compute-0  host compute-0 of cluster prod runs r1 (rollback from r2)');
    expect(at('session rollback')).toMatch(/-> 6\nmaintctl: session <id> was rolled back already, by session <id>/);
    expect(at('session update')).toMatch(/-> 6\nmaintctl: session <id> was rolled back by session <id>: it cannot be continued/);
    expect(at('notifications --topic news')).toMatch(/-> 2\nmaintctl: invalid --topic "news"/);
  }, 120_000);
});
