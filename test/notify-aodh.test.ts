// The AODH form of a notification: the body of an AODH event alarm, as VNFMs written for
// Fenix + AODH receive it (OPNFV Doctor's sample app manager), payload fields as traits. Such a
// VNFM decodes it as {t[0]: decode(str(t[2])) for t in body['reason_data']['event']['traits']},
// where decode parses text holding "[" or "{" as YAML (JSON is YAML).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import type { SessionEvent } from '../src/domain/model.js';
import { RealClock } from '../src/engine/clock.js';
import { Engine } from '../src/engine/engine.js';
import { importCloud, parseCloudText } from '../src/infra/sim/cloud-file.js';
import { aodhBody, payloadFromAodh, toTraits, type AodhAlarmBody, type Trait } from '../src/notify/formats.js';
import { Store } from '../src/store/store.js';
import { sessionDeliveries, subscribe } from '../src/store/subscriptions.js';
import { harness, runSession } from './helpers.js';

const NOTICE_TYPES = ['maintenance.planned', 'maintenance.host', 'maintenance.session'];
const notices = (events: SessionEvent[]) => events.filter((e) => NOTICE_TYPES.includes(e.eventType));

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

// A session's metadata travels inside every maintenance.planned payload: make it rich.
const METADATA = { openstack_version: 'Train', note: 'kernel 5.4', limits: { max: 3, ratio: 0.5, ok: true, none: null }, tags: ['a', 'b'] };

/** Doctor's sample app manager, line for line: str() of each value, YAML for text with [ or {. */
function doctorDecode(body: AodhAlarmBody): Record<string, unknown> {
  const pyStr = (v: Trait[2]) => (v === null ? 'None' : typeof v === 'string' ? v : String(v));
  const decode = (text: string) => (text.includes('[') || text.includes('{') ? (parseYaml(text) as unknown) : text);
  return Object.fromEntries(body.reason_data.event.traits.map((t) => [t[0], decode(pyStr(t[2]))]));
}

/** What doctorDecode should give for a payload: lists and dicts whole, scalars as Python's str(). */
function asDoctorSees(payload: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(payload).map(([k, v]) => [k, v === null ? 'None' : typeof v === 'object' ? v : String(v)]),
  );
}

/** reply_at and actions_at are datetime traits (type 4) in ISO 8601, as Ceilometer's event definitions declare them. */
const DATETIMES = ['reply_at', 'actions_at'];
const isoOf = (fenixTime: string) => `${fenixTime.replace(' ', 'T')}.000`;
const withIsoTimes = (payload: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(payload).map(([k, v]) => [k, DATETIMES.includes(k) && typeof v === 'string' ? isoOf(v) : v]));

function expectTraitsOf(payload: Record<string, unknown>, traits: Trait[]): void {
  expect(traits.map((t) => t[0])).toEqual(Object.keys(payload));
  for (const trait of traits) {
    expect(trait).toHaveLength(3);
    const [name, type, value] = trait;
    const original = payload[name];
    if (DATETIMES.includes(name) && typeof original === 'string') expect([type, value]).toEqual([4, isoOf(original)]);
    else if (original === null) expect([type, value]).toEqual([1, null]);
    else if (typeof original === 'string') expect([type, value]).toEqual([1, original]);
    else if (typeof original === 'number') expect([type, value]).toEqual([Number.isInteger(original) ? 2 : 3, original]);
    else {
      // Lists and dicts travel as text (JSON, which is YAML).
      expect(type).toBe(1);
      expect(typeof value).toBe('string');
      expect(JSON.parse(value as string)).toEqual(original);
    }
  }
}

function expectAodhBodyOf(event: SessionEvent, body: AodhAlarmBody, subscriptionId: number, projectId: string): void {
  expect(body).toMatchObject({
    alarm_id: `maintctl-subscription-${subscriptionId}`,
    alarm_name: `${projectId}_${event.eventType}`,
    current: 'alarm',
    reason_data: {
      type: 'event',
      event: { message_id: event.messageId, event_type: event.eventType, generated: new Date(event.time).toISOString().replace('Z', '') },
    },
  });
  expect(body.reason).toContain(event.messageId);
  expectTraitsOf(event.payload, body.reason_data.event.traits);
  expect(payloadFromAodh(body)).toEqual(withIsoTimes(event.payload));
  expect(doctorDecode(body)).toEqual(asDoctorSees(withIsoTimes(event.payload)));
}

