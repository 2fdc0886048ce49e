// The API's behaviour at its edges, in this process: a handler that fails answers 500 JSON and the
// server goes on; Host allow-list; body limit and content type.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventsAfter } from '../src/api/extensions.js';
import { apiHandler } from '../src/api/server.js';
import { settle } from '../src/engine/clock.js';
import type { Engine } from '../src/engine/engine.js';
import { harness } from './helpers.js';
import { rawRequest, requestText } from './support/raw-http.js';
import { startServer, type RunningServer } from './support/serve.js';
import { jsonCall } from './support/vnfm.js';

describe('a handler that fails', () => {
  let server: Server;
  const logged: string[] = [];
  let calls = 0;

  beforeAll(async () => {
    // An engine whose store fails once, the way a full disk would.
    const engine = {
      repo: {
        sessionCounts: async () => {
          if (calls++ === 0) throw new Error('SQLITE_FULL: database or disk is full');
          return [];
        },
      },
    } as unknown as Engine;
    server = createServer(apiHandler({ engine, driver: { kind: 'sim', cloudId: 'x' }, log: (m) => logged.push(m) }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('answers 500 with a JSON message, logs why, and answers the next request', async () => {
    const port = (server.address() as AddressInfo).port;
    const failed = await rawRequest(port, requestText('GET', '/v1/maintenance'));
    expect(failed.status).toBe(500);
    expect(failed.json).toEqual({ error: { message: 'the server failed to answer this request (its log says why)' } });
    expect(failed.text).not.toContain('SQLITE_FULL');
    expect(logged.join('\n')).toContain('GET /v1/maintenance failed: Error: SQLITE_FULL');
    const next = await rawRequest(port, requestText('GET', '/v1/maintenance'));
    expect(next).toMatchObject({ status: 200, json: { session_id: [] } });
  });
});

describe('serve --public-url and --max-body', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ publicUrl: 'https://maint.example.org:12347', maxBody: 1000 });
  });
  afterAll(() => server?.stop());

  const get = (host: string) => rawRequest(server.port, requestText('GET', '/v1/maintenance', { headers: { host } }));

  it('serves the public URL host and loopback names only', async () => {
    for (const host of ['maint.example.org:12347', 'MAINT.example.org', 'localhost:1', '127.0.0.1', '[::1]:12347']) {
      expect((await get(host)).status, host).toBe(200);
    }
    const foreign = await get('rebind.attacker.example');
    expect(foreign.status).toBe(421);
    expect(foreign.json).toEqual({ error: { message: 'this server does not serve the host "rebind.attacker.example": use its --public-url' } });
  });

  it('refuses a body over --max-body with 413 and reads one under it', async () => {
    const post = (body: string, type = 'application/json') =>
      rawRequest(server.port, requestText('POST', '/v1/maintenance', { headers: { 'content-type': type }, body }));
    const big = await post(JSON.stringify({ metadata: { note: 'x'.repeat(1000) } }));
    expect(big).toMatchObject({ status: 413, json: { error: { message: "the request body is larger than 1000 bytes (the server's --max-body)" } } });
    const wrong = await post(JSON.stringify({ hosts: 'compute-0' }), 'application/json; charset=utf-8');
    expect(wrong.status).toBe(400);
    expect((wrong.json as { error: { message: string } }).error.message).toMatch(/^invalid session request: hosts: /);
    const plain = await post('{}', 'text/plain');
    expect(plain).toMatchObject({ status: 415, json: { error: { message: 'a request body must be JSON, sent with Content-Type: application/json (not "text/plain")' } } });
  });
});

describe('events after an id, with a long poll', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server?.stop());

  it('answers at once when there are newer events, and waits for the next one when there are none', async () => {
    for (const p of ['proj-a', 'proj-b']) expect((await jsonCall('POST', `${server.url}/v1/projects/${p}/subscriptions`, {})).status).toBe(200);
    const created = await jsonCall('POST', `${server.url}/v1/maintenance`, { project_maintenance_reply: 3600 });
    const sid = String(created.body.session_id);
    const get = async (path: string) => {
      const r = await request(`${server.url}${path}`);
      return (await r.body.json()) as Array<{ id: number; eventType: string; payload: Record<string, unknown> }>;
    };
    // The session asks both projects first; wait (long poll) until it has.
    let events = await get(`/v1/sessions/${sid}/events?after=0`);
    for (let i = 0; i < 20 && !events.some((e) => e.eventType === 'maintenance.planned'); i++) events = events.concat(await get(`/v1/sessions/${sid}/events?after=${events.at(-1)?.id ?? 0}&wait_ms=30000`));
    expect(events.map((e) => e.eventType)).toContain('maintenance.planned');
    const last = events.at(-1)!.id;
    expect(await get(`/v1/sessions/${sid}/events?after=${last}`)).toEqual([]);
    const waiting = get(`/v1/sessions/${sid}/events?after=${last}&wait_ms=30000`);
    // A NACK fails the session: new events, and the wait ends with them.
    await jsonCall('PUT', `${server.url}/v1/maintenance/${sid}/proj-a`, { state: 'NACK_MAINTENANCE' });
    const fresh = await waiting;
    expect(fresh.length).toBeGreaterThan(0);
    expect(fresh.every((e) => e.id > last)).toBe(true);
    const latest = await request(`${server.url}/v1/events/latest`);
    expect(((await latest.body.json()) as { event_id: number }).event_id).toBeGreaterThanOrEqual(fresh.at(-1)!.id);
  });
});

describe('a long poll on a session that is deleted', () => {
  it('ends at once, with no events, instead of at the end of its wait', async () => {
    // A manual clock: nothing but the deletion can end the wait.
    const h = harness('hosts: [{name: compute-0, vcpus: 4}]\ntiming: {host_maintenance_s: 600}\n', { auto: false });
    const session = await h.engine.createSession({ hosts: [] }, { kind: 'sim', cloudId: h.cloudId });
    await h.clock.advance(1000); // the host is in maintenance for the next 600 s
    const last = h.store.events(session.id).at(-1)!.id;
    let answered: unknown = null;
    void eventsAfter(h.engine, session.id, last, 10_000).then((events) => (answered = events));
    await settle();
    expect(answered).toBeNull(); // waiting
    await h.engine.deleteSession(session.id);
    await settle();
    expect(answered).toEqual([]);
    await h.engine.stop();
  });
});
