// maintctl serve: the Fenix REST API, driven the way a VNFM written for Fenix + AODH drives it
// (OPNFV Doctor's sample app manager): alarms in, GET the instance list, PUT the reply.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { payloadFromAodh, type AodhAlarmBody } from '../src/notify/formats.js';

const BIN = join(__dirname, '..', 'bin', 'maintctl.js');
const dir = mkdtempSync(join(tmpdir(), 'maintctl-api-'));
const cloudFile = join(dir, 'cloud.yaml');
writeFileSync(
  cloudFile,
  `
hosts: [{name: ctl-0, type: controller}, {name: compute-0, vcpus: 4}, {name: compute-1, vcpus: 4}, {name: compute-2, vcpus: 4}]
instances:
  - {name: a-0, project: proj-a, host: compute-0, vcpus: 2}
  - {name: a-1, project: proj-a, host: compute-1, vcpus: 2}
  - {name: b-0, project: proj-b, host: compute-2, vcpus: 1}
timing: {migrate_s: 0.05, live_migrate_s: 0.05, host_maintenance_s: 0.05}
`,
);

let serve: ChildProcess;
let api = '';
let vnfm: Server;
const seen: Array<Record<string, unknown>> = [];

async function http(method: 'GET' | 'PUT' | 'POST' | 'DELETE', url: string, body?: unknown) {
  const r = await request(url, { method, body: body === undefined ? undefined : JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  return { status: r.statusCode, body: (await r.body.json()) as Record<string, unknown> };
}

/** The VNFM: decodes the alarm's traits, reads its instances from instance_ids, answers at reply_url. */
function startVnfm(): Promise<number> {
  vnfm = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c)).on('end', async () => {
      res.end('OK');
      const payload = payloadFromAodh(JSON.parse(Buffer.concat(chunks).toString()) as AodhAlarmBody);
      seen.push(payload);
      const state = String(payload.state);
      if (state === 'INSTANCE_ACTION_DONE') return;
      const reply: Record<string, unknown> = { state: `ACK_${state}`, session_id: payload.session_id };
      if ((payload.allowed_actions as string[]).includes('MIGRATE')) {
        const ids = (await http('GET', String(payload.instance_ids))).body.instance_ids as string[];
        reply.instance_actions = Object.fromEntries(ids.map((id) => [id, 'MIGRATE']));
      }
      await http('PUT', String(payload.reply_url), reply);
    });
  });
  return new Promise((resolve) => vnfm.listen(0, '127.0.0.1', () => resolve((vnfm.address() as AddressInfo).port)));
}

const maintctl = (...args: string[]) => spawnSync(process.execPath, [BIN, '--state-dir', dir, ...args], { encoding: 'utf8' });

/** Like maintctl(), without blocking this process (the VNFM lives here and must keep answering). */
function maintctlAsync(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, '--state-dir', dir, ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

beforeAll(async () => {
  const port = await startVnfm();
  for (const project of ['proj-a', 'proj-b']) {
    const r = maintctl('project', 'subscribe', project, '--url', `http://127.0.0.1:${port}/maintenance`, '--format', 'aodh');
    expect(r.status, r.stderr).toBe(0);
  }
  serve = spawn(process.execPath, [BIN, '--state-dir', dir, 'serve', '--cloud', cloudFile, '--port', '0']);
  api = await new Promise<string>((resolve, reject) => {
    let out = '';
    serve.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (http:\/\/\S+)\/v1\/maintenance/.exec(out);
      if (m) resolve(m[1]!);
    });
    serve.once('exit', (code) => reject(new Error(`serve exited ${code}: ${out}`)));
  });
});

afterAll(async () => {
  serve?.kill('SIGTERM');
  await new Promise((resolve) => serve?.once('exit', resolve));
  await new Promise((resolve) => vnfm.close(resolve));
});

describe('maintctl serve', () => {
  it('runs a session created by POST /v1/maintenance to the end with a VNFM that answers over HTTP', async () => {
    const created = await http('POST', `${api}/v1/maintenance`, {
      hosts: [],
      state: 'MAINTENANCE',
      maintenance_at: '2018-02-28 06:06:03',
      metadata: { openstack_release: 'Queens' },
      workflow: 'default',
      actions: [{ plugin: 'dummy', type: 'host' }],
    });
    expect(created.status).toBe(200);
    const id = String(created.body.session_id);
    expect((await http('GET', `${api}/v1/maintenance`)).body).toEqual({ session_id: [id] });
    // Follow it with the CLI on the same state directory: it ends when the session does.
    const watched = await maintctlAsync('-o', 'json', 'session', 'show', id, '--watch');
    expect(watched.status, watched.stderr).toBe(0);
    const state = await http('GET', `${api}/v1/maintenance/${id}/`);
    expect(state.body).toMatchObject({ session_id: id, state: 'MAINTENANCE_DONE', percent_done: 100 });
    const detail = (await http('GET', `${api}/v1/maintenance/${id}/detail`)).body;
    expect(detail.metadata).toEqual({ openstack_release: 'Queens' });
    // The VNFM was asked everything through alarms whose reply_url is this API.
    const states = [...new Set(seen.map((p) => p.state))];
    expect(states).toEqual(expect.arrayContaining(['MAINTENANCE', 'PREPARE_MAINTENANCE', 'PLANNED_MAINTENANCE', 'INSTANCE_ACTION_DONE', 'MAINTENANCE_COMPLETE']));
    expect(seen.every((p) => String(p.reply_url).startsWith(`${api}/v1/maintenance/${id}/`))).toBe(true);
    expect((await http('GET', `${api}/v1/maintenance`)).body).toEqual({ session_id: [] });
  });

  it('answers errors with the HTTP status a client expects and a message', async () => {
    expect(await http('GET', `${api}/v1/maintenance/no-such-session`)).toEqual({ status: 404, body: { error: { message: 'no session no-such-session' } } });
    const bad = await http('POST', `${api}/v1/maintenance`, { hosts: 'compute-0' });
    expect(bad.status).toBe(400);
    expect(String((bad.body.error as { message: string }).message)).toMatch(/^invalid session request: hosts: /);
    const created = await http('POST', `${api}/v1/maintenance`, { project_maintenance_reply: 60 });
    const id = String(created.body.session_id);
    const wrong = await http('PUT', `${api}/v1/maintenance/${id}/proj-zzz`, { state: 'ACK_MAINTENANCE' });
    expect(wrong.status).toBe(409);
    expect((await http('GET', `${api}/v1/nothing`)).status).toBe(404);
    expect((await http('DELETE', `${api}/v1/maintenance`)).status).toBe(405);
    const deleted = await http('DELETE', `${api}/v1/maintenance/${id}`);
    expect(deleted.status).toBe(200);
    expect((await http('GET', `${api}/v1/maintenance/${id}`)).status).toBe(404);
  });
});
