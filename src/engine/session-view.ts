// The documents people and scripts read about sessions (`session show -o json`, the API's detail).
// Field names follow Fenix's snake_case; the shape is documented in README ("session show").
import { NotFoundError } from '../domain/errors.js';
import type { DownloadEntry } from '../domain/model.js';
import type { Repository } from '../store/repository.js';
import { pluginRunLines, type PluginRunLine } from './plugin-view.js';
import { hostProgress, percentDone } from '../domain/progress.js';
import { affectedInstances } from '../domain/replies.js';
import { formatFenixTime, formatIso } from '../domain/time.js';
import { redactUrl } from '../domain/webhook-url.js';

export interface SessionSummary {
  session_id: string;
  state: string;
  workflow: string;
  hosts_maintained: number;
  hosts_total: number;
  percent_done: number;
  created_at: string;
  updated_at: string;
}

export interface SessionDocument {
  session_id: string;
  state: string;
  workflow: string;
  maintenance_at: string;
  created_at: string;
  updated_at: string;
  metadata: Record<string, unknown>;
  percent_done: number;
  failure: string | null;
  failed_state: string | null;
  /** Hosts whose instances are leaving now (the waves in flight). */
  emptying: string[];
  /** Waves started so far. */
  waves: number;
  actions: Array<{ plugin: string; type: string; metadata: Record<string, unknown> }>;
  download: DownloadEntry[];
  driver: Record<string, unknown>;
  hosts: Array<{
    name: string;
    type: string;
    state: string;
    maintained: boolean;
    disabled: boolean;
    disabled_before: boolean;
    instances: number;
    wave: number | null;
    cause: string | null;
  }>;
  projects: Array<{ project_id: string; state: string | null; reply_state: string | null; reply_at: string | null; instance_ids: string[] }>;
  instances: Array<{ instance_id: string; name: string; project_id: string; host: string; action: string | null; action_done: boolean }>;
  /** The newest run of each plug-in step, in the order they started, with its last lines of output. */
  plugins: PluginRunLine[];
  events: Array<{ id: number; time: string; event_type: string; payload: Record<string, unknown> }>;
  /** The engine (a serve replica) holding the session's lease, or null when none does. */
  runner: { replica: string; hostname: string; pid: number; lease_expires_at: string } | null;
  /** Webhook deliveries of this session's notifications; failed ones are listed. */
  deliveries: {
    delivered: number;
    pending: number;
    failed: number;
    failures: Array<{ event_id: number; event_type: string; url: string; attempts: number; last_error: string | null }>;
  };
}

/** Every session, oldest first, from one query: listing a thousand sessions reads no session whole. */
export async function sessionSummaries(repo: Repository): Promise<SessionSummary[]> {
  return (await repo.sessionCounts()).map((row) => ({
    session_id: row.id,
    state: row.state,
    workflow: row.workflow,
    hosts_maintained: row.hostsMaintained,
    hosts_total: row.hostsTotal,
    percent_done: percentDone(row, { maintained: row.hostsMaintained, total: row.hostsTotal }),
    created_at: formatIso(row.createdAt),
    updated_at: formatIso(row.updatedAt),
  }));
}

export async function sessionDocument(repo: Repository, sessionId: string): Promise<SessionDocument> {
  const rows = await repo.loadSession(sessionId);
  if (!rows) throw new NotFoundError(`no session ${sessionId}`);
  const { session, hosts, instances } = rows;
  const [runs, events, deliveries, lease] = await Promise.all([
    repo.pluginRunTails(sessionId),
    repo.events(sessionId),
    deliveriesOf(repo, sessionId),
    repo.lease(sessionId),
  ]);
  const asked = (p: { visit: number }) => p.visit === session.visit;
  const perHost = new Map<string, number>();
  for (const i of instances) perHost.set(i.host, (perHost.get(i.host) ?? 0) + 1);
  return {
    session_id: session.id,
    state: session.state,
    workflow: session.workflow,
    maintenance_at: formatFenixTime(session.maintenanceAt),
    created_at: formatIso(session.createdAt),
    updated_at: formatIso(session.updatedAt),
    metadata: session.metadata,
    percent_done: percentDone(session, hostProgress(hosts)),
    failure: session.failure,
    failed_state: session.failedState,
    emptying: hosts.filter((h) => h.state === 'EMPTYING').map((h) => h.name),
    waves: session.data.waves ?? 0,
    actions: session.actions,
    download: session.download,
    driver: snakeKeys(session.driver),
    hosts: hosts.map((h) => ({
      name: h.name,
      type: h.type,
      state: h.state,
      maintained: h.state === 'MAINTAINED',
      disabled: h.disabled || h.disabledBefore,
      disabled_before: h.disabledBefore,
      instances: perHost.get(h.name) ?? 0,
      wave: h.wave,
      cause: h.cause,
    })),
    projects: rows.projects.map((p) => ({
      project_id: p.projectId,
      state: p.state,
      reply_state: p.replyState,
      reply_at: p.replyAt === null || !asked(p) ? null : formatFenixTime(p.replyAt),
      instance_ids: asked(p) ? affectedInstances(p, instances).map((i) => i.instanceId) : [],
    })),
    instances: instances.map((i) => ({
      instance_id: i.instanceId,
      name: i.name,
      project_id: i.projectId,
      host: i.host,
      action: i.action,
      action_done: i.actionDone,
    })),
    plugins: pluginRunLines(runs),
    events: events.map((e) => ({ id: e.id, time: formatIso(e.time), event_type: e.eventType, payload: e.payload })),
    runner: lease && { replica: lease.owner, hostname: lease.hostname, pid: lease.pid, lease_expires_at: formatIso(lease.expiresAt) },
    deliveries,
  };
}

async function deliveriesOf(repo: Repository, sessionId: string): Promise<SessionDocument['deliveries']> {
  const all = await repo.sessionDeliveries(sessionId);
  const count = (status: string) => all.filter((d) => d.status === status).length;
  const failed = all.filter((d) => d.status === 'failed');
  const types = await Promise.all(failed.map(async (d) => (await repo.event(d.eventId))?.eventType ?? '?'));
  return {
    delivered: count('delivered'),
    pending: count('pending'),
    failed: failed.length,
    failures: failed.map((d, i) => ({ event_id: d.eventId, event_type: types[i]!, url: redactUrl(d.url), attempts: d.attempts, last_error: d.lastError })),
  };
}

const snakeKeys = (o: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), v]));