describe('aodhBody / payloadFromAodh on payloads recorded by sessions', () => {
  it('round-trips every maintenance.planned, maintenance.host and maintenance.session payload of a whole session', async () => {
    const h = harness(CLOUD);
    const { session, events } = await runSession(h, { metadata: METADATA });
    expect(session.state).toBe('MAINTENANCE_DONE');
    const recorded = notices(events);
    expect(new Set(recorded.map((e) => e.eventType))).toEqual(new Set(NOTICE_TYPES));
    const states = new Set(recorded.filter((e) => e.eventType === 'maintenance.planned').map((e) => e.payload.state));
    expect(states).toEqual(new Set(['MAINTENANCE', 'PREPARE_MAINTENANCE', 'PLANNED_MAINTENANCE', 'INSTANCE_ACTION_DONE', 'MAINTENANCE_COMPLETE']));

    for (const event of recorded) {
      // What the receiver parses is JSON: send it through JSON first.
      const body = JSON.parse(JSON.stringify(aodhBody(event, 1, 'proj-a'))) as AodhAlarmBody;
      expectAodhBodyOf(event, body, 1, 'proj-a');
    }

    // What a Doctor VNFM gets in its dict, concretely.
    const planned = recorded.find((e) => e.eventType === 'maintenance.planned' && e.payload.state === 'PLANNED_MAINTENANCE')!;
    const seen = doctorDecode(aodhBody(planned, 1, 'proj-a'));
    expect(seen.metadata).toEqual(METADATA);
    expect(Array.isArray(seen.allowed_actions)).toBe(true);
    expect(seen.instance_ids).toBe(planned.payload.reply_url);
    const done = recorded.find((e) => e.payload.state === 'INSTANCE_ACTION_DONE')!;
    const doneTraits = aodhBody(done, 1, 'proj-a').reason_data.event.traits;
    expect(doneTraits.find((t) => t[0] === 'instance_ids')).toEqual(['instance_ids', 1, JSON.stringify(done.payload.instance_ids)]);
    expect(doctorDecode(aodhBody(done, 1, 'proj-a')).instance_ids).toEqual(done.payload.instance_ids);
    expect((done.payload.instance_ids as string[]).length).toBe(1);
    const progress = recorded.find((e) => e.eventType === 'maintenance.session' && e.payload.percent_done === 33)!;
    expect(aodhBody(progress, 1, 'admin').reason_data.event.traits.find((t) => t[0] === 'percent_done')).toEqual(['percent_done', 2, 33]);
  });

  it('round-trips the notices of a failed session (a failure text, a previous state)', async () => {
    const h = harness(`
hosts:
  - {name: compute-0, vcpus: 4}
  - {name: compute-1, vcpus: 4}
instances:
  - {name: a-0, project: proj-a, host: compute-0, vcpus: 2}
  - {name: b-0, project: proj-b, host: compute-1, vcpus: 2}
projects:
  - {id: proj-a, auto_reply: ack}
  - {id: proj-b, auto_reply: nack}
`);
    const { session, events } = await runSession(h);
    expect(session.state).toBe('MAINTENANCE_FAILED');
    const last = notices(events).at(-1)!;
    expect(last.payload).toMatchObject({ state: 'MAINTENANCE_FAILED', failure: session.failure });
    for (const event of notices(events)) expectAodhBodyOf(event, aodhBody(event, 7, 'admin'), 7, 'admin');
  });

  it('types traits: 1 text, 2 integers, 3 floats; null as text; lists and dicts as text', () => {
    const payload = { s: 'x', i: 3, zero: 0, neg: -2, f: 0.25, n: null, l: ['a', 1], d: { k: [null, 1.5] }, e: [] as unknown[], o: {} };
    expect(toTraits(payload)).toEqual([
      ['s', 1, 'x'],
      ['i', 2, 3],
      ['zero', 2, 0],
      ['neg', 2, -2],
      ['f', 3, 0.25],
      ['n', 1, null],
      ['l', 1, '["a",1]'],
      ['d', 1, '{"k":[null,1.5]}'],
      ['e', 1, '[]'],
      ['o', 1, '{}'],
    ]);
  });
});

