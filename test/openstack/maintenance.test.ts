// Against a real OpenStack (the OS_* variables; ../shared/tools/openstack-box.sh gives one):
// whole sessions through the built CLI, checked against what Nova itself reports.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RealClock } from '../../src/engine/clock.js';
import type { SessionDocument } from '../../src/engine/session-view.js';
import type { InfraInstance } from '../../src/infra/driver.js';
import { resolveCredentials } from '../../src/infra/openstack/credentials.js';
import { OpenStackDriver } from '../../src/infra/openstack/driver.js';
import { JsonHttp } from '../../src/infra/openstack/http.js';
import { KeystoneSession } from '../../src/infra/openstack/keystone.js';
import { NovaClient } from '../../src/infra/openstack/nova.js';

const BIN = join(__dirname, '..', '..', 'bin', 'maintctl.js');
const clock = new RealClock();

if (!process.env.OS_AUTH_URL && !process.env.OS_CLOUD) {
  throw new Error('no OpenStack to test against: set the OS_* variables (eval "$(../shared/tools/openstack-box.sh env)") or OS_CLOUD');
}

const driver = new OpenStackDriver({ cloud: null, clock });
const nova = new NovaClient(new KeystoneSession(resolveCredentials(null), new JsonHttp(), clock));

interface Migration {
  id: number;
  instance_uuid: string;
  source_compute: string;
  dest_compute: string;
  status: string;
  migration_type: string;
  created_at: string;
}

async function migrationsSince(since: number): Promise<Migration[]> {
  const iso = new Date(since - 2000).toISOString().slice(0, 19);
  const { migrations } = await nova.call<{ migrations: Migration[] }>('GET', `/os-migrations?changes-since=${iso}`);
  return migrations.filter((m) => Date.parse(`${m.created_at}Z`) >= since - 2000);
}

