// Conformance with Fenix as its clients use it: the seed examples sent verbatim (seed 000's
// create, seed 001's project reply), and the client flow of OPNFV Doctor's sample app manager
// (create with hosts: [], poll GET for the state, AODH-form webhooks, GET instance_ids, PUT
// replies with instance_actions and with the single instance_action) to MAINTENANCE_DONE.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { storePath } from '../src/client/state-dir.js';
import { payloadFromAodh, type AodhAlarmBody } from '../src/notify/formats.js';
import { Store } from '../src/store/store.js';
import { subscribe } from '../src/store/subscriptions.js';
import { startServer, tempDir, type RunningServer } from './support/serve.js';
import { jsonCall } from './support/vnfm.js';

const SEED_CREATE = readFileSync(join(__dirname, 'fixtures', 'fenix-create-session.json'), 'utf8');
/** Seed 001's PUT /v1/maintenance/<session_id>/<project_id>/ example, as written there. */
const SEED_REPLY = `{
    "instance_actions": {"109e14d9-6566-42b3-93e4-76605f264d8f": "MIGRATE",
                         "71285107-f0fc-4428-a8b2-0b3edd64bcad": "MIGRATE"},
    "state": "ACK_PLANNED_MAINTENANCE"
}`;
const SEED_IDS = ['109e14d9-6566-42b3-93e4-76605f264d8f', '71285107-f0fc-4428-a8b2-0b3edd64bcad'];

/** The seed's three computes; the seed's two instances (project p-seed) on the first. */
const CLOUD = `
hosts:
  - {name: overcloud-novacompute-1.opnfvlf.org, vcpus: 4}
  - {name: overcloud-novacompute-2.opnfvlf.org, vcpus: 4}
  - {name: overcloud-novacompute-3.opnfvlf.org, vcpus: 4}
instances:
  - {id: ${SEED_IDS[0]}, name: vnf-0, project: p-seed, host: overcloud-novacompute-1.opnfvlf.org, vcpus: 1}
  - {id: ${SEED_IDS[1]}, name: vnf-1, project: p-seed, host: overcloud-novacompute-1.opnfvlf.org, vcpus: 1}
timing: {migrate_s: 0, live_migrate_s: 0, host_maintenance_s: 0}
`;

const closers: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of closers.splice(0)) await c();
});

/** A raw POST/PUT of `text` exactly as given. */
async function sendText(method: 'POST' | 'PUT', url: string, text: string) {
  const { request } = await import('undici');
  const r = await request(url, { method, body: text, headers: { 'content-type': 'application/json' } });
  return { status: r.statusCode, body: (await r.body.json()) as Record<string, unknown> };
}

/**
 * The Doctor-style VNFM: takes AODH alarms, GETs instance_ids, PUTs its reply at reply_url:
 * for PLANNED_MAINTENANCE the seed's reply text verbatim (seed=true), or one instance_action per
 * instance; other questions ACKed with instance_actions for all.
 */
async function doctorVnfm(server: RunningServer, useSeedReply: boolean) {
  const puts: Array<{ body: string; status: number }> = [];
  const listings: unknown[] = [];
  const vnfm: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString())).on('end', async () => {
      res.end('OK');
      const p = payloadFromAodh(JSON.parse(text) as AodhAlarmBody);
      const state = String(p.state);
      if (state === 'INSTANCE_ACTION_DONE') return;
      const put = async (body: string) => {
        const r = await sendText('PUT', String(p.reply_url), body);
        puts.push({ body, status: r.status });
      };
      if (!(p.allowed_actions as string[]).length) return put(JSON.stringify({ state: `ACK_${state}`, session_id: p.session_id }));
      const listing = (await jsonCall('GET', String(p.instance_ids))).body;
      listings.push(listing.instance_ids);
      const ids = listing.instance_ids as string[];
      if (state === 'PLANNED_MAINTENANCE' && useSeedReply) return put(SEED_REPLY);
      if (useSeedReply) return put(JSON.stringify({ state: `ACK_${state}`, instance_actions: Object.fromEntries(ids.map((id) => [id, 'MIGRATE'])) }));
      // Later Fenix's single instance_action: the same action for every instance asked about.
      await put(JSON.stringify({ state: `ACK_${state}`, instance_action: 'MIGRATE', instance_ids: ids, session_id: p.session_id }));
    });
  });
  await new Promise<void>((resolve) => vnfm.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => vnfm.close(resolve)));
  return { url: `http://127.0.0.1:${(vnfm.address() as AddressInfo).port}/alarm`, puts, listings };
}

