// Delivers the outbox to webhooks: in order per subscription, retried with backoff while the
// receiver is down or answers 5xx/429, never in the engine's way (it runs beside it).
import type { Clock, Timer } from '../domain/clock.js';
import type { Delivery, SessionEvent } from '../domain/model.js';
import { parseTime } from '../domain/time.js';
import type { Store } from '../store/store.js';
import { findSubscription, headOfLine, nextDeliveryAt, recordAttempt } from '../store/subscriptions.js';
import type { EventBus } from './bus.js';
import { webhookBody } from './formats.js';

/** POSTs JSON; resolves with the HTTP status, rejects when the receiver cannot be reached. */
export type Poster = (url: string, body: string, timeoutMs: number) => Promise<number>;

export const httpPoster: Poster = async (url, body, timeoutMs) => {
  const { request } = await import('undici');
  const response = await request(url, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', 'user-agent': 'maintctl' },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  await response.body.dump();
  return response.statusCode;
};

/** A question (a project notice with reply_at) whose reply deadline is behind `now`. */
function deadlinePassed(event: SessionEvent, now: number): boolean {
  const replyAt = event.payload.reply_at;
  if (typeof replyAt !== 'string' || !replyAt) return false;
  try {
    return parseTime(replyAt) + 1000 <= now; // reply_at is to the second
  } catch {
    return false;
  }
}

export interface DelivererOptions {
  store: Store;
  clock: Clock;
  post?: Poster;
  /** Attempts before a delivery is given up (recorded as failed). */
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  timeoutMs?: number;
}

type Outcome = { ok: true } | { ok: false; retry: boolean; error: string };

export class Deliverer {
  private readonly post: Poster;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly timeoutMs: number;
  /** Subscriptions with an attempt under way: each goes at its own pace, one delivery at a time. */
  private readonly busy = new Map<number, Promise<void>>();
  private timer: Timer | null = null;
  private timerAt = Number.POSITIVE_INFINITY;
  private stopped = false;
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly options: DelivererOptions) {
    this.post = options.post ?? httpPoster;
    this.maxAttempts = options.maxAttempts ?? 10;
    this.baseDelayMs = options.baseDelayMs ?? 1000;
    this.maxDelayMs = options.maxDelayMs ?? 60_000;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** Starts delivering; new events on the bus may have queued deliveries, so each one prompts a look. */
  start(bus: EventBus): void {
    this.unsubscribe = bus.subscribe(() => this.wakeAt(this.options.clock.now()));
    this.wakeAt(this.options.clock.now());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.timer?.cancel();
    await Promise.all(this.busy.values());
  }

  private wakeAt(at: number): void {
    if (this.stopped || at >= this.timerAt) return;
    this.timer?.cancel();
    this.timerAt = at;
    this.timer = this.options.clock.at(at, () => {
      this.timer = null;
      this.timerAt = Number.POSITIVE_INFINITY;
      this.pump();
    });
  }

  /** Starts an attempt for each idle subscription whose oldest pending delivery is due. */
  private pump(): void {
    if (this.stopped) return;
    const { store, clock } = this.options;
    for (const delivery of headOfLine(store, clock.now())) {
      if (this.busy.has(delivery.subscriptionId)) continue;
      const attempt = this.attempt(delivery).finally(() => {
        this.busy.delete(delivery.subscriptionId);
        this.pump();
      });
      this.busy.set(delivery.subscriptionId, attempt);
    }
    const next = nextDeliveryAt(store, [...this.busy.keys()]);
    if (next !== null) this.wakeAt(Math.max(next, clock.now()));
  }

  private async attempt(delivery: Delivery): Promise<void> {
    const { store, clock } = this.options;
    const event = store.event(delivery.eventId);
    const subscription = findSubscription(store, delivery.subscriptionId);
    let outcome: Outcome;
    if (!event) outcome = { ok: false, retry: false, error: 'the event is gone' };
    else if (deadlinePassed(event, clock.now())) {
      // The project can no longer answer it: a late question would only mislead its VNFM.
      outcome = { ok: false, retry: false, error: `not delivered: its reply deadline (${String(event.payload.reply_at)} UTC) passed first` };
    } else {
      const projectId = subscription?.projectId ?? String(event.payload.project_id ?? 'admin');
      outcome = await this.send(delivery.url, JSON.stringify(webhookBody(event, delivery.format, delivery.subscriptionId, projectId)));
    }
    const attempts = delivery.attempts + 1;
    const now = clock.now();
    if (outcome.ok) {
      recordAttempt(store, delivery.id, { status: 'delivered', attempts, nextAttemptAt: now, error: null, deliveredAt: now });
    } else if (outcome.retry && attempts < this.maxAttempts) {
      const delay = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempts - 1));
      recordAttempt(store, delivery.id, { status: 'pending', attempts, nextAttemptAt: now + delay, error: outcome.error, deliveredAt: null });
    } else {
      recordAttempt(store, delivery.id, { status: 'failed', attempts, nextAttemptAt: now, error: outcome.error, deliveredAt: null });
    }
  }

  private async send(url: string, body: string): Promise<Outcome> {
    try {
      const status = await this.post(url, body, this.timeoutMs);
      if (status >= 200 && status < 300) return { ok: true };
      return { ok: false, retry: status >= 500 || status === 429, error: `the receiver answered HTTP ${status}` };
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      return { ok: false, retry: true, error: `cannot reach the receiver: ${e.code ?? e.message}` };
    }
  }
}
