// Delivers the outbox to webhooks: in order per subscription, retried with backoff while the
// receiver is down or answers 5xx/429, never in the engine's way (it runs beside it).
import type { Clock, Timer } from '../domain/clock.js';
import type { Delivery, SessionEvent } from '../domain/model.js';
import { parseTime } from '../domain/time.js';
import { judgeWebhookHost, refusalOf, webhookHost, type HostVerdict } from '../domain/webhook-url.js';
import type { Repository } from '../store/repository.js';
import type { EventBus } from './bus.js';
import { webhookBody } from './formats.js';
import { PROJECT_EVENT } from '../domain/notifications.js';

/**
 * POSTs JSON; resolves with the HTTP status, rejects when the receiver cannot be reached.
 * `addresses`: the ones the host was judged by, to connect to instead of resolving it again.
 */
export type Poster = (url: string, body: string, timeoutMs: number, addresses?: readonly string[]) => Promise<number>;

/** Resolves every address of a host name (injectable: tests control what a name resolves to). */
export type Resolver = (host: string) => Promise<string[]>;

export const httpPoster: Poster = async (url, body, timeoutMs, addresses = []) => {
  const { Agent, request } = await import('undici');
  // Connecting to the addresses checked leaves no time for the name to be pointed elsewhere.
  const pinned = addresses.length ? new Agent({ connect: { lookup: pinnedLookup(addresses) } }) : undefined;
  try {
    const response = await request(url, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'user-agent': 'maintctl' },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      dispatcher: pinned,
    });
    await response.body.dump();
    return response.statusCode;
  } finally {
    await pinned?.close();
  }
};

type LookupCallback = (err: Error | null, address: string | Array<{ address: string; family: number }>, family?: number) => void;

/** A dns.lookup stand-in answering these addresses for any name (one, or all when asked). */
function pinnedLookup(addresses: readonly string[]) {
  const family = (a: string) => (a.includes(':') ? 6 : 4);
  return (_host: string, options: { all?: boolean }, callback: LookupCallback) => {
    if (options.all) callback(null, addresses.map((address) => ({ address, family: family(address) })));
    else callback(null, addresses[0]!, family(addresses[0]!));
  };
}