async function serverWithVnfm(useSeedReply: boolean) {
  const stateDir = tempDir('maintctl-conform-');
  const server = await startServer({ stateDir, cloudYaml: CLOUD });
  closers.push(() => server.stop());
  const vnfm = await doctorVnfm(server, useSeedReply);
  const store = Store.open(storePath(stateDir));
  subscribe(store, { projectId: 'p-seed', eventType: 'maintenance.planned', url: vnfm.url, format: 'aodh', sessionId: null }, Date.now());
  store.close();
  return { server, vnfm };
}

/** Doctor polls GET /v1/maintenance/<id>/ until the state is final. */
async function pollToEnd(base: string, id: string): Promise<Record<string, unknown>> {
  for (;;) {
    const r = await jsonCall('GET', `${base}/v1/maintenance/${id}/`);
    expect(r.status).toBe(200);
    if (['MAINTENANCE_DONE', 'MAINTENANCE_FAILED'].includes(String(r.body.state))) return r.body;
    const { setTimeout } = await import('node:timers/promises');
    await setTimeout(20); // a client's poll interval, not a wait for the server
  }
}

describe('Fenix conformance', () => {
  it("reads seed 000's create verbatim (its plug-ins may come from its bundle); with them present it runs in the seed's shapes", async () => {
    const { server } = await serverWithVnfm(true);
    // The seed's plug-ins may come from its download list (plugins1.tar.gz): accepted, and looked
    // for once the bundle is unpacked. Its download server is made up, so the session is deleted.
    const verbatim = await sendText('POST', `${server.url}/v1/maintenance/`, SEED_CREATE);
    expect(verbatim.status, JSON.stringify(verbatim.body)).toBe(200);
    expect((await jsonCall('DELETE', `${server.url}/v1/maintenance/${String(verbatim.body.session_id)}`)).status).toBe(200);
    // With dummies in their place and nothing to download, it runs in the seed's shapes.
    const seed = JSON.parse(SEED_CREATE) as { actions: Array<{ plugin: string }>; download: unknown[] };
    const withDummies = JSON.stringify({ ...seed, actions: seed.actions.map((a) => ({ ...a, plugin: 'dummy' })), download: [] });
    const created = await sendText('POST', `${server.url}/v1/maintenance/`, withDummies);
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect(created.body).toEqual({ session_id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    const id = String(created.body.session_id);
    const listed = await jsonCall('GET', `${server.url}/v1/maintenance/`);
    expect(listed.body.session_id).toContain(id);
    const state = await jsonCall('GET', `${server.url}/v1/maintenance/${id}/`);
    expect(typeof state.body.state).toBe('string');
    expect(await pollToEnd(server.url, id)).toMatchObject({ state: 'MAINTENANCE_DONE' });
    expect((await jsonCall('GET', `${server.url}/v1/maintenance/${id}/detail`)).body).toMatchObject({
      hosts: expect.arrayContaining([expect.objectContaining({ name: 'overcloud-novacompute-3.opnfvlf.org' })]),
      metadata: { openstack_release: 'Queens' },
    });
    expect((await jsonCall('DELETE', `${server.url}/v1/maintenance/${id}/`)).status).toBe(200);
  });

  it("runs Doctor's flow with seed 001's reply verbatim (instance_actions) to MAINTENANCE_DONE", async () => {
    const { server, vnfm } = await serverWithVnfm(true);
    const created = await jsonCall('POST', `${server.url}/v1/maintenance`, { hosts: [], state: 'MAINTENANCE', maintenance_at: '2018-02-28 06:06:03', metadata: {}, workflow: 'default' });
    const id = String(created.body.session_id);
    expect(await pollToEnd(server.url, id)).toMatchObject({ state: 'MAINTENANCE_DONE', percent_done: 100 });
    expect(vnfm.puts.find((p) => p.body === SEED_REPLY)).toEqual({ body: SEED_REPLY, status: 200 });
    expect(vnfm.listings).toContainEqual(SEED_IDS);
    expect(vnfm.puts.every((p) => p.status === 200)).toBe(true);
  });

  it("runs Doctor's flow with the single instance_action to MAINTENANCE_DONE", async () => {
    const { server, vnfm } = await serverWithVnfm(false);
    const created = await jsonCall('POST', `${server.url}/v1/maintenance`, { hosts: [] });
    const id = String(created.body.session_id);
    const end = await pollToEnd(server.url, id);
    expect(end, JSON.stringify({ end, puts: vnfm.puts })).toMatchObject({ state: 'MAINTENANCE_DONE' });
    const single = vnfm.puts.filter((p) => JSON.parse(p.body).instance_action);
    expect(single.length).toBeGreaterThanOrEqual(1);
    expect(single.every((p) => p.status === 200)).toBe(true);
  });
});
