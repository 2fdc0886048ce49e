// Webhook delivery end to end: a real session on the sim cloud (real clock, zero delays) and
// real HTTP receivers on loopback. Nothing here sleeps: every wait is on what a receiver has
// seen (or on the engine), with the per-test timeout as the only clock.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Delivery, Session, SessionEvent, SubscriptionFormat } from '../src/domain/model.js';
import { RealClock } from '../src/engine/clock.js';
import { Engine } from '../src/engine/engine.js';
import { sessionDocument } from '../src/engine/session-view.js';
import { httpPoster, type Poster } from '../src/notify/deliverer.js';
import { importCloud, parseCloudText } from '../src/infra/sim/cloud-file.js';
import { listSubscriptions, nextDeliveryAt, sessionDeliveries, subscribe, unsubscribe } from '../src/store/subscriptions.js';
import { Store } from '../src/store/store.js';
import { addRelease, createCluster } from '../src/engine/release-view.js';

const CLOUD = `
hosts:
  - {name: compute-0, vcpus: 4}
  - {name: compute-1, vcpus: 4}
  - {name: compute-2, vcpus: 4}
instances:
  - {id: a-0-id, name: a-0, project: proj-a, host: compute-0, vcpus: 2}
  - {id: a-1-id, name: a-1, project: proj-a, host: compute-1, vcpus: 2}
  - {id: b-0-id, name: b-0, project: proj-b, host: compute-1, vcpus: 2}
  - {id: b-1-id, name: b-1, project: proj-b, host: compute-2, vcpus: 2}
projects:
  - {id: proj-a, auto_reply: ack, action: MIGRATE, reply_delay_s: 0}
  - {id: proj-b, auto_reply: ack, action: LIVE_MIGRATE, reply_delay_s: 0}
timing: {migrate_s: 0, live_migrate_s: 0, host_maintenance_s: 0}
`;

const PROJECT_PAYLOAD_KEYS = [
  'service', 'state', 'session_id', 'project_id', 'instance_ids', 'allowed_actions', 'reply_url', 'reply_at', 'actions_at', 'metadata',
].sort();
const ENVELOPE_KEYS = ['priority', 'event_type', 'timestamp', 'publisher_id', 'message_id', 'payload'].sort();

// ---- a loopback webhook receiver

interface Envelope {
  priority: string;
  event_type: string;
  timestamp: string;
  publisher_id: string;
  message_id: string;
  payload: Record<string, unknown>;
}

interface Hit {
  path: string;
  body: Envelope;
  status: number;
  /** Date.now() when the response was sent. */
  at: number;
}

/** Decides the answer to the n-th request (0-based, over all paths); may hold it by returning a promise. */
type Policy = (n: number, path: string, body: Envelope) => number | Promise<number>;

class Receiver {
  readonly hits: Hit[] = [];
  private server: Server | null = null;
  private waiters: Array<{ ready: () => boolean; resolve: () => void }> = [];
  private seen = 0;
  port = 0;

  constructor(private readonly policy: Policy = () => 200) {}

  /** Listens on 127.0.0.1 (a free port unless one is given). */
  async listen(port = 0): Promise<this> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.keepAliveTimeout = 100;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  accepted(path?: string): Envelope[] {
    return this.hits.filter((h) => h.status >= 200 && h.status < 300 && (path === undefined || h.path === path)).map((h) => h.body);
  }

  requests(path: string): Envelope[] {
    return this.hits.filter((h) => h.path === path).map((h) => h.body);
  }

  firstAcceptedAt(): number | null {
    return this.hits.find((h) => h.status >= 200 && h.status < 300)?.at ?? null;
  }

  /** Resolves once `ready()` holds, looked at after every request the receiver has answered. */
  until(ready: () => boolean): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ ready, resolve }));
  }

  /** Resolves once `count` messages were accepted at `path`. */
  acceptedCount(path: string, count: number): Promise<void> {
    return this.until(() => this.accepted(path).length >= count);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const path = req.url ?? '/';
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Envelope;
    const status = await this.policy(this.seen++, path, body);
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(status < 300 ? '{}' : '{"error":"not now"}');
    this.hits.push({ path, body, status, at: Date.now() });
    for (const w of this.waiters.filter((x) => x.ready())) {
      this.waiters.splice(this.waiters.indexOf(w), 1);
      w.resolve();
    }
  }
}

