// serve --tokens: every route against every kind of caller (no token, a bad one, admin, the
// route's project, another project), with both ways of sending a token; the unsafe refused at
// start; the store private; TLS; the tokens file re-read on SIGHUP.
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storePath } from '../src/client/state-dir.js';
import { bufferIO } from '../src/cli/io.js';
import { main } from '../src/cli/main.js';
import { Store } from '../src/store/store.js';
import { subscribe } from '../src/store/subscriptions.js';
import { startServer, tempDir, type RunningServer } from './support/serve.js';

const TOKENS = { admin: 'admin-token-0123456789', projA: 'proj-a-token-0123456789', projB: 'proj-b-token-0123456789' };

function tokensFile(dir: string, tokens: object[] = [
  { token: TOKENS.admin, role: 'admin' },
  { token: TOKENS.projA, project: 'proj-a' },
  { token: TOKENS.projB, project: 'proj-b' },
]): string {
  const file = join(dir, 'tokens.json');
  writeFileSync(file, JSON.stringify({ tokens }));
  return file;
}

/** A state directory whose projects are subscribed (without a URL), so sessions wait for their replies. */
function subscribedStateDir(): string {
  const dir = tempDir('maintctl-auth-');
  const store = Store.open(storePath(dir));
  for (const projectId of ['proj-a', 'proj-b']) subscribe(store, { projectId, eventType: 'maintenance.planned', url: null, format: 'fenix', sessionId: null }, Date.now());
  store.close();
  return dir;
}

/** Whether a listed call ("GET /v1/releases/base") is one of a declared route ("GET /v1/releases/{release}"). */
function matchesPattern(call: string, route: string): boolean {
  const [m1, p1] = call.split(' ');
  const [m2, p2] = route.split(' ');
  const a = p1!.split('/');
  const b = p2!.split('/');
  return m1 === m2 && a.length === b.length && b.every((seg, i) => seg.startsWith('{') || seg === a[i]);
}

type Caller = 'none' | 'garbage' | 'admin' | 'projA' | 'projB';
const CALLERS: Caller[] = ['none', 'garbage', 'admin', 'projA', 'projB'];

async function call(base: string, method: string, path: string, caller: Caller, style: 'x-auth-token' | 'bearer', body?: unknown) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const token = caller === 'none' ? null : caller === 'garbage' ? 'not-a-token-at-all-xxxxx' : TOKENS[caller];
  if (token) headers[style === 'bearer' ? 'authorization' : 'x-auth-token'] = style === 'bearer' ? `Bearer ${token}` : token;
  const r = await request(`${base}${path}`, { method: method as 'GET', headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: r.statusCode, body: (await r.body.json()) as Record<string, unknown> };
}

