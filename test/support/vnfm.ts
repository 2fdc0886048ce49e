// A VNFM written for Fenix + AODH (as OPNFV Doctor's sample app manager): takes alarms on a
// webhook, GETs its instance list from instance_ids, PUTs its reply at reply_url. Each payload
// it saw is kept, with the status its reply got.
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
  /** Statuses of the replies it PUT, in order (the last one of each, when retried). */
  replies: number[];
  /** The message id of every notification received, in order (one received twice shows twice). */
  messageIds: string[];
  close(): Promise<void>;
}

/** Starts the VNFM on loopback; `headers` go with its API calls (a token). */
export async function startVnfm(
  headers: Record<string, string> = {},
  options: { retry?: boolean; beforeReply?: (sessionId: string) => void } = {},
): Promise<Vnfm> {
  const seen: Array<Record<string, unknown>> = [];
  const replies: number[] = [];
  const messageIds: string[] = [];
  // With `retry`, a call that fails in transit (a replica dying behind a balancer) is made again, as a VNFM would.
  const call: typeof jsonCall = async (...args) => {
    for (let attempt = 1; ; attempt++) {
      try {
        const answer = await jsonCall(...args);
        if (!options.retry || answer.status < 500 || attempt >= 20) return answer;
      } catch (err) {
        if (!options.retry || attempt >= 20) throw err;
      }
    }
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c)).on('end', async () => {
      res.end('OK');
      const body = JSON.parse(Buffer.concat(chunks).toString()) as AodhAlarmBody;
      messageIds.push(String(body.reason_data.event.message_id));
      const payload = payloadFromAodh(body);
      seen.push(payload);
      const state = String(payload.state);
      if (state === 'INSTANCE_ACTION_DONE') return;
      const reply: Record<string, unknown> = { state: `ACK_${state}`, session_id: payload.session_id };
      if ((payload.allowed_actions as string[]).includes('MIGRATE')) {
        const ids = (await call('GET', String(payload.instance_ids), undefined, headers)).body.instance_ids as string[];
        reply.instance_actions = Object.fromEntries(ids.map((id) => [id, 'MIGRATE']));
      }
      options.beforeReply?.(String(payload.session_id));
      replies.push((await call('PUT', String(payload.reply_url), reply, headers)).status);
    });
  });
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
  return {
    url: `http://127.0.0.1:${port}/maintenance`,
    seen,
    replies,
    messageIds,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