/** A port nobody listens on (for now): taken from the OS, then let go. */
async function reservePort(): Promise<number> {
  const r = await new Receiver().listen();
  const port = r.port;
  await r.close();
  return port;
}

// ---- an engine over a fresh store and sim cloud

interface Rig {
  store: Store;
  engine: Engine;
  cloudId: string;
}

const rigs: Rig[] = [];
const receivers: Receiver[] = [];

function rig(delivery: { baseDelayMs: number; maxDelayMs: number; post?: Poster } = { baseDelayMs: 20, maxDelayMs: 200 }): Rig {
  const store = Store.open(':memory:');
  const clock = new RealClock();
  const cloudId = importCloud(store, parseCloudText(CLOUD, 'delivery test cloud'), 'test', clock.now());
  const engine = new Engine({ store, clock, delivery });
  engine.start();
  const r = { store, engine, cloudId };
  rigs.push(r);
  return r;
}

function receiver(policy?: Policy): Receiver {
  const r = new Receiver(policy);
  receivers.push(r);
  return r;
}

function sub(store: Store, projectId: string, eventType: string, url: string, format: SubscriptionFormat = 'fenix') {
  return subscribe(store, { projectId, eventType, url, format, sessionId: null }, Date.now());
}

/** Runs a session to its end; returns it with the time waitForEnd resolved. */
async function runSession(r: Rig): Promise<{ session: Session; endedAt: number }> {
  const created = await r.engine.createSession({}, { kind: 'sim', cloudId: r.cloudId });
  const session = await r.engine.waitForEnd(created.id);
  return { session, endedAt: Date.now() };
}

const outbox = (store: Store, url: string): number =>
  Number((store.statement('SELECT COUNT(*) AS n FROM deliveries WHERE url = ?').get(url) as { n: number }).n);

const deliveriesTo = (store: Store, sessionId: string, url: string): Delivery[] =>
  sessionDeliveries(store, sessionId).filter((d) => d.url === url);

const planned = (events: SessionEvent[], projectId: string) =>
  events.filter((e) => e.eventType === 'maintenance.planned' && e.payload.project_id === projectId);
const ofType = (events: SessionEvent[], type: string) => events.filter((e) => e.eventType === type);
const ids = (xs: Array<{ message_id: string } | SessionEvent>) => xs.map((x) => ('messageId' in x ? x.messageId : x.message_id));

/** Each message id once, in the order first seen. */
const collapse = (bodies: Envelope[]) => [...new Set(bodies.map((b) => b.message_id))];