describe('serve --tokens', () => {
  let server: RunningServer;
  beforeAll(async () => {
    const stateDir = subscribedStateDir();
    server = await startServer({ stateDir, tokens: tokensFile(stateDir) });
    // The release and the cluster the release and cluster routes read.
    expect((await call(server.url, 'POST', '/v1/releases', 'admin', 'bearer', { name: 'base', version: '1.0.0' })).status).toBe(200);
    expect((await call(server.url, 'POST', '/v1/clusters', 'admin', 'bearer', { name: 'prod', release: 'base', hosts: ['prod-1'] })).status).toBe(200);
  });
  afterAll(() => server?.stop());

  /**
   * A new session (made by admin) and no other (a host belongs to one active session), so a route
   * that changes one always has a fresh one.
   */
  async function fresh(): Promise<string> {
    const active = (await call(server.url, 'GET', '/v1/maintenance', 'admin', 'x-auth-token')).body.session_id as string[];
    for (const id of active) expect((await call(server.url, 'DELETE', `/v1/maintenance/${id}`, 'admin', 'x-auth-token')).status).toBe(200);
    // proj-a's constraints, for the constraint routes to find (a DELETE removed them).
    expect((await call(server.url, 'PUT', '/v1/instance_group/g-a', 'admin', 'x-auth-token', GROUP_A)).status).toBe(200);
    expect((await call(server.url, 'PUT', '/v1/instance/i-a', 'admin', 'x-auth-token', INSTANCE_A)).status).toBe(200);
    const r = await call(server.url, 'POST', '/v1/maintenance', 'admin', 'x-auth-token', { project_maintenance_reply: 3600 });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return String(r.body.session_id);
  }

  const GROUP_A = { project_id: 'proj-a', group_name: 'a', max_impacted_members: 1 };
  const INSTANCE_A = { project_id: 'proj-a', group_id: 'g-a', migration_type: 'MIGRATE' };

  /** Each route, who may call it, and what it answers them. */
  const ROUTES: Array<{ method: string; path: (sid: string) => string; allowed: Caller[]; status: number; body?: unknown | ((sid: string) => unknown) }> = [
    { method: 'POST', path: () => '/v1/maintenance', allowed: ['admin'], status: 200, body: { project_maintenance_reply: 3600 } },
    { method: 'GET', path: () => '/v1/maintenance', allowed: ['admin'], status: 200 },
    { method: 'GET', path: (s) => `/v1/maintenance/${s}/detail`, allowed: ['admin'], status: 200 },
    { method: 'GET', path: (s) => `/v1/maintenance/${s}`, allowed: ['admin'], status: 200 },
    { method: 'PUT', path: (s) => `/v1/maintenance/${s}`, allowed: ['admin'], status: 409, body: {} },
    { method: 'DELETE', path: (s) => `/v1/maintenance/${s}`, allowed: ['admin'], status: 200 },
    { method: 'GET', path: (s) => `/v1/maintenance/${s}/proj-a`, allowed: ['admin', 'projA'], status: 200 },
    { method: 'PUT', path: (s) => `/v1/maintenance/${s}/proj-a`, allowed: ['admin', 'projA'], status: 200, body: { state: 'ACK_MAINTENANCE' } },
    { method: 'GET', path: (s) => `/v1/maintenance/${s}/proj-b`, allowed: ['admin', 'projB'], status: 200 },
    { method: 'PUT', path: (s) => `/v1/maintenance/${s}/proj-b`, allowed: ['admin', 'projB'], status: 200, body: { state: 'ACK_MAINTENANCE' } },
    { method: 'GET', path: () => '/v1/instance_group', allowed: ['admin', 'projA', 'projB'], status: 200 },
    { method: 'PUT', path: () => '/v1/instance_group/g-a', allowed: ['admin', 'projA'], status: 200, body: GROUP_A },
    { method: 'GET', path: () => '/v1/instance_group/g-a', allowed: ['admin', 'projA'], status: 200 },
    { method: 'DELETE', path: () => '/v1/instance_group/g-a', allowed: ['admin', 'projA'], status: 200 },
    { method: 'GET', path: () => '/v1/instance', allowed: ['admin', 'projA', 'projB'], status: 200 },
    { method: 'PUT', path: () => '/v1/instance/i-a', allowed: ['admin', 'projA'], status: 200, body: INSTANCE_A },
    { method: 'GET', path: () => '/v1/instance/i-a', allowed: ['admin', 'projA'], status: 200 },
    { method: 'DELETE', path: () => '/v1/instance/i-a', allowed: ['admin', 'projA'], status: 200 },
    // Any token; a project's sees only what concerns it (tested below).
    { method: 'GET', path: () => '/v1/events?after=0', allowed: ['admin', 'projA', 'projB'], status: 200 },
    { method: 'GET', path: () => '/v1/events/latest', allowed: ['admin', 'projA', 'projB'], status: 200 },
    { method: 'GET', path: () => '/v1/sessions', allowed: ['admin', 'projA', 'projB'], status: 200 },
    { method: 'GET', path: (s) => `/v1/sessions/by-prefix/${s.slice(0, 8)}`, allowed: ['admin', 'projA', 'projB'], status: 200 },
    { method: 'GET', path: (s) => `/v1/sessions/${s}/events`, allowed: ['admin'], status: 200 },
    // A session that updates no cluster has nothing to roll back.
    { method: 'POST', path: (s) => `/v1/sessions/${s}/rollback`, allowed: ['admin'], status: 404, body: {} },
    { method: 'GET', path: () => '/v1/subscriptions', allowed: ['admin'], status: 200 },
    { method: 'GET', path: () => '/v1/replicas', allowed: ['admin'], status: 200 },
    { method: 'GET', path: () => '/v1/projects/proj-a/subscriptions', allowed: ['admin', 'projA'], status: 200 },
    // The subscription proj-a has already (subscribing again changes nothing); removing none of them.
    { method: 'POST', path: () => '/v1/projects/proj-a/subscriptions', allowed: ['admin', 'projA'], status: 200, body: { event_type: 'maintenance.planned' } },
    { method: 'DELETE', path: () => '/v1/projects/proj-a/subscriptions?url=http://none.example/', allowed: ['admin', 'projA'], status: 200 },
    // Releases and clusters: names made from the fresh session's id, so each call makes new ones.
    { method: 'GET', path: () => '/v1/releases', allowed: ['admin'], status: 200 },
    { method: 'POST', path: () => '/v1/releases', allowed: ['admin'], status: 200, body: (s: string) => ({ name: `r-${s.slice(0, 8)}`, version: '2.0.0' }) },
    { method: 'GET', path: () => '/v1/releases/base', allowed: ['admin'], status: 200 },
    { method: 'DELETE', path: () => '/v1/releases/none', allowed: ['admin'], status: 404 },
    { method: 'GET', path: () => '/v1/clusters', allowed: ['admin'], status: 200 },
    { method: 'POST', path: () => '/v1/clusters', allowed: ['admin'], status: 200, body: (s: string) => ({ name: `k-${s.slice(0, 8)}`, release: 'base', hosts: [`h-${s.slice(0, 8)}`] }) },
    { method: 'GET', path: () => '/v1/clusters/prod', allowed: ['admin'], status: 200 },
    { method: 'GET', path: () => '/v1/notifications', allowed: ['admin'], status: 200 },
  ];

  it('lists every route the server has', () => {
    const declared = [...readFileSync(new URL('../src/api/server.ts', import.meta.url), 'utf8').matchAll(/route\('([A-Z]+)', '([^']+)'/g)].map((m) => `${m[1]} ${m[2]}`);
    const listed = ROUTES.map((r) => `${r.method} ${r.path('S').split('?')[0]}`);
    const unlisted = declared.filter((d) => !listed.some((l) => matchesPattern(l, d)));
    expect(declared.length).toBeGreaterThan(30);
    expect(unlisted).toEqual([]);
  });

  for (const style of ['x-auth-token', 'bearer'] as const) {
    it(`answers each route by who calls (token in ${style})`, async () => {
      const got: string[] = [];
      const want: string[] = [];
      for (const r of ROUTES) {
        for (const caller of CALLERS) {
          const sid = await fresh();
          // Creating needs no session: without one, an allowed create is not refused for its hosts.
          if (r.method === 'POST') await call(server.url, 'DELETE', `/v1/maintenance/${sid}`, 'admin', style);
          const path = r.path(sid);
          const answer = await call(server.url, r.method, path, caller, style, typeof r.body === 'function' ? r.body(sid) : r.body);
          const expected = caller === 'none' || caller === 'garbage' ? 401 : r.allowed.includes(caller) ? r.status : 403;
          got.push(`${r.method} ${r.path('S')} as ${caller}: ${answer.status}`);
          want.push(`${r.method} ${r.path('S')} as ${caller}: ${expected}`);
          if (answer.status >= 400) expect(typeof (answer.body.error as { message: unknown }).message).toBe('string');
        }
      }
      expect(got).toEqual(want);
    });
  }

  it('says what is missing or wrong', async () => {
    const sid = await fresh();
    expect((await call(server.url, 'GET', '/v1/maintenance', 'none', 'bearer')).body).toEqual({
      error: { message: 'authentication required: send a token in X-Auth-Token or Authorization: Bearer' },
    });
    expect((await call(server.url, 'GET', '/v1/maintenance', 'garbage', 'bearer')).body).toEqual({ error: { message: 'the token is not valid (unknown or expired)' } });
    expect((await call(server.url, 'GET', `/v1/maintenance/${sid}/proj-b`, 'projA', 'bearer')).body).toEqual({ error: { message: 'this token is for project proj-a, not proj-b' } });
    expect((await call(server.url, 'GET', '/v1/maintenance', 'projA', 'bearer')).body).toEqual({ error: { message: 'this needs an admin token' } });
  });

  /** Events `caller` may read, long-polled until `until` holds for them (or 20 polls, a guard). */
  async function eventsUntil(caller: Caller, until: (events: Event[]) => boolean): Promise<Event[]> {
    let events: Event[] = [];
    for (let polls = 0; polls < 20 && !until(events); polls++) {
      const after = events.at(-1)?.id ?? 0;
      const r = await call(server.url, 'GET', `/v1/events?after=${after}&wait_ms=10000`, caller, 'x-auth-token');
      expect(r.status).toBe(200);
      events = [...events, ...(r.body as unknown as Event[])];
    }
    return events;
  }
  type Event = { id: number; sessionId: string; eventType: string; payload: Record<string, unknown> };
  const asks = (sid: string, project: string) => (events: Event[]) =>
    events.some((e) => e.sessionId === sid && e.eventType === 'maintenance.planned' && e.payload.project_id === project);

  it("lets a project token read the events of its own sessions about itself, and find those sessions", async () => {
    await call(server.url, 'DELETE', `/v1/maintenance/${await fresh()}`, 'admin', 'x-auth-token');
    // Two sessions at once, on separate hosts: one has proj-b only, the other proj-a only.
    const create = async (hosts: string[]) => String((await call(server.url, 'POST', '/v1/maintenance', 'admin', 'x-auth-token', { hosts, project_maintenance_reply: 3600 })).body.session_id);
    const onlyB = await create(['compute-2']);
    const onlyA = await create(['compute-0', 'compute-1']);
    const admin = await eventsUntil('admin', (e) => asks(onlyA, 'proj-a')(e) && asks(onlyB, 'proj-b')(e));
    const ofA = await eventsUntil('projA', asks(onlyA, 'proj-a'));
    expect(asks(onlyA, 'proj-a')(ofA)).toBe(true);
    expect(ofA.filter((e) => e.sessionId === onlyB)).toEqual([]);
    expect(ofA.filter((e) => e.payload.project_id !== undefined && e.payload.project_id !== 'proj-a')).toEqual([]);
    expect(new Set(ofA.filter((e) => e.payload.project_id === undefined).map((e) => e.eventType))).toEqual(new Set(['maintenance.session']));
    // What it reads is what the admin reads of it.
    const adminIds = new Set(admin.map((e) => e.id));
    expect(ofA.every((e) => adminIds.has(e.id))).toBe(true);
    expect(admin.some((e) => e.sessionId === onlyB && e.payload.project_id === 'proj-b')).toBe(true);

    const ids = async (caller: Caller) => ((await call(server.url, 'GET', '/v1/sessions', caller, 'bearer')).body as unknown as Array<{ session_id: string }>).map((s) => s.session_id);
    expect(await ids('projA')).toContain(onlyA);
    expect(await ids('projA')).not.toContain(onlyB);
    expect(await ids('admin')).toEqual(expect.arrayContaining([onlyA, onlyB]));
    expect((await call(server.url, 'GET', `/v1/sessions/by-prefix/${onlyA.slice(0, 8)}`, 'projA', 'bearer')).body).toEqual({ session_id: onlyA });
    expect(await call(server.url, 'GET', `/v1/sessions/by-prefix/${onlyB.slice(0, 8)}`, 'projA', 'bearer')).toEqual({ status: 404, body: { error: { message: `no session ${onlyB.slice(0, 8)}` } } });
    for (const sid of [onlyA, onlyB]) await call(server.url, 'DELETE', `/v1/maintenance/${sid}`, 'admin', 'bearer');
  });

  it('runs project agent remotely with a project token: each project answers its own questions to the end', async () => {
    const sid = await fresh();
    const agent = async (project: string, token: string) => {
      const io = bufferIO({ NO_COLOR: '1' });
      const code = await main(['--endpoint', server.url, '--token', token, 'project', 'agent', project, '--session', sid.slice(0, 8)], io);
      return { code, out: io.stdout(), err: io.stderr() };
    };
    const [a, b] = await Promise.all([agent('proj-a', TOKENS.projA), agent('proj-b', TOKENS.projB)]);
    expect(a.err).toBe('');
    expect(b.err).toBe('');
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(a.out).toMatch(/MAINTENANCE -> ACK_MAINTENANCE\n/);
    expect(a.out).toMatch(/PLANNED_MAINTENANCE -> ACK_PLANNED_MAINTENANCE \(1 x MIGRATE\)\n/);
    expect(b.out).toMatch(/MAINTENANCE_COMPLETE -> ACK_MAINTENANCE_COMPLETE\n/);
    for (const out of [a.out, b.out]) expect(out).toMatch(new RegExp(`session ${sid.slice(0, 8)} ended MAINTENANCE_DONE\n$`));
    expect((await call(server.url, 'GET', `/v1/maintenance/${sid}`, 'admin', 'bearer')).body.state).toBe('MAINTENANCE_DONE');
  });

  it('re-reads the tokens file on SIGHUP, and keeps the old tokens when the new file is bad', async () => {
    const file = join(server.stateDir, 'tokens.json');
    writeFileSync(file, JSON.stringify({ tokens: [{ token: 'rotated-admin-token-42', role: 'admin' }] }));
    process.emit('SIGHUP', 'SIGHUP');
    expect(server.io.stdout()).toContain(`re-read ${file} (1 tokens)`);
    const rotated = await request(`${server.url}/v1/maintenance`, { headers: { 'x-auth-token': 'rotated-admin-token-42' } });
    expect(rotated.statusCode).toBe(200);
    await rotated.body.dump();
    expect((await call(server.url, 'GET', '/v1/maintenance', 'admin', 'x-auth-token')).status).toBe(401);
    writeFileSync(file, '{"tokens": [');
    process.emit('SIGHUP', 'SIGHUP');
    expect(server.io.stderr()).toContain(`kept the previous tokens: the tokens file ${file} is not JSON`);
    const still = await request(`${server.url}/v1/maintenance`, { headers: { authorization: 'Bearer rotated-admin-token-42' } });
    expect(still.statusCode).toBe(200);
    await still.body.dump();
    writeFileSync(file, JSON.stringify({ tokens: [{ token: TOKENS.admin, role: 'admin' }, { token: TOKENS.projA, project: 'proj-a' }, { token: TOKENS.projB, project: 'proj-b' }] }));
    process.emit('SIGHUP', 'SIGHUP');
  });

  it('keeps its state directory 0700 and its store files 0600', () => {
    expect(statSync(server.stateDir).mode & 0o777).toBe(0o700);
    for (const file of ['maintctl.db', 'maintctl.db-wal', 'maintctl.db-shm']) expect(statSync(join(server.stateDir, file)).mode & 0o777, file).toBe(0o600);
  });
});

describe('serve refuses the unsafe at start', () => {
  const dir = tempDir('maintctl-refuse-');
  const cloud = join(dir, 'cloud.yaml');
  writeFileSync(cloud, 'hosts: [{name: compute-0, vcpus: 4}]\n');

  async function serve(...args: string[]) {
    const io = bufferIO();
    const code = await main(['--state-dir', dir, 'serve', '--cloud', cloud, ...args], io);
    return { code, stderr: io.stderr() };
  }

  it.each([
    [['--host', '0.0.0.0'], 'refusing to listen on 0.0.0.0 without authentication: add --tokens FILE or --auth keystone (or listen on 127.0.0.1)'],
    [['--host', '192.0.2.7'], 'refusing to listen on 192.0.2.7 without authentication: add --tokens FILE or --auth keystone (or listen on 127.0.0.1)'],
    [['--auth', 'keystone'], '--auth keystone asks the Keystone of --cloud openstack[:NAME]: give an OpenStack cloud, or use --tokens FILE'],
    [['--auth', 'ldap'], 'invalid --auth "ldap": the only one is keystone'],
    [['--tls-cert', 'x.pem'], '--tls-cert and --tls-key go together: give both'],
    [['--max-body', '1MB'], 'invalid --max-body "1MB": give a number of bytes'],
    [['--public-url', 'https://maint.example.org/api'], 'invalid --public-url "https://maint.example.org/api": give http(s)://HOST[:PORT] without a path or credentials'],
    [['--tokens', '/nonexistent/tokens.json'], 'cannot read the tokens file /nonexistent/tokens.json: ENOENT'],
  ])('serve %j: exit 2 and says what to do', async (args, message) => {
    const r = await serve(...args);
    expect(r).toEqual({ code: 2, stderr: `maintctl: ${message}\n` });
  });

  it('refuses a tokens file with a short token, naming the entry', async () => {
    const file = tokensFile(dir, [{ token: 'short', role: 'admin' }]);
    const r = await serve('--tokens', file);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`maintctl: invalid tokens file ${file}: tokens[0].token: a token has at least 16 characters\n`);
  });
});

describe('serve --tls-cert --tls-key', () => {
  it('serves HTTPS with the certificate, and says https in its listening line', async () => {
    const dir = tempDir('maintctl-tls-');
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
    const server = await startServer({ stateDir: dir, tlsCert: cert, tlsKey: key });
    try {
      expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const agent = new Agent({ connect: { ca: execFileSync('cat', [cert]) } });
      const r = await request(`${server.url}/v1/maintenance`, { dispatcher: agent });
      expect(r.statusCode).toBe(200);
      expect(await r.body.json()).toEqual({ session_id: [] });
      await expect(request(`${server.url}/v1/maintenance`)).rejects.toThrow(/self.signed|certificate/i);
      await agent.close();
    } finally {
      await server.stop();
    }
  });
});
