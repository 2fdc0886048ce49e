// Every route of the API against malformed requests written byte for byte: each one gets a 4xx
// with a JSON message, the server answers a good request after each, and no session appears.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storePath } from '../src/client/state-dir.js';
import { Store } from '../src/store/store.js';
import { rawRequest, requestText, type RawResponse } from './support/raw-http.js';
import { startServer, type RunningServer } from './support/serve.js';

let server: RunningServer;
let sid = '';

const send = (method: string, target: string, options: Parameters<typeof requestText>[2] = {}) =>
  rawRequest(server.port, requestText(method, target, options));

const json = (body: string, type = 'application/json') => ({ headers: { 'content-type': type }, body });

beforeAll(async () => {
  server = await startServer();
  const created = await send('POST', '/v1/maintenance', json(JSON.stringify({ project_maintenance_reply: 3600 })));
  expect(created.status, created.text).toBe(200);
  sid = String((created.json as { session_id: string }).session_id);
});

afterAll(async () => {
  await server?.stop();
});

interface Case {
  name: string;
  method: string;
  target: string;
  options?: Parameters<typeof requestText>[2];
  /** Exact status expected, when the case is about one. */
  status?: number;
  raw?: string;
}

/** The routes, with the ids of a real session and project so a request gets as far as it can. */
const routes = () => [
  { method: 'POST', path: '/v1/maintenance', body: true },
  { method: 'GET', path: '/v1/maintenance' },
  { method: 'GET', path: `/v1/maintenance/${sid}/detail` },
  { method: 'GET', path: `/v1/maintenance/${sid}` },
  { method: 'PUT', path: `/v1/maintenance/${sid}`, body: true },
  { method: 'DELETE', path: `/v1/maintenance/${sid}` },
  { method: 'GET', path: `/v1/maintenance/${sid}/proj-a` },
  { method: 'PUT', path: `/v1/maintenance/${sid}/proj-a`, body: true },
  { method: 'GET', path: '/v1/sessions' },
  { method: 'GET', path: `/v1/sessions/by-prefix/${sid.slice(0, 8)}` },
  { method: 'GET', path: `/v1/sessions/${sid}/events` },
  { method: 'GET', path: '/v1/events' },
  { method: 'GET', path: '/v1/events/latest' },
  { method: 'GET', path: '/v1/subscriptions' },
  { method: 'GET', path: '/v1/projects/proj-a/subscriptions' },
  { method: 'POST', path: '/v1/projects/proj-a/subscriptions', body: true },
  { method: 'DELETE', path: '/v1/projects/proj-a/subscriptions?event_type=none' },
  { method: 'POST', path: `/v1/sessions/${sid}/rollback`, body: true },
  { method: 'GET', path: '/v1/releases' },
  { method: 'POST', path: '/v1/releases', body: true },
  { method: 'GET', path: '/v1/releases/r1' },
  { method: 'DELETE', path: '/v1/releases/r1' },
  { method: 'GET', path: '/v1/clusters' },
  { method: 'POST', path: '/v1/clusters', body: true },
  { method: 'GET', path: '/v1/clusters/prod' },
  { method: 'GET', path: '/v1/notifications?topic=done' },
  { method: 'GET', path: '/v1/instance_group' },
  { method: 'PUT', path: '/v1/instance_group/g-a', body: true },
  { method: 'GET', path: '/v1/instance_group/g-a' },
  { method: 'DELETE', path: '/v1/instance_group/g-a' },
  { method: 'GET', path: '/v1/instance' },
  { method: 'PUT', path: '/v1/instance/i-a', body: true },
  { method: 'GET', path: '/v1/instance/i-a' },
  { method: 'DELETE', path: '/v1/instance/i-a' },
];

const BAD_SEGMENTS = ['%', '%zz', '%C0%AE', '%E2%82', '%00', '%2F', '%2e%2e', '..', '%5C'];
const ABSOLUTE = (path: string) => [`http://x:99999${path}`, `http://127.0.0.1${path}`, `https://[::1]${path}`];
const BAD_METHODS = ['PATCH', 'OPTIONS', 'FOO', 'G@T'];
const BAD_HOSTS = ['evil.example', '127.0.0.1.nip.io', '', 'a b'];
const BAD_TYPES = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', ''];
const BAD_JSON = ['{', '{"hosts":', 'nul', '{"a":1}}', "{'hosts': []}", '\u0000'];
const WRONG_TYPES = ['[]', '"MAINTENANCE"', '42', 'null', 'true', '{"hosts":"compute-0"}', '{"state":7}', '{"maintenance_at":[]}', '{"url":"http://169.254.169.254/"}', '{"format":"xml"}'];
const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;

