// Time for the engine. Timers take absolute due times, so what is persisted never drifts.
// Date.now and setTimeout appear only in RealClock.

import type { Clock, Timer } from '../domain/clock.js';

export type { Clock, Timer };

/** Node's setTimeout cannot wait longer than this; longer waits are chained. */
const MAX_DELAY = 2 ** 31 - 1;

export class RealClock implements Clock {
  now(): number {
    return Date.now();
  }

  at(at: number, fn: () => void): Timer {
    let handle: NodeJS.Timeout;
    const arm = () => {
      const delay = at - Date.now();
      handle = setTimeout(delay > MAX_DELAY ? arm : fn, Math.max(0, Math.min(delay, MAX_DELAY)));
    };
    arm();
    return { cancel: () => clearTimeout(handle) };
  }
}

interface PendingTimer {
  at: number;
  seq: number;
  fn: () => void;
}

/**
 * Simulated time. `advance`/`advanceTo` fire due timers in order, so tests are exact and
 * instant. With `auto`, whenever the process has nothing else to do (all promise work drained)
 * the clock jumps to the next timer: a whole session runs in simulated hours within
 * milliseconds. Auto mode assumes in-process work only (the sim driver), no real I/O waits.
 */
export class VirtualClock implements Clock {
  private current: number;
  private timers: PendingTimer[] = [];
  private seq = 0;
  private autoScheduled = false;
  private readonly auto: boolean;
  /** Called whenever auto mode moves time, e.g. to persist it. */
  onAdvance: ((now: number) => void) | null = null;

  constructor(start = Date.UTC(2026, 0, 1), options: { auto?: boolean } = {}) {
    this.current = start;
    this.auto = options.auto ?? false;
  }

  now(): number {
    return this.current;
  }

  at(at: number, fn: () => void): Timer {
    const timer: PendingTimer = { at, seq: this.seq++, fn };
    this.timers.push(timer);
    this.scheduleAuto();
    return {
      cancel: () => {
        this.timers = this.timers.filter((t) => t !== timer);
      },
    };
  }

  pendingTimers(): number {
    return this.timers.length;
  }

  nextDue(): number | null {
    return this.timers.length ? Math.min(...this.timers.map((t) => t.at)) : null;
  }

  /** Moves time forward by ms, firing every timer due on the way, in order. */
  async advance(ms: number): Promise<void> {
    await this.advanceTo(this.current + ms);
  }

  async advanceTo(target: number): Promise<void> {
    for (;;) {
      await settle();
      const next = this.popDue(target);
      if (!next) break;
      this.current = Math.max(this.current, next.at);
      next.fn();
    }
    this.current = Math.max(this.current, target);
    await settle();
  }

  /** Fires the next timer (moving time to it); false when there is none. */
  async step(): Promise<boolean> {
    await settle();
    const due = this.nextDue();
    if (due === null) return false;
    await this.advanceTo(due);
    return true;
  }

  private popDue(limit: number): PendingTimer | null {
    let best: PendingTimer | null = null;
    for (const t of this.timers) {
      if (t.at <= limit && (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq))) best = t;
    }
    if (best) this.timers = this.timers.filter((t) => t !== best);
    return best;
  }

  private scheduleAuto(): void {
    if (!this.auto || this.autoScheduled) return;
    this.autoScheduled = true;
    // setImmediate runs after every queued promise callback: the process is idle until a timer.
    setImmediate(() => {
      this.autoScheduled = false;
      const next = this.popDue(Number.POSITIVE_INFINITY);
      if (!next) return;
      this.current = Math.max(this.current, next.at);
      this.onAdvance?.(this.current);
      next.fn();
      if (this.timers.length) this.scheduleAuto();
    });
  }
}

/** Lets every queued promise callback and immediate run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