// ---- delivered over HTTP

interface Hit {
  path: string;
  body: AodhAlarmBody;
}

const servers: Server[] = [];
const engines: Engine[] = [];

afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.stop()));
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
});

describe('text that looks like a list or a dict', () => {
  it('comes back as the same text from both decoders', () => {
    const payload = { failure: 'MIGRATE of instance web-{1} failed: [simulated] fault', state: 'MAINTENANCE_FAILED' };
    const body = aodhBody({ id: 1, sessionId: 's', time: 0, eventType: 'maintenance.session', messageId: 'm', payload }, 1, 'admin');
    expect(payloadFromAodh(JSON.parse(JSON.stringify(body)) as AodhAlarmBody)).toEqual(payload);
    expect(doctorDecode(body)).toEqual(payload);
  });
});

describe('a subscription in the aodh format', () => {
  it('receives alarm bodies whose traits decode to the stored payloads', async () => {
    const hits: Hit[] = [];
    let expected = Number.POSITIVE_INFINITY;
    let allIn!: () => void;
    const received = new Promise<void>((resolve) => (allIn = resolve));
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
        hits.push({ path: req.url ?? '/', body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as AodhAlarmBody });
        if (hits.length >= expected) allIn();
      });
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const store = Store.open(':memory:');
    const clock = new RealClock();
    const cloudId = importCloud(store, parseCloudText(CLOUD, 'aodh test cloud'), 'test', clock.now());
    const subA = subscribe(store, { projectId: 'proj-a', eventType: 'maintenance.planned', url: `${base}/alarm/a`, format: 'aodh', sessionId: null }, clock.now());
    const subS = subscribe(store, { projectId: 'admin', eventType: 'maintenance.session', url: `${base}/alarm/admin`, format: 'aodh', sessionId: null }, clock.now());
    const subH = subscribe(store, { projectId: 'admin', eventType: 'maintenance.host', url: `${base}/alarm/admin`, format: 'aodh', sessionId: null }, clock.now());
    const engine = new Engine({ store, clock, delivery: { baseDelayMs: 20, maxDelayMs: 200 } });
    engines.push(engine);
    engine.start();
    const created = await engine.createSession({ metadata: METADATA }, { kind: 'sim', cloudId });
    const session = await engine.waitForEnd(created.id);
    expect(session.state).toBe('MAINTENANCE_DONE');

    expected = Number((store.statement('SELECT COUNT(*) AS n FROM deliveries').get() as { n: number }).n);
    if (hits.length >= expected) allIn();
    await received;
    expect(hits).toHaveLength(expected);

    const events = store.events(session.id);
    const streams = [
      { sub: subA, path: '/alarm/a', events: events.filter((e) => e.eventType === 'maintenance.planned' && e.payload.project_id === 'proj-a') },
      { sub: subS, path: '/alarm/admin', events: events.filter((e) => e.eventType === 'maintenance.session') },
      { sub: subH, path: '/alarm/admin', events: events.filter((e) => e.eventType === 'maintenance.host') },
    ];
    for (const { sub, path, events: mine } of streams) {
      const bodies = hits.filter((h) => h.path === path && h.body.reason_data.event.event_type === sub.eventType).map((h) => h.body);
      expect(bodies.map((b) => b.reason_data.event.message_id)).toEqual(mine.map((e) => e.messageId));
      bodies.forEach((body, i) => {
        expect(body.reason_data.type).toBe('event');
        expect(Array.isArray(body.reason_data.event.traits)).toBe(true);
        expectAodhBodyOf(mine[i]!, body, sub.id, sub.projectId);
      });
    }
    await engine.stop();
    for (const d of sessionDeliveries(store, session.id)) expect(d).toMatchObject({ format: 'aodh', status: 'delivered', attempts: 1 });
  }, 15_000);
});