function cases(): Case[] {
  const all: Case[] = [];
  for (const r of routes()) {
    const segments = r.path.split('/');
    const withLast = (seg: string) => [...segments.slice(0, -1), seg].join('/');
    const body = r.body ? JSON.stringify({ state: 'ACK_MAINTENANCE' }) : undefined;
    const ok: { headers?: Record<string, string>; body?: string } = r.body ? json(body!) : {};
    for (const seg of BAD_SEGMENTS) all.push({ name: `${r.method} ${withLast(seg)}`, method: r.method, target: withLast(seg), options: ok, status: 400 });
    for (const target of ABSOLUTE(r.path)) all.push({ name: `${r.method} ${target}`, method: r.method, target, options: ok, status: 400 });
    all.push({ name: `${r.method} *`, method: r.method, target: '*', options: ok });
    for (const method of BAD_METHODS) all.push({ name: `${method} ${r.path}`, method, target: r.path, options: ok });
    for (const host of BAD_HOSTS) all.push({ name: `${r.method} ${r.path} Host "${host}"`, method: r.method, target: r.path, options: { ...ok, headers: { ...ok.headers, host } } });
    all.push({ name: `${r.method} ${r.path} header line without colon`, method: r.method, target: r.path, raw: `${r.method} ${r.path} HTTP/1.1\r\nhost: 127.0.0.1\r\nno colon here\r\nconnection: close\r\n\r\n` });
    all.push({ name: `${r.method} ${r.path} 20 KB header`, method: r.method, target: r.path, options: { headers: { 'x-junk': 'j'.repeat(20_000) } }, status: 431 });
    all.push({ name: `${r.method} ${r.path} Content-Length abc`, method: r.method, target: r.path, options: { headers: { 'content-length': 'abc' }, body: '{}' } });
    all.push({ name: `${r.method} ${r.path} two Content-Lengths`, method: r.method, target: r.path, raw: `${r.method} ${r.path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 2\r\ncontent-length: 3\r\nconnection: close\r\n\r\n{}` });
    if (!r.body) continue;
    for (const type of BAD_TYPES) all.push({ name: `${r.method} ${r.path} as "${type}"`, method: r.method, target: r.path, options: json(body!, type), status: 415 });
    for (const text of BAD_JSON) all.push({ name: `${r.method} ${r.path} body ${JSON.stringify(text)}`, method: r.method, target: r.path, options: json(text), status: 400 });
    for (const text of WRONG_TYPES) all.push({ name: `${r.method} ${r.path} body ${text}`, method: r.method, target: r.path, options: json(text) });
    all.push({ name: `${r.method} ${r.path} 2 MiB body`, method: r.method, target: r.path, options: json(`{"metadata":"${'x'.repeat(2 * 1024 * 1024)}"}`), status: 413 });
    all.push({ name: `${r.method} ${r.path} declares 50 MB`, method: r.method, target: r.path, options: { headers: { 'content-type': 'application/json', 'content-length': String(50_000_000) }, body: '{' }, status: 413 });
    all.push({ name: `${r.method} ${r.path} nested 10,000 deep`, method: r.method, target: r.path, options: json(`{"metadata":${deep(10_000)}}`), status: 400 });
    all.push({ name: `${r.method} ${r.path} chunked 2 MiB`, method: r.method, target: r.path, raw: chunked(r.method, r.path, 2 * 1024 * 1024), status: 413 });
  }
  return all;
}

function chunked(method: string, path: string, size: number): string {
  const chunk = 'x'.repeat(64 * 1024);
  const body = Array.from({ length: size / chunk.length }, () => `${chunk.length.toString(16)}\r\n${chunk}\r\n`).join('');
  return `${method} ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n${body}0\r\n\r\n`;
}

describe('malformed requests on every route', () => {
  it('are at least 150, over every route', () => {
    const all = cases();
    expect(all.length).toBeGreaterThanOrEqual(150);
    expect(new Set(all.map((c) => c.method)).size).toBeGreaterThan(4);
  });

  it('each get a 4xx with a JSON message; the server answers a good request after each; no session is created', async () => {
    const failures: string[] = [];
    for (const c of cases()) {
      const r: RawResponse = c.raw !== undefined ? await rawRequest(server.port, c.raw) : await send(c.method, c.target, c.options);
      const message = (r.json as { error?: { message?: unknown } } | undefined)?.error?.message;
      if (r.status < 400 || r.status > 499 || typeof message !== 'string' || (c.status && r.status !== c.status)) {
        failures.push(`${c.name}: ${r.status} ${r.text.slice(0, 200)}`);
      }
      const alive = await send('GET', `/v1/maintenance/${sid}`);
      if (alive.status !== 200) failures.push(`after ${c.name}: the server answered ${alive.status} ${alive.text.slice(0, 200)}`);
    }
    expect(failures).toEqual([]);
    const store = Store.open(storePath(server.stateDir));
    try {
      expect(store.listSessions().map((s) => s.id)).toEqual([sid]);
    } finally {
      store.close();
    }
  });
});

describe('query parameters', () => {
  it.each(['after=-1', 'after=abc', 'after=1e3', 'wait_ms=999999', 'wait_ms=1.5'])('GET /v1/events?%s: 400', async (q) => {
    const r = await send('GET', `/v1/events?${q}`);
    expect(r.status).toBe(400);
    expect((r.json as { error: { message: string } }).error.message).toMatch(/^invalid (after|wait_ms)=/);
  });
});