const defaultResolver: Resolver = async (host) => (await import('./resolve.js')).resolveAll(host);

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
  repo: Repository;
  clock: Clock;
  /** Who claims deliveries (the engine's lease owner): replicas sharing a store never attempt the same one at once. */
  owner?: string;
  post?: Poster;
  /** Attempts before a delivery is given up (recorded as failed). */
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  timeoutMs?: number;
  /** Webhook hosts let through whatever they resolve to (serve --allow-webhook-host), besides each subscription's own. */
  allowHosts?: readonly string[];
  /** Resolves a webhook's host name just before each delivery (default: the system's resolver). */
  resolve?: Resolver;
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
  private pumping: Promise<void> | null = null;
  private pumpAgain = false;
  private readonly owner: string;

  constructor(private readonly options: DelivererOptions) {
    this.post = options.post ?? httpPoster;
    this.maxAttempts = options.maxAttempts ?? 10;
    this.baseDelayMs = options.baseDelayMs ?? 1000;
    this.maxDelayMs = options.maxDelayMs ?? 60_000;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.owner = options.owner ?? 'deliverer';
  }

  /** Looks at the outbox now (another replica may have queued deliveries and died before sending them). */
  poke(): void {
    this.wakeAt(this.options.clock.now());
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
    await this.pumping;
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

  /** Starts an attempt for each idle subscription whose oldest pending delivery is due (one look at a time). */
  private pump(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = this.look()
      // The store is failing: look again in a while rather than give up on the outbox.
      .catch(() => this.wakeAt(this.options.clock.now() + this.baseDelayMs))
      .finally(() => {
        this.pumping = null;
        if (this.pumpAgain) {
          this.pumpAgain = false;
          this.pump();
        }
      });
  }

  private async look(): Promise<void> {
    const { repo, clock } = this.options;
    // A claim outlasts an attempt (its timeout): nobody else tries it while this one may still be sending.
    const claimed = await repo.claimDeliveries(this.owner, clock.now(), 2 * this.timeoutMs, [...this.busy.keys()]);
    for (const delivery of claimed) {
      if (this.stopped || this.busy.has(delivery.subscriptionId)) continue;
      const attempt = this.attempt(delivery)
        .catch(() => undefined) // not recorded: the claim runs out and the delivery is tried again
        .finally(() => {
          this.busy.delete(delivery.subscriptionId);
          this.pump();
        });
      this.busy.set(delivery.subscriptionId, attempt);
    }
    const next = await repo.nextDeliveryAt([...this.busy.keys()]);
    if (next !== null) this.wakeAt(Math.max(next, clock.now()));
  }

  private async attempt(delivery: Delivery): Promise<void> {
    const { repo, clock } = this.options;
    const event = await repo.event(delivery.eventId);
    const subscription = await repo.findSubscription(delivery.subscriptionId);
    let outcome: Outcome;
    if (!event) outcome = { ok: false, retry: false, error: 'the event is gone' };
    else if (deadlinePassed(event, clock.now())) {
      // The project can no longer answer it: a late question would only mislead its VNFM.
      outcome = { ok: false, retry: false, error: `not delivered: its reply deadline (${String(event.payload.reply_at)} UTC) passed first` };
    } else {
      const host = await this.judgeHost(delivery, subscription?.allowedHost ?? null);
      const projectId = subscription?.projectId ?? String(event.payload.project_id ?? 'admin');
      // Whoever subscribed to maintenance.scheduled (newest Fenix's name) gets the event by that name.
      const named = subscription?.eventType === 'maintenance.scheduled' && event.eventType === PROJECT_EVENT ? { ...event, eventType: subscription.eventType } : event;
      outcome = host.refused
        ? { ok: false, retry: false, error: `not delivered: ${host.refused}` }
        : await this.send(delivery.url, JSON.stringify(webhookBody(named, delivery.format, delivery.subscriptionId, projectId)), host.addresses);
    }
    const attempts = delivery.attempts + 1;
    const now = clock.now();
    const record = (o: Parameters<Repository['recordDelivery']>[2]) => repo.recordDelivery(delivery.id, this.owner, o);
    if (outcome.ok) {
      await record({ status: 'delivered', attempts, nextAttemptAt: now, error: null, deliveredAt: now });
    } else if (outcome.retry && attempts < this.maxAttempts) {
      const delay = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempts - 1));
      await record({ status: 'pending', attempts, nextAttemptAt: now + delay, error: outcome.error, deliveredAt: null });
    } else {
      await record({ status: 'failed', attempts, nextAttemptAt: now, error: outcome.error, deliveredAt: null });
    }
  }

  /**
   * The webhook's host judged again now, as at subscribing: a name may have been pointed at a
   * link-local or metadata address since. Allowed: serve's hosts and the subscription's own.
   */
  private async judgeHost(delivery: Delivery, subscriptionAllows: string | null): Promise<HostVerdict> {
    let host: string;
    try {
      host = webhookHost(new URL(delivery.url));
    } catch {
      return { refused: null, addresses: [] }; // sending says what is wrong with it
    }
    const allowed = subscriptionAllows === null ? (this.options.allowHosts ?? []) : [...(this.options.allowHosts ?? []), subscriptionAllows];
    const verdict = await judgeWebhookHost(host, allowed, this.options.resolve ?? defaultResolver);
    return verdict.refused ? { ...verdict, refused: refusalOf(host, verdict.refused) } : verdict;
  }

  private async send(url: string, body: string, addresses: readonly string[]): Promise<Outcome> {
    try {
      const status = await this.post(url, body, this.timeoutMs, addresses);
      if (status >= 200 && status < 300) return { ok: true };
      return { ok: false, retry: status >= 500 || status === 429, error: `the receiver answered HTTP ${status}` };
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      return { ok: false, retry: true, error: `cannot reach the receiver: ${e.code ?? e.message}` };
    }
  }
}
