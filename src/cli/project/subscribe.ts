// maintctl project subscribe / unsubscribe / subscriptions: who is told what, and how.
import type { Command } from 'commander';
import { allowedWebhookHost, checkWebhookUrl, redactUrl } from '../../domain/webhook-url.js';
import { SUBSCRIPTION_FORMATS, type Subscription, type SubscriptionFormat } from '../../domain/model.js';
import type { Deps } from '../deps.js';
import { UsageError } from '../exit-codes.js';
import { collect } from '../flags.js';
import type { Run } from '../main.js';
import { emit } from '../render/output.js';
import { styleFor } from '../render/style.js';
import { table } from '../render/table.js';

export const EVENT_TYPES = ['maintenance.planned', 'maintenance.scheduled', 'maintenance.host', 'maintenance.session', 'maintctl.notification'] as const;

export interface SubscribeOptions {
  projectId: string;
  url: string | null;
  eventType: string;
  format: SubscriptionFormat;
  sessionId: string | null;
  /** The --url's host when --allow-webhook-host names it (kept, so delivery lets it through too). */
  allowedHost?: string | null;
}

function checkEvent(event: string): string {
  if (!(EVENT_TYPES as readonly string[]).includes(event)) throw new UsageError(`invalid --event "${event}": use one of ${EVENT_TYPES.join(', ')}`);
  return event;
}

/** A webhook URL this machine may POST to (not link-local nor a metadata service unless allowed). */
async function checkUrl(url: string, allowHosts: string[]): Promise<string> {
  const { resolveAll } = await import('../../notify/resolve.js');
  try {
    return await checkWebhookUrl(url, allowHosts, resolveAll);
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/^invalid webhook URL/, 'invalid --url'));
  }
}

export function register(project: Command, run: Run): void {
  project
    .command('subscribe')
    .description('tell a project about maintenance: by webhook (--url), or followed with maintctl (project agent / reply)')
    .argument('<project>', 'project id')
    .option('--url <url>', 'webhook the notifications are POSTed to (JSON)')
    .option('--event <type>', `event type: ${EVENT_TYPES.join(', ')}`, 'maintenance.planned')
    .option('--format <format>', 'body of the POST: fenix (oslo envelope) or aodh (AODH event alarm)', 'fenix')
    .option('--session <id>', 'only this session (default: every session)')
    .option('--allow-webhook-host <host>', 'let --url reach this host although it is link-local or a metadata service (repeatable)', collect, [])
    .action((projectId: string, flags: { url?: string; event: string; format: string; session?: string; allowWebhookHost: string[] }) =>
      run(async (deps) => {
        if (!(SUBSCRIPTION_FORMATS as readonly string[]).includes(flags.format)) {
          throw new UsageError(`invalid --format "${flags.format}": use fenix or aodh`);
        }
        const sessionId = flags.session ? await deps.client().resolveId(flags.session) : null;
        if (!flags.url && ['maintenance.host', 'maintenance.session', 'maintctl.notification'].includes(flags.event)) {
          throw new UsageError(`${flags.event} notices are only delivered by webhook: give --url`);
        }
        const options = {
          projectId,
          url: flags.url ? await checkUrl(flags.url, flags.allowWebhookHost) : null,
          eventType: checkEvent(flags.event),
          format: flags.format as SubscriptionFormat,
          sessionId,
          allowedHost: flags.url ? allowedWebhookHost(flags.url, flags.allowWebhookHost) : null,
        };
        return runSubscribe(options, deps);
      }),
    );
  project
    .command('unsubscribe')
    .description("remove a project's subscriptions (all of them unless narrowed); pending deliveries are cancelled")
    .argument('<project>', 'project id')
    .option('--url <url>', 'only the subscription to this URL')
    .option('--event <type>', 'only subscriptions to this event type')
    .option('--session <id>', 'only subscriptions to this session')
    .action((projectId: string, flags: { url?: string; event?: string; session?: string }) =>
      run(async (deps) => {
        const sessionId = flags.session ? await deps.client().resolveId(flags.session) : undefined;
        const removed = await deps.client().unsubscribe(projectId, { url: flags.url, eventType: flags.event ? checkEvent(flags.event) : undefined, sessionId });
        emit(deps.io, deps.format, { project_id: projectId, removed }, () => `removed ${removed} subscription${removed === 1 ? '' : 's'} of ${projectId}`);
      }),
    );
  project
    .command('subscriptions')
    .description('list subscriptions (of one project, or all)')
    .argument('[project]', 'project id')
    .action((projectId: string | undefined) =>
      run(async (deps) => {
        const subs = await deps.client().subscriptions(projectId);
        emit(deps.io, deps.format, subs.map(subscriptionDoc), () => subscriptionTable(deps, subs));
      }),
    );
}

export async function runSubscribe(options: SubscribeOptions, deps: Deps): Promise<void> {
  const sub = await deps.client().subscribe(options);
  const where = sub.url ? `${redactUrl(sub.url)} (${sub.format})` : 'followed with maintctl (project agent, project reply)';
  emit(deps.io, deps.format, subscriptionDoc(sub), () => `subscribed ${sub.projectId} to ${sub.eventType}: ${where}`);
}

const subscriptionDoc = (s: Subscription) => ({
  id: s.id,
  project_id: s.projectId,
  event_type: s.eventType,
  url: s.url === null ? null : redactUrl(s.url),
  format: s.format,
  session_id: s.sessionId,
});

function subscriptionTable(deps: Deps, subs: Subscription[]): string {
  if (!subs.length) return 'No subscriptions.';
  return table(
    styleFor(deps.io),
    ['ID', 'PROJECT', 'EVENT', 'DELIVERY', 'FORMAT', 'SESSION'],
    subs.map((s) => [s.id, s.projectId, s.eventType, s.url === null ? 'maintctl' : redactUrl(s.url), s.format, s.sessionId ?? 'all']),
  );
}