afterEach(async () => {
  await Promise.all(rigs.splice(0).map((r) => r.engine.stop()));
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

describe('webhook delivery of a whole session (fenix envelope)', () => {
  it('sends each project its maintenance.planned events and the admin every session and host notice, in order', async () => {
    const r = rig();
    const rx = await receiver().listen();
    const urlA = rx.url('/a');
    const urlAdmin = rx.url('/admin');
    sub(r.store, 'proj-a', 'maintenance.planned', urlA);
    sub(r.store, 'admin', 'maintenance.session', urlAdmin);
    sub(r.store, 'admin', 'maintenance.host', urlAdmin);

    const { session } = await runSession(r);
    expect(session.state).toBe('MAINTENANCE_DONE');
    await Promise.all([rx.acceptedCount('/a', outbox(r.store, urlA)), rx.acceptedCount('/admin', outbox(r.store, urlAdmin))]);

    const events = r.store.events(session.id);
    const forA = planned(events, 'proj-a');
    expect(forA.length).toBeGreaterThan(3);
    expect(planned(events, 'proj-b').length).toBeGreaterThan(0); // and none of those came to /a

    // /a: exactly proj-a's questions and notices, in event order, each the stored payload in an envelope.
    const atA = rx.accepted('/a');
    expect(ids(atA)).toEqual(ids(forA));
    atA.forEach((body, i) => {
      const event = forA[i]!;
      expect(Object.keys(body).sort()).toEqual(ENVELOPE_KEYS);
      expect(body).toEqual({
        priority: 'INFO',
        event_type: 'maintenance.planned',
        timestamp: new Date(event.time).toISOString().replace('Z', ''),
        publisher_id: 'maintctl',
        message_id: event.messageId,
        payload: event.payload,
      });
      expect(Object.keys(body.payload).sort()).toEqual(PROJECT_PAYLOAD_KEYS);
      expect(body.payload).toMatchObject({ service: 'maintctl', session_id: session.id, project_id: 'proj-a' });
      expect(body.payload.reply_url).toBe(`http://127.0.0.1:12347/v1/maintenance/${session.id}/proj-a`);
    });
    const states = atA.map((b) => b.payload.state);
    expect(states).toContain('PLANNED_MAINTENANCE');
    expect(states).toContain('MAINTENANCE_COMPLETE');
    // INSTANCE_ACTION_DONE names the one instance; the questions name the project API URL.
    // (a-0 moves twice: compute-0 is emptied first, then the host it went to.)
    const done = atA.filter((b) => b.payload.state === 'INSTANCE_ACTION_DONE');
    const moved = r.store
      .operations(session.id)
      .filter((op) => op.kind === 'migrate' && op.status === 'done')
      .map((op) => op.target);
    expect(moved.length).toBeGreaterThanOrEqual(2);
    expect(done.map((b) => b.payload.instance_ids)).toEqual(moved.map((id) => [id]));
    expect(new Set(moved)).toEqual(new Set(['a-0-id', 'a-1-id']));
    for (const b of atA.filter((x) => x.payload.state !== 'INSTANCE_ACTION_DONE')) {
      expect(b.payload.instance_ids).toBe(b.payload.reply_url);
    }

    // /admin: two subscriptions, each in its own order.
    const atAdmin = rx.accepted('/admin');
    const sessionBodies = atAdmin.filter((b) => b.event_type === 'maintenance.session');
    const hostBodies = atAdmin.filter((b) => b.event_type === 'maintenance.host');
    expect(sessionBodies.length + hostBodies.length).toBe(atAdmin.length);
    expect(ids(sessionBodies)).toEqual(ids(ofType(events, 'maintenance.session')));
    expect(ids(hostBodies)).toEqual(ids(ofType(events, 'maintenance.host')));
    for (const b of atAdmin) expect(b.payload).toEqual(r.store.events(session.id).find((e) => e.messageId === b.message_id)!.payload);
    const sessionStates = sessionBodies.map((b) => b.payload.state);
    expect(sessionStates[0]).toBe('MAINTENANCE');
    expect(sessionStates.at(-1)).toBe('MAINTENANCE_DONE');
    expect(sessionBodies.at(-1)!.payload.percent_done).toBe(100);
    // Every host: IN_MAINTENANCE then MAINTENANCE_COMPLETE.
    const byHost = new Map<string, unknown[]>();
    for (const b of hostBodies) byHost.set(String(b.payload.host), [...(byHost.get(String(b.payload.host)) ?? []), b.payload.state]);
    expect([...byHost.keys()].sort()).toEqual(['compute-0', 'compute-1', 'compute-2']);
    for (const seq of byHost.values()) expect(seq).toEqual(['IN_MAINTENANCE', 'MAINTENANCE_COMPLETE']);
    for (const b of hostBodies) expect(b.payload).toMatchObject({ service: 'maintctl', session_id: session.id, project_id: 'admin' });

    // Nothing twice, and the outbox agrees.
    expect(rx.hits.every((h) => h.status === 200)).toBe(true);
    expect(new Set(ids(rx.accepted())).size).toBe(rx.hits.length);
    await r.engine.stop();
    const rows = sessionDeliveries(r.store, session.id);
    expect(rows.length).toBe(rx.hits.length);
    for (const d of rows) expect(d).toMatchObject({ status: 'delivered', attempts: 1, lastError: null });
  }, 15_000);
});

describe('retries', () => {
  it('gets everything through a receiver that answers 503 at first, in order, once each, without holding up the session', async () => {
    const r = rig();
    // The first request is also held until the session has ended: a slow receiver must not
    // hold the session up either.
    let sessionEnded!: () => void;
    const ended = new Promise<void>((resolve) => (sessionEnded = resolve));
    const rx = await receiver(async (n) => {
      if (n === 0) await ended;
      return n < 3 ? 503 : 200;
    }).listen();
    const urlA = rx.url('/a');
    const urlAdmin = rx.url('/admin');
    sub(r.store, 'proj-a', 'maintenance.planned', urlA);
    sub(r.store, 'admin', 'maintenance.session', urlAdmin);
    sub(r.store, 'admin', 'maintenance.host', urlAdmin);

    const { session, endedAt } = await runSession(r);
    sessionEnded();
    expect(session.state).toBe('MAINTENANCE_DONE');
    await Promise.all([rx.acceptedCount('/a', outbox(r.store, urlA)), rx.acceptedCount('/admin', outbox(r.store, urlAdmin))]);

    // The session finished before the receiver took a single message.
    const firstOk = rx.firstAcceptedAt()!;
    expect(endedAt).toBeLessThanOrEqual(firstOk);
    expect(session.updatedAt).toBeLessThanOrEqual(firstOk);
    expect(rx.hits.filter((h) => h.status === 503)).toHaveLength(3);

    const events = r.store.events(session.id);
    const streams: Array<[string, (b: Envelope) => boolean, SessionEvent[]]> = [
      ['/a', () => true, planned(events, 'proj-a')],
      ['/admin', (b) => b.event_type === 'maintenance.session', ofType(events, 'maintenance.session')],
      ['/admin', (b) => b.event_type === 'maintenance.host', ofType(events, 'maintenance.host')],
    ];
    for (const [path, mine, expected] of streams) {
      const accepted = rx.accepted(path).filter(mine);
      expect(ids(accepted)).toEqual(ids(expected)); // in order, each once
      // Retries repeat the head of the line; nothing behind it went out before it.
      expect(collapse(rx.requests(path).filter(mine))).toEqual(ids(expected));
    }

    await r.engine.stop();
    const rows = sessionDeliveries(r.store, session.id);
    expect(rows.every((d) => d.status === 'delivered' && d.lastError === null)).toBe(true);
    // attempts = the requests the receiver saw for that message at that URL.
    for (const d of rows) {
      const messageId = r.store.event(d.eventId)!.messageId;
      const path = new URL(d.url).pathname;
      expect(d.attempts).toBe(rx.hits.filter((h) => h.path === path && h.body.message_id === messageId).length);
    }
    const retried = rows.filter((d) => d.attempts > 1);
    expect(retried.length).toBeGreaterThan(0);
    expect(retried.reduce((sum, d) => sum + d.attempts - 1, 0)).toBe(3);
    // Only the first delivery of a subscription can have been turned away.
    const firsts = new Set([...new Set(rows.map((d) => d.subscriptionId))].map((s) => rows.find((d) => d.subscriptionId === s)!.id));
    for (const d of retried) expect(firsts.has(d.id)).toBe(true);
  }, 15_000);

  it('gets everything to a receiver that was not listening during the session, once it listens', async () => {
    // The real HTTP poster, watched: tells which messages it could not get through.
    const unreachable = new Set<string>();
    let onRefused = () => {};
    const post: Poster = (url, body, timeoutMs) =>
      httpPoster(url, body, timeoutMs).catch((err: unknown) => {
        unreachable.add((JSON.parse(body) as Envelope).message_id);
        onRefused();
        throw err;
      });
    const r = rig({ baseDelayMs: 20, maxDelayMs: 200, post });
    const port = await reservePort();
    const rx = receiver();
    const urlA = `http://127.0.0.1:${port}/a`;
    const urlAdmin = `http://127.0.0.1:${port}/admin`;
    sub(r.store, 'proj-a', 'maintenance.planned', urlA);
    sub(r.store, 'admin', 'maintenance.session', urlAdmin);
    sub(r.store, 'admin', 'maintenance.host', urlAdmin);

    const { session, endedAt } = await runSession(r);
    expect(session.state).toBe('MAINTENANCE_DONE');
    const events = r.store.events(session.id);
    const streams = [planned(events, 'proj-a'), ofType(events, 'maintenance.session'), ofType(events, 'maintenance.host')];
    // Before listening, let the first message of each subscription be turned away at least once.
    const heads = streams.map((stream) => stream[0]!.messageId);
    await new Promise<void>((resolve) => {
      onRefused = () => heads.every((id) => unreachable.has(id)) && resolve();
      onRefused();
    });
    // Meanwhile every message waits in the outbox.
    const waiting = sessionDeliveries(r.store, session.id);
    expect(waiting.length).toBe(outbox(r.store, urlA) + outbox(r.store, urlAdmin));
    expect(waiting.every((d) => d.status === 'pending')).toBe(true);
    for (const d of waiting.filter((x) => x.attempts > 0)) expect(d.lastError).toMatch(/cannot reach the receiver: ECONNREFUSED/);

    await rx.listen(port);
    const listeningAt = Date.now();
    await Promise.all([rx.acceptedCount('/a', outbox(r.store, urlA)), rx.acceptedCount('/admin', outbox(r.store, urlAdmin))]);
    expect(endedAt).toBeLessThanOrEqual(rx.firstAcceptedAt()!);

    expect(ids(rx.accepted('/a'))).toEqual(ids(planned(events, 'proj-a')));
    const admin = rx.accepted('/admin');
    expect(ids(admin.filter((b) => b.event_type === 'maintenance.session'))).toEqual(ids(ofType(events, 'maintenance.session')));
    expect(ids(admin.filter((b) => b.event_type === 'maintenance.host'))).toEqual(ids(ofType(events, 'maintenance.host')));
    expect(rx.hits.every((h) => h.status === 200)).toBe(true);
    expect(new Set(ids(rx.accepted())).size).toBe(rx.hits.length); // no duplicates

    await r.engine.stop();
    const rows = sessionDeliveries(r.store, session.id);
    expect(rows.every((d) => d.status === 'delivered' && d.lastError === null && d.deliveredAt! >= listeningAt)).toBe(true);
    const subscriptions = [...new Set(rows.map((d) => d.subscriptionId))];
    expect(subscriptions).toHaveLength(3);
    for (const s of subscriptions) {
      const [first, ...rest] = rows.filter((d) => d.subscriptionId === s);
      expect(first!.attempts).toBeGreaterThan(1);
      for (const d of rest) expect(d.attempts).toBe(1);
    }
  }, 15_000);
});

describe('receivers that refuse', () => {
  it('gives up a delivery answered 404 at once, and still sends the later ones', async () => {
    const r = rig();
    // /a turns away its first message only; /gone turns away everything.
    let seenA = 0;
    const rx = await receiver((_n, path) => (path === '/gone' ? 404 : path === '/a' && seenA++ === 0 ? 404 : 200)).listen();
    const urlA = rx.url('/a');
    const urlGone = rx.url('/gone');
    sub(r.store, 'proj-a', 'maintenance.planned', urlA);
    sub(r.store, 'admin', 'maintenance.session', urlGone);

    const { session } = await runSession(r);
    expect(session.state).toBe('MAINTENANCE_DONE');
    const events = r.store.events(session.id);
    const forA = planned(events, 'proj-a');
    const sessionEvents = ofType(events, 'maintenance.session');
    await rx.until(() => rx.requests('/a').length >= forA.length && rx.requests('/gone').length >= sessionEvents.length);

    // Each message was offered exactly once, in order, failed or not.
    expect(ids(rx.requests('/a'))).toEqual(ids(forA));
    expect(ids(rx.requests('/gone'))).toEqual(ids(sessionEvents));
    expect(ids(rx.accepted('/a'))).toEqual(ids(forA.slice(1)));

    await r.engine.stop();
    const [first, ...rest] = deliveriesTo(r.store, session.id, urlA);
    expect(first).toMatchObject({ status: 'failed', attempts: 1, deliveredAt: null });
    expect(first!.lastError).toMatch(/HTTP 404/);
    for (const d of rest) expect(d).toMatchObject({ status: 'delivered', attempts: 1, lastError: null });
    const gone = deliveriesTo(r.store, session.id, urlGone);
    expect(gone).toHaveLength(sessionEvents.length);
    for (const d of gone) {
      expect(d).toMatchObject({ status: 'failed', attempts: 1, deliveredAt: null });
      expect(d.lastError).toMatch(/HTTP 404/);
    }
  }, 15_000);
});

describe('unsubscribe', () => {
  it('cancels the pending deliveries of the subscription it removes, and no other', async () => {
    const r = rig();
    const port = await reservePort(); // /a is down for the whole session
    const rx = await receiver().listen();
    const urlA = `http://127.0.0.1:${port}/a`;
    const urlAdmin = rx.url('/admin');
    sub(r.store, 'proj-a', 'maintenance.planned', urlA);
    sub(r.store, 'admin', 'maintenance.session', urlAdmin);

    const { session } = await runSession(r);
    expect(session.state).toBe('MAINTENANCE_DONE');
    await rx.acceptedCount('/admin', outbox(r.store, urlAdmin));
    // Stopped so that no attempt is in flight while unsubscribing (see the report on that race).
    await r.engine.stop();
    const before = deliveriesTo(r.store, session.id, urlA);
    expect(before.length).toBe(planned(r.store.events(session.id), 'proj-a').length);
    expect(before.every((d) => d.status === 'pending')).toBe(true);

    expect(unsubscribe(r.store, 'proj-a', { url: urlA })).toBe(1);
    expect(listSubscriptions(r.store, 'proj-a')).toEqual([]);
    const after = deliveriesTo(r.store, session.id, urlA);
    expect(after.map((d) => d.id)).toEqual(before.map((d) => d.id));
    expect(after.every((d) => d.status === 'cancelled')).toBe(true);
    expect(nextDeliveryAt(r.store)).toBeNull(); // nothing left for any deliverer to send
    for (const d of deliveriesTo(r.store, session.id, urlAdmin)) expect(d.status).toBe('delivered');

    // A new engine on the same store, with /a listening now, sends nothing to it; new
    // events still reach the admin.
    const rxA = await receiver().listen(port);
    const engine = new Engine({ store: r.store, clock: new RealClock(), delivery: { baseDelayMs: 20, maxDelayMs: 200 } });
    rigs.push({ store: r.store, engine, cloudId: r.cloudId });
    engine.start();
    const second = await engine.createSession({}, { kind: 'sim', cloudId: r.cloudId });
    await engine.waitForEnd(second.id);
    await rx.acceptedCount('/admin', outbox(r.store, urlAdmin));
    await engine.stop();
    expect(rxA.hits).toEqual([]);
    expect(deliveriesTo(r.store, second.id, urlA)).toEqual([]);
  }, 15_000);
});

describe('subscriptions do not hold each other up', () => {
  it('keeps delivering to a fast receiver while another one hangs', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<number>((resolve) => (release = () => resolve(200)));
    const rx = await receiver((_n, path) => (path === '/slow' ? held : 200)).listen();
    const r = rig({ baseDelayMs: 20, maxDelayMs: 200 });
    sub(r.store, 'proj-a', 'maintenance.planned', rx.url('/slow'));
    sub(r.store, 'proj-a', 'maintenance.scheduled', rx.url('/fast'));
    await runSession(r);
    await rx.acceptedCount('/fast', outbox(r.store, rx.url('/fast')));
    // Everything reached /fast while /slow still sat on its first message.
    expect(rx.requests('/slow')).toEqual([]);
    release();
    await rx.acceptedCount('/slow', outbox(r.store, rx.url('/slow')));
  });
});

describe('unsubscribing while a delivery is under way', () => {
  it('leaves it cancelled whatever the receiver answers, and sends nothing more', async () => {
    let answer: (status: number) => void = () => undefined;
    let started: () => void = () => undefined;
    const inFlight = new Promise<void>((resolve) => (started = resolve));
    const rx = await receiver((n) => {
      if (n > 0) return 200;
      started();
      return new Promise<number>((resolve) => (answer = resolve));
    }).listen();
    const r = rig({ baseDelayMs: 20, maxDelayMs: 200 });
    sub(r.store, 'proj-a', 'maintenance.planned', rx.url('/a'));
    const { session } = await runSession(r);
    await inFlight;
    unsubscribe(r.store, 'proj-a', { url: rx.url('/a') });
    answer(503);
    await rx.until(() => rx.hits.length === 1);
    await r.engine.stop();
    const rows = deliveriesTo(r.store, session.id, rx.url('/a'));
    expect(rows.length).toBeGreaterThan(1);
    expect(rows.every((d) => d.status === 'cancelled')).toBe(true);
    expect(rx.hits.length).toBe(1);
  });
});

describe('session show', () => {
  it('counts the deliveries and lists the ones that failed, with the receiver\'s answer', async () => {
    const rx = await receiver((_n, path) => (path === '/gone' ? 404 : 200)).listen();
    const r = rig();
    sub(r.store, 'proj-a', 'maintenance.planned', rx.url('/gone'));
    sub(r.store, 'admin', 'maintenance.session', rx.url('/admin'));
    const { session } = await runSession(r);
    await rx.until(() => rx.hits.length >= outbox(r.store, rx.url('/gone')) + outbox(r.store, rx.url('/admin')));
    await r.engine.stop(); // lets the last outcomes be recorded
    const doc = await sessionDocument(r.engine.repo, session.id);
    expect(doc.deliveries.failed).toBe(outbox(r.store, rx.url('/gone')));
    expect(doc.deliveries.delivered).toBe(outbox(r.store, rx.url('/admin')));
    expect(doc.deliveries.failures[0]).toMatchObject({ event_type: 'maintenance.planned', url: rx.url('/gone'), attempts: 1, last_error: 'the receiver answered HTTP 404' });
  });
});

describe('the same webhook subscribed under both names of the project event', () => {
  it('gets each notification once, and the engine can wait until all are out', async () => {
    let refused = 0;
    const rx = await receiver(() => (refused++ < 2 ? 503 : 200)).listen();
    const r = rig();
    sub(r.store, 'proj-a', 'maintenance.planned', rx.url('/a'));
    sub(r.store, 'proj-a', 'maintenance.scheduled', rx.url('/a'));
    const { session } = await runSession(r);
    await r.engine.whenDelivered();
    const rows = deliveriesTo(r.store, session.id, rx.url('/a'));
    expect(rows.length).toBe(planned(r.store.events(session.id), 'proj-a').length);
    expect(rows.every((d) => d.status === 'delivered')).toBe(true);
    expect(collapse(rx.accepted('/a')).length).toBe(rows.length);
    expect(rx.accepted('/a').length).toBe(rows.length);
  });
});

describe('notifications of a cluster update', () => {
  it('POSTs every notification to a webhook subscribed to maintctl.notification, in order, once each', async () => {
    const r = rig();
    const rx = await receiver().listen();
    sub(r.store, 'admin', 'maintctl.notification', rx.url('/notices'));
    await addRelease(r.engine.repo, { name: 'r1', version: '1.0' }, Date.now());
    await addRelease(r.engine.repo, { name: 'r2', version: '2.0', can_update_from: ['1.0'] }, Date.now());
    await createCluster(r.engine.repo, { name: 'prod', release: 'r1', hosts: ['compute-0', 'compute-1', 'compute-2'] }, Date.now());
    const created = await r.engine.createSession({ cluster: 'prod', release: 'r2' }, { kind: 'sim', cloudId: r.cloudId });
    expect((await r.engine.waitForEnd(created.id)).state).toBe('MAINTENANCE_DONE');
    const notices = ofType(r.store.events(null), 'maintctl.notification');
    expect(notices).toHaveLength(5); // started, three hosts, done
    await rx.acceptedCount('/notices', notices.length);
    const bodies = rx.accepted('/notices');
    expect(bodies.every((b) => b.event_type === 'maintctl.notification')).toBe(true);
    expect(collapse(bodies)).toEqual(ids(notices));
    expect(bodies.map((b) => b.payload.topic)).toEqual(['warning', 'done', 'done', 'done', 'done']);
    expect(bodies.at(-1)!.payload).toMatchObject({ cluster: 'prod', host: null, session_id: created.id, message: 'update of cluster prod to r2 done: it is operational on r2' });
  });
});
