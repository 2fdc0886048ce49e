// A VNFM written for Fenix + AODH (as OPNFV Doctor's sample app manager): takes alarms on a
// webhook, GETs its instance list from instance_ids, PUTs its reply at reply_url. Each payload
// it saw is kept, with the status its reply got. `startDoctorVnfm` is shaped like Doctor's later
// VNFM for Fenix's vnf workflow: it declares its constraints when it starts, answers each instance
// with the singular instance_action, and removes its constraints when it stops.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { payloadFromAodh, type AodhAlarmBody } from '../../src/notify/formats.js';

export async function jsonCall(method: 'GET' | 'PUT' | 'POST' | 'DELETE', url: string, body?: unknown, headers: Record<string, string> = {}) {
  const r = await request(url, { method, body: body === undefined ? undefined : JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
  return { status: r.statusCode, body: (await r.body.json()) as Record<string, unknown> };
}

export interface Vnfm {
  url: string;
  seen: Array<Record<string, unknown>>;
  /** The alarm bodies as they came (event_type, traits with their types). */
  bodies: AodhAlarmBody[];
  /** Statuses of the replies it PUT, in order (the last one of each, when retried). */
  replies: number[];
  /** The message id of every notification received, in order (one received twice shows twice). */
  messageIds: string[];
  /** When each of those was received (Date.now(), same order). */
  receivedAt: number[];
  /** Each reply it sent: for which session, what, the status it got (0: never answered) and when. */
  answered: Array<{ sessionId: string; state: string; status: number; at: number }>;
  close(): Promise<void>;
}

export interface VnfmOptions {
  /** A call that fails in transit (a replica dying behind a balancer) is made again, as a VNFM would. */
  retry?: boolean;
  /** Called just before each reply is sent. */
  beforeReply?: (sessionId: string) => void;
}

type Call = typeof jsonCall;

/** jsonCall, with `retry`: made again (up to 20 times) when it fails in transit or gets a 5xx. */
function caller(options: VnfmOptions): Call {
  return async (...args) => {
    for (let attempt = 1; ; attempt++) {
      try {
        const answer = await jsonCall(...args);
        if (!options.retry || answer.status < 500 || attempt >= 20) return answer;
      } catch (err) {
        if (!options.retry || attempt >= 20) throw err;
      }
    }
  };
}

/** What the VNFM replies to a payload (null: nothing, e.g. INSTANCE_ACTION_DONE). */
type Answer = (payload: Record<string, unknown>, call: Call) => Promise<Record<string, unknown> | null>;

/** Fenix's first VNFMs: every instance of the question gets MIGRATE, listed from instance_ids. */
const fenixAnswer =
  (headers: Record<string, string>): Answer =>
  async (payload, call) => {
    const state = String(payload.state);
    if (state === 'INSTANCE_ACTION_DONE') return null;
    const reply: Record<string, unknown> = { state: `ACK_${state}`, session_id: payload.session_id };
    if ((payload.allowed_actions as string[]).includes('MIGRATE')) {
      const ids = (await call('GET', String(payload.instance_ids), undefined, headers)).body.instance_ids as string[];
      reply.instance_actions = Object.fromEntries(ids.map((id) => [id, 'MIGRATE']));
    }
    return reply;
  };

/** Doctor's VNFM on Fenix's vnf workflow: one instance per question (instance_ids[0]), answered with instance_action. */
const doctorAnswer: Answer = async (payload) => {
  const state = String(payload.state);
  if (state === 'INSTANCE_ACTION_DONE') return null;
  const reply: Record<string, unknown> = { state: `ACK_${state}`, session_id: payload.session_id };
  if (state === 'PREPARE_MAINTENANCE' || state === 'PLANNED_MAINTENANCE') {
    if (!(payload.allowed_actions as string[]).includes('MIGRATE')) throw new Error('MIGRATE not supported');
    reply.instance_action = 'MIGRATE';
  }
  return reply;
};

async function serveAlarms(answer: Answer, headers: Record<string, string>, options: VnfmOptions = {}): Promise<Vnfm> {
  const seen: Array<Record<string, unknown>> = [];
  const bodies: AodhAlarmBody[] = [];
  const replies: number[] = [];
  const messageIds: string[] = [];
  const receivedAt: number[] = [];
  const answered: Vnfm['answered'] = [];
  const call = caller(options);
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c)).on('end', async () => {
      res.end('OK');
      const body = JSON.parse(Buffer.concat(chunks).toString()) as AodhAlarmBody;
      messageIds.push(String(body.reason_data.event.message_id));
      receivedAt.push(Date.now());
      const payload = payloadFromAodh(body);
      bodies.push(body);
      seen.push(payload);
      const reply = await answer(payload, call);
      if (!reply) return;
      const sessionId = String(payload.session_id);
      options.beforeReply?.(sessionId);
      const status = await call('PUT', String(payload.reply_url), reply, headers).then((r) => r.status, () => 0);
      replies.push(status);
      answered.push({ sessionId, state: String(reply.state), status, at: Date.now() });
    });
  });
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
  return {
    url: `http://127.0.0.1:${port}/maintenance`,
    seen,
    bodies,
    replies,
    messageIds,
    receivedAt,
    answered,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Starts the VNFM on loopback; `headers` go with its API calls (a token). */
export function startVnfm(headers: Record<string, string> = {}, options: VnfmOptions = {}): Promise<Vnfm> {
  return serveAlarms(fenixAnswer(headers), headers, options);
}

export interface DoctorVnfm extends Vnfm {
  /** Statuses of its constraint calls: the PUTs at start, the DELETEs at stop. */
  constraintCalls: number[];
}

/**
 * Doctor's VNFM for the vnf workflow against the API at `api` with its project's token: at start it
 * PUTs its groups and instance constraints and subscribes to maintenance.scheduled in the AODH form;
 * `close()` DELETEs its constraints, then stops.
 */
export async function startDoctorVnfm(
  api: string,
  project: string,
  headers: Record<string, string>,
  constraints: { groups: Array<Record<string, unknown> & { group_id: string }>; instances: Array<Record<string, unknown> & { instance_id: string }> },
): Promise<DoctorVnfm> {
  const vnfm = await serveAlarms(doctorAnswer, headers);
  const constraintCalls: number[] = [];
  for (const g of constraints.groups) constraintCalls.push((await jsonCall('PUT', `${api}/v1/instance_group/${g.group_id}`, g, headers)).status);
  for (const i of constraints.instances) constraintCalls.push((await jsonCall('PUT', `${api}/v1/instance/${i.instance_id}`, i, headers)).status);
  const sub = await jsonCall('POST', `${api}/v1/projects/${project}/subscriptions`, { event_type: 'maintenance.scheduled', url: vnfm.url, format: 'aodh' }, headers);
  if (sub.status !== 200) throw new Error(`the VNFM could not subscribe: ${JSON.stringify(sub.body)}`);
  return {
    ...vnfm,
    constraintCalls,
    close: async () => {
      for (const i of constraints.instances) constraintCalls.push((await jsonCall('DELETE', `${api}/v1/instance/${i.instance_id}`, undefined, headers)).status);
      for (const g of constraints.groups) constraintCalls.push((await jsonCall('DELETE', `${api}/v1/instance_group/${g.group_id}`, undefined, headers)).status);
      await vnfm.close();
    },
  };
}
