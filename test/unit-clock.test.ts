import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../src/engine/clock.js';

const T0 = Date.UTC(2026, 0, 1);

/** Lets queued immediates (auto-mode jumps) run, without any wall-clock wait. */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('VirtualClock (manual)', () => {
  it('starts at the given time and does not move by itself', async () => {
    const clock = new VirtualClock(T0);
    clock.at(T0 + 1000, () => {});
    await tick();
    await tick();
    expect(clock.now()).toBe(T0);
    expect(clock.pendingTimers()).toBe(1);
  });

  it('advance fires due timers in due order and leaves later ones pending', async () => {
    const clock = new VirtualClock(T0);
    const fired: string[] = [];
    clock.at(T0 + 300, () => fired.push('c'));
    clock.at(T0 + 100, () => fired.push('a'));
    clock.at(T0 + 200, () => fired.push('b'));
    clock.at(T0 + 5000, () => fired.push('late'));
    await clock.advance(1000);
    expect(fired).toEqual(['a', 'b', 'c']);
    expect(clock.now()).toBe(T0 + 1000);
    expect(clock.pendingTimers()).toBe(1);
    expect(clock.nextDue()).toBe(T0 + 5000);
  });

  it('fires a timer due exactly at the end of the advanced window', async () => {
    const clock = new VirtualClock(T0);
    let fired = false;
    clock.at(T0 + 1000, () => (fired = true));
    await clock.advance(1000);
    expect(fired).toBe(true);
  });

  it('fires timers due at the same time in the order they were set', async () => {
    const clock = new VirtualClock(T0);
    const fired: number[] = [];
    for (const n of [1, 2, 3, 4]) clock.at(T0 + 50, () => fired.push(n));
    await clock.advance(50);
    expect(fired).toEqual([1, 2, 3, 4]);
  });

  it('shows each timer the time it was due at', async () => {
    const clock = new VirtualClock(T0);
    const seenAt: number[] = [];
    clock.at(T0 + 10, () => seenAt.push(clock.now()));
    clock.at(T0 + 20, () => seenAt.push(clock.now()));
    await clock.advance(100);
    expect(seenAt).toEqual([T0 + 10, T0 + 20]);
  });

  it('fires a timer already in the past on the next advance without moving time back', async () => {
    const clock = new VirtualClock(T0);
    let seenAt = 0;
    clock.at(T0 - 5000, () => (seenAt = clock.now()));
    await clock.advance(0);
    expect(seenAt).toBe(T0);
    expect(clock.now()).toBe(T0);
  });

  it('does not fire a cancelled timer', async () => {
    const clock = new VirtualClock(T0);
    const fired: string[] = [];
    const timer = clock.at(T0 + 100, () => fired.push('cancelled'));
    clock.at(T0 + 200, () => fired.push('kept'));
    timer.cancel();
    expect(clock.pendingTimers()).toBe(1);
    await clock.advance(1000);
    expect(fired).toEqual(['kept']);
  });

  it('lets one timer cancel another due later in the same window', async () => {
    const clock = new VirtualClock(T0);
    const fired: string[] = [];
    const later = clock.at(T0 + 200, () => fired.push('later'));
    clock.at(T0 + 100, () => {
      fired.push('first');
      later.cancel();
    });
    await clock.advance(1000);
    expect(fired).toEqual(['first']);
  });

  it('fires timers set by a firing timer when they fall within the advanced window', async () => {
    const clock = new VirtualClock(T0);
    const fired: Array<[string, number]> = [];
    clock.at(T0 + 100, () => {
      fired.push(['parent', clock.now()]);
      clock.at(clock.now() + 100, () => fired.push(['child', clock.now()]));
      clock.at(clock.now() + 5000, () => fired.push(['beyond', clock.now()]));
    });
    await clock.advance(1000);
    expect(fired).toEqual([
      ['parent', T0 + 100],
      ['child', T0 + 200],
    ]);
    expect(clock.nextDue()).toBe(T0 + 5100);
  });

  it('fires timers set from promise callbacks of a firing timer within the window', async () => {
    const clock = new VirtualClock(T0);
    const fired: number[] = [];
    clock.at(T0 + 100, () => {
      void Promise.resolve().then(() => clock.at(clock.now() + 100, () => fired.push(clock.now())));
    });
    await clock.advance(1000);
    expect(fired).toEqual([T0 + 200]);
  });

  it('advanceTo moves to an absolute time', async () => {
    const clock = new VirtualClock(T0);
    const fired: string[] = [];
    clock.at(T0 + 10_000, () => fired.push('x'));
    await clock.advanceTo(T0 + 9_999);
    expect(fired).toEqual([]);
    await clock.advanceTo(T0 + 10_000);
    expect(fired).toEqual(['x']);
    expect(clock.now()).toBe(T0 + 10_000);
  });

  it('step moves time to the next timer and fires it', async () => {
    const clock = new VirtualClock(T0);
    const fired: string[] = [];
    clock.at(T0 + 60_000, () => fired.push('second'));
    clock.at(T0 + 30_000, () => fired.push('first'));
    expect(await clock.step()).toBe(true);
    expect(fired).toEqual(['first']);
    expect(clock.now()).toBe(T0 + 30_000);
    expect(await clock.step()).toBe(true);
    expect(fired).toEqual(['first', 'second']);
    expect(clock.now()).toBe(T0 + 60_000);
  });

  it('step returns false and keeps the time when no timer is pending', async () => {
    const clock = new VirtualClock(T0);
    expect(await clock.step()).toBe(false);
    expect(clock.now()).toBe(T0);
  });

  it('nextDue reports the earliest pending due time, or null', () => {
    const clock = new VirtualClock(T0);
    expect(clock.nextDue()).toBeNull();
    const a = clock.at(T0 + 500, () => {});
    clock.at(T0 + 900, () => {});
    expect(clock.nextDue()).toBe(T0 + 500);
    a.cancel();
    expect(clock.nextDue()).toBe(T0 + 900);
  });
});

