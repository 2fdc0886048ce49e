// A question is worth delivering only while it can be answered: once its reply_at has passed, a
// delivery still pending (the receiver was down) is given up instead of arriving late.
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../src/engine/clock.js';
import { formatFenixTime } from '../src/domain/time.js';
import { Deliverer } from '../src/notify/deliverer.js';
import { EventBus } from '../src/notify/bus.js';
import { SqliteRepository } from '../src/store/sqlite-repository.js';
import { Store } from '../src/store/store.js';
import { subscribe } from '../src/store/subscriptions.js';
import { T0 } from './helpers.js';

describe('a question whose reply deadline has passed', () => {
  it('is not delivered late; one still open is, and so are notices without a deadline', async () => {
    const store = Store.open(':memory:');
    const clock = new VirtualClock(T0, { auto: false });
    subscribe(store, { projectId: 'proj-a', eventType: 'maintenance.planned', url: 'http://vnfm.test/hook', format: 'fenix', sessionId: null }, T0);
    const question = (replyAt: number | null, state: string) =>
      store.appendEvent(null, T0, 'maintenance.planned', { state, project_id: 'proj-a', reply_at: replyAt === null ? null : formatFenixTime(replyAt) });
    const late = question(T0 + 20_000, 'MAINTENANCE');
    const open = question(T0 + 120_000, 'PLANNED_MAINTENANCE');
    const done = question(null, 'INSTANCE_ACTION_DONE');
    // The receiver was down from T0; it is back at T0 + 60 s.
    const posted: string[] = [];
    let up = false;
    const deliverer = new Deliverer({
      repo: new SqliteRepository(store),
      clock,
      baseDelayMs: 60_000,
      resolve: async () => ['192.0.2.10'], // vnfm.test, judged before each delivery without real DNS
      post: async (_url, body) => {
        if (!up) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
        posted.push(String((JSON.parse(body) as { payload: { state: string } }).payload.state));
        return 200;
      },
    });
    deliverer.start(new EventBus());
    await clock.advance(0);
    await flush();
    expect(posted).toEqual([]);
    // The next look is when the head of the line is due again, not "now" over and over.
    expect(clock.nextDue()).toBe(T0 + 60_000);
    up = true;
    await clock.advance(60_000);
    await flush();
    await deliverer.stop();
    expect(posted).toEqual(['PLANNED_MAINTENANCE', 'INSTANCE_ACTION_DONE']);
    const rows = store.statement('SELECT event_id, status, last_error FROM deliveries ORDER BY event_id').all() as Array<{ event_id: number; status: string; last_error: string | null }>;
    expect(rows).toEqual([
      { event_id: late.id, status: 'failed', last_error: `not delivered: its reply deadline (${formatFenixTime(T0 + 20_000)} UTC) passed first` },
      { event_id: open.id, status: 'delivered', last_error: null },
      { event_id: done.id, status: 'delivered', last_error: null },
    ]);
    store.close();
  });
});

/** Lets the promise chains of attempts under way settle (no time passes on the virtual clock). */
async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