function maintctl(dir: string, args: string[]) {
  const r = spawnSync(process.execPath, [BIN, '--state-dir', dir, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const agents: ChildProcess[] = [];
function agent(dir: string, project: string, action: string): Promise<void> {
  const child = spawn(process.execPath, [BIN, '--state-dir', dir, 'project', 'agent', project, '--all', '--action', action], { env: process.env });
  agents.push(child);
  // It has subscribed its project once it prints its first line.
  return new Promise((resolve) => child.stdout!.once('data', () => resolve()));
}

afterEach(() => {
  for (const a of agents.splice(0)) a.kill('SIGTERM');
});

const moves = (doc: SessionDocument) =>
  doc.events.filter((e) => e.event_type === 'maintctl.operation' && e.payload.status === 'done' && ['migrate', 'live_migrate'].includes(String(e.payload.kind)));

/** The most hosts that were between maintenance.host IN_MAINTENANCE and MAINTENANCE_COMPLETE at one moment. */
function peakInMaintenance(doc: SessionDocument): number {
  const inside = new Set<string>();
  let peak = 0;
  for (const e of doc.events) {
    if (e.event_type !== 'maintenance.host') continue;
    const host = String(e.payload.host);
    if (e.payload.state === 'IN_MAINTENANCE') {
      expect(inside.has(host), `${host} entered maintenance twice`).toBe(false);
      inside.add(host);
    } else if (e.payload.state === 'MAINTENANCE_COMPLETE') {
      expect(inside.delete(host), `${host} completed maintenance it had not entered`).toBe(true);
    }
    peak = Math.max(peak, inside.size);
  }
  expect(inside.size, 'hosts left in maintenance').toBe(0);
  return peak;
}

/**
 * A session over the computes ended as it should, in the cloud as Nova reports it: every compute
 * maintained, every server still there (same id) and ACTIVE, computes enabled again, and Nova's
 * own migration records one for one the moves maintctl reports, of both kinds.
 */
async function expectWholeSession(doc: SessionDocument, before: readonly InfraInstance[]): Promise<void> {
  expect(doc.state).toBe('MAINTENANCE_DONE');
  expect(doc.hosts.filter((h) => h.type === 'compute').every((h) => h.maintained)).toBe(true);

  const after = await driver.listInstances();
  expect(after.map((i) => i.id).sort()).toEqual(before.map((i) => i.id).sort()); // none deleted or re-created
  expect(after.every((i) => i.status === 'ACTIVE')).toBe(true);
  const hosts = await driver.listHosts();
  expect(hosts.filter((h) => h.type === 'compute').every((h) => h.enabled)).toBe(true);

  // Nova's own migration records match the moves maintctl reports, one for one.
  const recorded = (await migrationsSince(Date.parse(doc.created_at))).filter((m) => ['confirmed', 'completed'].includes(m.status));
  const reported = moves(doc).map((e) => `${String(e.payload.target)} ${String(e.payload.kind)}`).sort();
  const novaSays = recorded.map((m) => `${m.instance_uuid} ${m.migration_type === 'live-migration' ? 'live_migrate' : 'migrate'}`).sort();
  expect(novaSays).toEqual(reported);
  const kinds = new Set(moves(doc).map((e) => e.payload.kind));
  expect([...kinds].sort()).toEqual(['live_migrate', 'migrate']);
}

let projects: string[] = [];

/** Leaves the cloud as a session expects to find it, whatever an interrupted earlier run left. */
async function tidyCloud(): Promise<void> {
  for (const host of await driver.listHosts()) {
    if (host.type === 'compute' && !host.enabled && host.disabledReason === 'maintenance') await driver.enableHost(host.name);
  }
  for (const server of await driver.listInstances()) {
    if (server.status === 'VERIFY_RESIZE') await nova.call('POST', `/servers/${server.id}/action`, { confirmResize: null });
    if (server.status === 'ERROR') await nova.call('POST', `/servers/${server.id}/action`, { 'os-resetState': { state: 'active' } });
  }
}

beforeAll(async () => {
  await tidyCloud();
  projects = [...new Set((await driver.listInstances()).map((i) => i.projectId))].sort();
  expect(projects.length, 'the cloud needs servers in two projects (openstack-box.sh seed)').toBeGreaterThanOrEqual(2);
});

describe('maintctl against a real Nova', () => {
  it('maintains every compute with two projects answering MIGRATE and LIVE_MIGRATE, as Nova records it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'maintctl-os-'));
    const before = await driver.listInstances();
    await agent(dir, projects[0]!, 'MIGRATE');
    await agent(dir, projects[1]!, 'LIVE_MIGRATE');
    const started = clock.now();
    const r = maintctl(dir, ['-o', 'json', 'session', 'create', '--cloud', 'openstack', '--wait', '--timeout', '10m']);
    const wall = (clock.now() - started) / 1000;
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as SessionDocument;
    console.log(`full session against the real cloud: ${wall.toFixed(1)} s wall, ${doc.hosts.length} hosts, ${moves(doc).length} moves`);
    await expectWholeSession(doc, before);
  });

  it('maintains two computes at once with --max-parallel 2, never more, as Nova records it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'maintctl-os-'));
    const all = await driver.listHosts();
    const computes = all.filter((h) => h.type === 'compute').map((h) => h.name).sort();
    expect(computes.length, 'this test needs 4 computes (openstack-box.sh has OSBOX_COMPUTES=4)').toBeGreaterThanOrEqual(4);
    // The four computes (named only when the cloud has more) and the controllers, as in the full session.
    const scope = computes.length > 4 ? ['--hosts', [...computes.slice(0, 4), ...all.filter((h) => h.type === 'controller').map((h) => h.name)].join(',')] : [];
    const before = await driver.listInstances();
    await agent(dir, projects[0]!, 'MIGRATE');
    await agent(dir, projects[1]!, 'LIVE_MIGRATE');
    const started = clock.now();
    const r = maintctl(dir, ['-o', 'json', 'session', 'create', '--cloud', 'openstack', ...scope, '--max-parallel', '2', '--wait', '--timeout', '10m']);
    const wall = (clock.now() - started) / 1000;
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as SessionDocument;
    const peak = peakInMaintenance(doc);
    console.log(`session with --max-parallel 2 against the real cloud: ${wall.toFixed(1)} s wall, ${doc.hosts.length} hosts, ${moves(doc).length} moves, ${doc.waves} waves, at most ${peak} hosts in maintenance at once`);
    expect(doc.hosts.filter((h) => h.type === 'compute').length).toBe(4);
    await expectWholeSession(doc, before);
    expect(peak).toBe(2);
  });

  it('leaves a compute that was disabled before the session disabled, and reports it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'maintctl-os-'));
    const computes = (await driver.listHosts()).filter((h) => h.type === 'compute');
    const off = computes.at(-1)!.name;
    await driver.disableHost(off, 'broken fan');
    try {
      await agent(dir, projects[0]!, 'MIGRATE');
      await agent(dir, projects[1]!, 'MIGRATE');
      const r = maintctl(dir, ['-o', 'json', 'session', 'create', '--cloud', 'openstack', '--wait', '--timeout', '10m']);
      expect(r.code, r.stderr).toBe(0);
      const doc = JSON.parse(r.stdout) as SessionDocument;
      expect(doc.hosts.find((h) => h.name === off)).toMatchObject({ disabled_before: true, disabled: true, maintained: true });
      expect(doc.events.some((e) => e.event_type === 'maintctl.host.disabled_before' && e.payload.host === off)).toBe(true);
      const now = await driver.listHosts();
      expect(now.find((h) => h.name === off)).toMatchObject({ enabled: false, disabledReason: 'broken fan' });
      expect(now.filter((h) => h.type === 'compute' && h.name !== off).every((h) => h.enabled)).toBe(true);
    } finally {
      await driver.enableHost(off);
    }
  });

  it('fails the session naming a server in ERROR, with Nova\'s fault', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'maintctl-os-'));
    const victim = (await driver.listInstances())[0]!;
    await nova.call('POST', `/servers/${victim.id}/action`, { 'os-resetState': { state: 'error' } });
    try {
      await agent(dir, projects[0]!, 'MIGRATE');
      await agent(dir, projects[1]!, 'MIGRATE');
      const r = maintctl(dir, ['session', 'create', '--cloud', 'openstack', '--wait', '--timeout', '5m']);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain(`instance in ERROR: ${victim.name} (${victim.id}) on ${victim.host}`);
      // Nothing was left disabled by the failed session.
      expect((await driver.listHosts()).filter((h) => h.type === 'compute').every((h) => h.enabled)).toBe(true);
    } finally {
      await nova.call('POST', `/servers/${victim.id}/action`, { 'os-resetState': { state: 'active' } });
    }
  });

  it('finishes without a second migration of a server when the engine is killed during its migration', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'maintctl-os-'));
    await agent(dir, projects[0]!, 'MIGRATE');
    await agent(dir, projects[1]!, 'MIGRATE');
    const created = maintctl(dir, ['session', 'create', '--cloud', 'openstack']);
    expect(created.code, created.stderr).toBe(0);
    const id = created.stdout.trim();
    // Wait (at the CLI's own pace, ~0.2 s a call) until a migration has been requested.
    let inFlight: string | null = null;
    for (let i = 0; i < 600 && !inFlight; i++) {
      const doc = JSON.parse(maintctl(dir, ['-o', 'json', 'session', 'show', id]).stdout) as SessionDocument;
      const started = doc.events.filter((e) => e.event_type === 'maintctl.operation' && e.payload.kind === 'migrate' && e.payload.status === 'started');
      const done = new Set(doc.events.filter((e) => e.event_type === 'maintctl.operation' && e.payload.status !== 'started').map((e) => e.payload.operation_id));
      const open = started.find((e) => !done.has(e.payload.operation_id));
      if (open) inFlight = String(open.payload.target);
    }
    expect(inFlight, 'no migration was seen in flight').not.toBeNull();
    const pid = Number(readFileSync(join(dir, 'engine.lock'), 'utf8'));
    process.kill(pid, 'SIGKILL');
    // Following the session starts a new engine for it, which re-observes the migration.
    const r = maintctl(dir, ['-o', 'json', 'session', 'show', id, '--watch']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as SessionDocument;
    expect(doc.state).toBe('MAINTENANCE_DONE');
    const ofVictim = (await migrationsSince(Date.parse(doc.created_at))).filter((m) => m.instance_uuid === inFlight);
    const reportedForVictim = moves(doc).filter((e) => e.payload.target === inFlight);
    expect(ofVictim.length).toBe(reportedForVictim.length);
    expect(ofVictim.every((m) => ['confirmed', 'completed'].includes(m.status))).toBe(true);
    expect((await driver.listInstances()).every((i) => i.status === 'ACTIVE')).toBe(true);
  });
});
