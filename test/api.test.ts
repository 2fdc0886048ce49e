// maintctl serve: the Fenix REST API, driven the way a VNFM written for Fenix + AODH drives it
// (OPNFV Doctor's sample app manager): alarms in, GET the instance list, PUT the reply.
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SMALL_CLOUD, spawnServe, tempDir, type ServeProcess } from './support/serve.js';
import { jsonCall, startVnfm, type Vnfm } from './support/vnfm.js';

const BIN = join(__dirname, '..', 'bin', 'maintctl.js');
const dir = tempDir('maintctl-api-');
const cloudFile = join(dir, 'cloud.yaml');
writeFileSync(cloudFile, SMALL_CLOUD);

let serve: ServeProcess;
let api = '';
let vnfm: Vnfm;
const http = jsonCall;

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
  vnfm = await startVnfm();
  for (const project of ['proj-a', 'proj-b']) {
    const r = maintctl('project', 'subscribe', project, '--url', vnfm.url, '--format', 'aodh');
    expect(r.status, r.stderr).toBe(0);
  }
  serve = await spawnServe(dir, ['--cloud', cloudFile]);
  api = serve.url;
});

afterAll(async () => {
  serve?.child.kill('SIGTERM');
  await serve?.exited;
  await vnfm.close();
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
    const states = [...new Set(vnfm.seen.map((p) => p.state))];
    expect(states).toEqual(expect.arrayContaining(['MAINTENANCE', 'PREPARE_MAINTENANCE', 'PLANNED_MAINTENANCE', 'INSTANCE_ACTION_DONE', 'MAINTENANCE_COMPLETE']));
    expect(vnfm.seen.every((p) => String(p.reply_url).startsWith(`${api}/v1/maintenance/${id}/`))).toBe(true);
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

describe('serve on SIGTERM', () => {
  it('finishes the request under way, exits 0, and the next serve resumes the session', async () => {
    const stateDir = tempDir('maintctl-term-');
    for (const project of ['proj-a', 'proj-b']) {
      const r = spawnSync(process.execPath, [BIN, '--state-dir', stateDir, 'project', 'subscribe', project], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
    }
    const first = await spawnServe(stateDir, ['--cloud', cloudFile]);
    // A create whose body is still to come when the signal arrives: the server has read its
    // headers once it says 100 Continue.
    const body = JSON.stringify({ project_maintenance_reply: 3600 });
    const { connect } = await import('node:net');
    const socket = connect(first.port, '127.0.0.1');
    let text = '';
    const continued = new Promise<void>((resolve) => socket.on('data', (c: Buffer) => ((text += c.toString()), text.includes('100 Continue') && resolve())));
    const answer = new Promise<string>((resolve) => socket.on('close', () => resolve(text)));
    socket.write(`POST /v1/maintenance HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nexpect: 100-continue\r\nconnection: close\r\n\r\n`);
    await continued;
    first.child.kill('SIGTERM');
    await first.printed(/stopping/);
    socket.write(body);
    const reply = (await answer).split('HTTP/1.1 100 Continue\r\n\r\n')[1]!;
    expect(reply).toMatch(/^HTTP\/1\.1 200/);
    const id = String((JSON.parse(reply.split('\r\n\r\n')[1]!) as { session_id: string }).session_id);
    expect((await first.exited).code).toBe(0);
    const second = await spawnServe(stateDir, ['--cloud', cloudFile]);
    try {
      const shown = await http('GET', `${second.url}/v1/maintenance/${id}`);
      expect(shown.status).toBe(200);
      expect(shown.body, JSON.stringify(shown.body)).toMatchObject({ state: 'MAINTENANCE', failure: null });
      expect((await http('GET', `${second.url}/v1/maintenance`)).body).toEqual({ session_id: [id] });
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });
});