describe('VirtualClock (auto)', () => {
  it('runs a chain of timers to completion by itself', async () => {
    const clock = new VirtualClock(T0, { auto: true });
    const fired: number[] = [];
    const done = new Promise<void>((resolve) => {
      const chain = (n: number) => {
        fired.push(clock.now());
        if (n < 5) clock.at(clock.now() + 60_000, () => chain(n + 1));
        else resolve();
      };
      clock.at(T0 + 60_000, () => chain(1));
    });
    await done;
    expect(fired).toEqual([1, 2, 3, 4, 5].map((n) => T0 + n * 60_000));
    expect(clock.now()).toBe(T0 + 5 * 60_000);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('jumps hours ahead within a few immediates', async () => {
    const clock = new VirtualClock(T0, { auto: true });
    const fired: string[] = [];
    clock.at(T0 + 3 * 3600_000, () => fired.push('c'));
    clock.at(T0 + 1 * 3600_000, () => fired.push('a'));
    clock.at(T0 + 2 * 3600_000, () => fired.push('b'));
    for (let i = 0; i < 5 && fired.length < 3; i++) await tick();
    expect(fired).toEqual(['a', 'b', 'c']);
    expect(clock.now()).toBe(T0 + 3 * 3600_000);
  });

  it('does not fire a timer cancelled before its turn', async () => {
    const clock = new VirtualClock(T0, { auto: true });
    const fired: string[] = [];
    const timer = clock.at(T0 + 100, () => fired.push('cancelled'));
    const done = new Promise<void>((resolve) => clock.at(T0 + 200, () => (fired.push('kept'), resolve())));
    timer.cancel();
    await done;
    expect(fired).toEqual(['kept']);
    expect(clock.now()).toBe(T0 + 200);
  });

  it('tells onAdvance each time it moves', async () => {
    const clock = new VirtualClock(T0, { auto: true });
    const moves: number[] = [];
    clock.onAdvance = (now) => moves.push(now);
    const done = new Promise<void>((resolve) => {
      clock.at(T0 + 10, () => {});
      clock.at(T0 + 20, resolve);
    });
    await done;
    expect(moves).toEqual([T0 + 10, T0 + 20]);
  });

  it('waits for pending promise work before jumping', async () => {
    const clock = new VirtualClock(T0, { auto: true });
    const order: string[] = [];
    const done = new Promise<void>((resolve) =>
      clock.at(T0 + 1000, () => {
        order.push(`timer@${clock.now() - T0}`);
        resolve();
      }),
    );
    void Promise.resolve()
      .then(() => order.push(`work@${clock.now() - T0}`))
      .then(() => order.push(`more work@${clock.now() - T0}`));
    await done;
    expect(order).toEqual(['work@0', 'more work@0', 'timer@1000']);
  });
});
