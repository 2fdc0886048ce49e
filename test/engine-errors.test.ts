// When running a session keeps failing on something outside the workflow (the store, a bug),
// the engine neither spins nor gives up at once: it pauses, retries, and then fails the session.
import { describe, expect, it } from 'vitest';
import { settle } from '../src/engine/clock.js';
import { Engine } from '../src/engine/engine.js';
import { harness } from './helpers.js';

describe('a runner that keeps dying', () => {
  it('is retried after growing pauses, then the session fails with the error', async () => {
    const h = harness(
      `
hosts: [{name: compute-0, vcpus: 4}, {name: compute-1, vcpus: 4}]
instances: [{name: a-0, project: proj-a, host: compute-0}]
projects: [{id: proj-a, auto_reply: ack}]
`,
      { auto: false },
    );
    await h.engine.stop();
    let reads = 0;
    const broken = Object.create(h.store) as typeof h.store;
    broken.loadRows = () => {
      reads++;
      throw new Error('disk I/O error');
    };
    const engine = new Engine({ store: broken, clock: h.clock });
    const session = await engine.createSession({}, { kind: 'sim', cloudId: h.cloudId });
    engine.start();
    await settle();
    expect(reads).toBe(1);
    await h.clock.advance(1_000); // before the 2 s pause is over: not retried
    engine.adoptSessions();
    await settle();
    expect(reads).toBe(1);
    await h.clock.advance(1_000);
    engine.adoptSessions();
    await settle();
    expect(reads).toBe(2);
    await h.clock.advance(4_000);
    engine.adoptSessions();
    await settle();
    expect(reads).toBe(3);
    const failed = h.store.getSession(session.id);
    expect(failed.state).toBe('MAINTENANCE_FAILED');
    expect(failed.failure).toBe('cannot run the session here: the engine failed 3 times: disk I/O error');
    engine.adoptSessions();
    await settle();
    expect(reads).toBe(3);
    const errors = h.store.events(session.id).filter((e) => e.eventType === 'maintctl.engine_error');
    expect(errors.map((e) => e.payload.attempt)).toEqual([1, 2, 3]);
  });
});
