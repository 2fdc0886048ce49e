import { describe, expect, it } from 'vitest';
import { harness, runSession, sessionStates } from './helpers.js';

describe('smoke', () => {
  it('runs', async () => {
    const h = harness(`
hosts:
  - {name: compute-0, vcpus: 4}
  - {name: compute-1, vcpus: 4}
  - {name: compute-2, vcpus: 4}
  - {name: ctl-0, type: controller}
instances:
  - {name: a-0, project: proj-a, host: compute-0, vcpus: 2}
  - {name: a-1, project: proj-a, host: compute-1, vcpus: 2}
projects:
  - {id: proj-a, auto_reply: ack, action: MIGRATE}
`);
    const r = await runSession(h);
    for (const e of r.events) console.log(new Date(e.time).toISOString(), e.eventType, JSON.stringify(e.payload).slice(0, 160));
    console.log(r.session.failure);
    expect(sessionStates(r.events).at(-1)).toBe('MAINTENANCE_DONE');
  });
});
