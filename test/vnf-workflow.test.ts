// The vnf workflow over `serve` with tokens, driven by a VNFM shaped like OPNFV Doctor's: it PUTs
// its instance groups and instance constraints at start, is told by AODH-form webhooks (subscribed
// as maintenance.scheduled), answers each instance on its own with instance_action, and DELETEs its
// constraints at the end. The session ends DONE, every move question is about exactly one instance,
// and the constraints held (checked from the event log).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionEvent } from '../src/domain/model.js';
import { mostAtOnce, moveSpans } from './invariants.js';
import { startServer, tempDir, type RunningServer } from './support/serve.js';
import { jsonCall, startDoctorVnfm, type DoctorVnfm } from './support/vnfm.js';

const ADMIN = { 'x-auth-token': 'admin-token-0123456789' };
const PROJECT = { 'x-auth-token': 'proj-a-token-0123456789' };

const CLOUD = `
hosts: [{name: compute-0, vcpus: 4}, {name: compute-1, vcpus: 4}, {name: compute-2, vcpus: 4}, {name: compute-3, vcpus: 4}]
instances:
  - {id: web-0, name: doctor_ha_app_0, project: proj-a, host: compute-0, vcpus: 2}
  - {id: web-1, name: doctor_ha_app_1, project: proj-a, host: compute-1, vcpus: 2}
  - {id: app-0, name: doctor_nonha_app_0, project: proj-a, host: compute-2, vcpus: 1}
  - {id: app-1, name: doctor_nonha_app_1, project: proj-a, host: compute-2, vcpus: 1}
timing: {migrate_s: 0.05, live_migrate_s: 0.05, host_maintenance_s: 0.05}
`;

const group = (group_id: string, anti: boolean) => ({
  group_id,
  project_id: 'proj-a',
  group_name: group_id,
  anti_affinity_group: anti,
  max_instances_per_host: anti ? 1 : 0,
  max_impacted_members: 1,
  recovery_time: 0.2,
  resource_mitigation: true,
});
const member = (instance_id: string, group_id: string) => ({
  instance_id,
  project_id: 'proj-a',
  group_id,
  instance_name: instance_id,
  max_interruption_time: 120,
  migration_type: 'MIGRATION',
  resource_mitigation: true,
  lead_time: 0.1,
});
const CONSTRAINTS = {
  groups: [group('doctor_ha_app_group', true), group('doctor_nonha_app_group', false)],
  instances: [member('web-0', 'doctor_ha_app_group'), member('web-1', 'doctor_ha_app_group'), member('app-0', 'doctor_nonha_app_group'), member('app-1', 'doctor_nonha_app_group')],
};

let server: RunningServer;
let vnfm: DoctorVnfm;

beforeAll(async () => {
  const stateDir = tempDir('maintctl-vnf-');
  const tokens = join(stateDir, 'tokens.json');
  writeFileSync(tokens, JSON.stringify({ tokens: [{ token: ADMIN['x-auth-token'], role: 'admin' }, { token: PROJECT['x-auth-token'], project: 'proj-a' }] }));
  server = await startServer({ stateDir, tokens, cloudYaml: CLOUD });
  vnfm = await startDoctorVnfm(server.url, 'proj-a', PROJECT, CONSTRAINTS);
});

afterAll(async () => {
  await server?.stop();
});

/** The session's events up to its end, read by long polls (each returns at the next event). */
async function eventsToEnd(id: string): Promise<SessionEvent[]> {
  const events: SessionEvent[] = [];
  for (let polls = 0; polls < 10_000; polls++) {
    const after = events.at(-1)?.id ?? 0;
    const r = await jsonCall('GET', `${server.url}/v1/sessions/${id}/events?after=${after}&wait_ms=10000`, undefined, ADMIN);
    events.push(...(r.body as unknown as SessionEvent[]));
    const end = events.find((e) => e.eventType === 'maintenance.session' && ['MAINTENANCE_DONE', 'MAINTENANCE_FAILED'].includes(String(e.payload.state)));
    if (end) return events;
  }
  throw new Error('the session did not end');
}

describe('the vnf workflow with a Doctor-shaped VNFM', () => {
  it('runs to DONE asking about one instance at a time, within the constraints, which the VNFM then removes', async () => {
    expect(vnfm.constraintCalls).toEqual([200, 200, 200, 200, 200, 200]);
    const created = await jsonCall('POST', `${server.url}/v1/maintenance`, { workflow: 'vnf', project_maintenance_reply: 3600 }, ADMIN);
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const id = String(created.body.session_id);
    const events = await eventsToEnd(id);
    const end = (await jsonCall('GET', `${server.url}/v1/maintenance/${id}`, undefined, ADMIN)).body;
    expect(end).toMatchObject({ state: 'MAINTENANCE_DONE', percent_done: 100 });

    // Each move question names exactly one instance, in a list, as Doctor reads payload['instance_ids'][0].
    const moveQuestions = vnfm.seen.filter((p) => p.state === 'PREPARE_MAINTENANCE' || p.state === 'PLANNED_MAINTENANCE');
    expect(moveQuestions.length).toBeGreaterThanOrEqual(4);
    for (const q of moveQuestions) expect(q.instance_ids).toEqual([expect.any(String)]);
    expect(new Set(moveQuestions.map((q) => (q.instance_ids as string[])[0]))).toEqual(new Set(['web-0', 'web-1', 'app-0', 'app-1']));
    expect(vnfm.replies.length).toBeGreaterThan(moveQuestions.length);
    expect(vnfm.replies.every((status) => status === 200)).toBe(true);
    const replies = events.filter((e) => e.eventType === 'maintctl.reply' && String(e.payload.state).endsWith('_MAINTENANCE') && Object.keys(e.payload.instance_actions as object).length);
    for (const r of replies) expect(Object.values(r.payload.instance_actions as object)).toEqual(['MIGRATE']);

    // Newest Fenix's wire details: the subscribed name, and reply_at / actions_at as datetime traits.
    expect(new Set(vnfm.bodies.map((b) => b.reason_data.event.event_type))).toEqual(new Set(['maintenance.scheduled']));
    const traits = vnfm.bodies.find((b) => b.reason_data.event.traits.some((t) => t[0] === 'state' && t[2] === 'PLANNED_MAINTENANCE'))!.reason_data.event.traits;
    expect(traits.find((t) => t[0] === 'reply_at')).toEqual(['reply_at', 4, expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000$/)]);
    expect(traits.find((t) => t[0] === 'actions_at')?.[1]).toBe(4);

    // The groups' constraints held: one member of each group moving (or recovering) at once, never two HA members on a host.
    const spans = moveSpans(events);
    // (recovery_time is checked on the virtual clock in test/constraints.test.ts: on real time an
    // event's stamp trails the clock reading the engine decided by, by as much as the machine is busy.)
    for (const members of [['web-0', 'web-1'], ['app-0', 'app-1']]) expect(mostAtOnce(spans.filter((s) => members.includes(s.instanceId)))).toBe(1);
    expect(spans.every((s) => s.kind === 'migrate')).toBe(true);

    await vnfm.close();
    expect(vnfm.constraintCalls).toEqual(Array(12).fill(200));
    expect((await jsonCall('GET', `${server.url}/v1/instance`, undefined, PROJECT)).body).toEqual({ instances: [] });
    expect((await jsonCall('GET', `${server.url}/v1/instance_group`, undefined, ADMIN)).body).toEqual({ instance_groups: [] });
  });
});
