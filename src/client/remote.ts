// The remote engine client: the same EngineClient over HTTP, to a maintctl serve (or, for the
// Fenix routes only, any Fenix API server). Errors come back as the same kinds as embedded, so
// the CLI's output and exit codes do not depend on where the engine runs.
import type { Agent, Dispatcher } from 'undici';
import { InvalidInputError, MaintctlError, NotFoundError, RefusedError } from '../domain/errors.js';
import type { ConstraintsDocument, GroupDocument, InstanceDocument } from '../domain/constraint-documents.js';
import type { SessionEvent, Subscription } from '../domain/model.js';
import type { PluginRunDocument } from '../engine/plugin-view.js';
import type { ProjectDocument } from '../engine/project-view.js';
import type { SessionDocument, SessionSummary } from '../engine/session-view.js';
import type { NewSubscription } from '../store/subscriptions.js';
import type { ContinueChanges, CreateInput, EngineClient, NotificationQuery } from './client.js';
import type { ClusterDocument, NotificationDocument, ReleaseDocument } from '../engine/release-view.js';

export interface RemoteOptions {
  /** The server's base URL, e.g. https://maint.example.org:12347 */
  endpoint: string;
  token?: string;
  dispatcher?: Dispatcher;
  timeoutMs?: number;
}

/** Routes of maintctl serve that a plain Fenix server does not have. */
const EXTENSION = /^\/v1\/(sessions|events|subscriptions|projects|releases|clusters|notifications)(\/|$)/;
const FULL_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The server could not be reached, or answered something that is not the API. */
export class RemoteError extends MaintctlError {}

const seg = encodeURIComponent;

export class RemoteClient implements EngineClient {
  private readonly base: string;
  /** The connection pool, made at the first call (undici is loaded only then). */
  private own: Agent | null = null;

  constructor(private readonly options: RemoteOptions) {
    let url: URL;
    try {
      url = new URL(options.endpoint);
    } catch {
      throw new InvalidInputError(`invalid endpoint "${options.endpoint}": give the server's URL, e.g. http://127.0.0.1:12347`);
    }
    if (!/^https?:$/.test(url.protocol)) throw new InvalidInputError(`invalid endpoint "${options.endpoint}": give an http or https URL`);
    this.base = url.origin + url.pathname.replace(/\/+$/, '');
  }

  private async call<T>(method: Dispatcher.HttpMethod, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.options.token) headers['x-auth-token'] = this.options.token;
    const { Agent, request } = await import('undici');
    const dispatcher = this.options.dispatcher ?? (this.own ??= new Agent({ keepAliveTimeout: 10_000 }));
    let response: Dispatcher.ResponseData;
    try {
      response = await request(`${this.base}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        dispatcher,
        headersTimeout: this.options.timeoutMs ?? 60_000,
        bodyTimeout: this.options.timeoutMs ?? 60_000,
      });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new RemoteError(`cannot reach ${this.base}: ${e.code ?? e.message} (check --endpoint or MAINTCTL_ENDPOINT)`);
    }
    const text = await response.body.text();
    const ours = response.headers['x-maintctl-api'] !== undefined;
    const parsed = parseBody(text);
    if (response.statusCode >= 200 && response.statusCode < 300) {
      if (parsed === undefined) throw new RemoteError(`${method} ${this.base}${path} answered ${response.statusCode} with something that is not JSON`);
      return parsed as T;
    }
    const pathOnly = path.split('?')[0]!;
    if (!ours && EXTENSION.test(pathOnly) && [404, 405, 501].includes(response.statusCode)) {
      throw new InvalidInputError(`the server at ${this.base} does not offer ${method} ${pathOnly} (a Fenix API without maintctl's additions): this command needs maintctl serve`);
    }
    throw errorFor(response.statusCode, messageOf(parsed) ?? `${method} ${pathOnly} answered HTTP ${response.statusCode}`);
  }

  async createSession(input: CreateInput): Promise<string> {
    // The engine that runs a session finds its plug-ins: a server's are in its own state directory.
    if (input.pluginDirs?.length) throw new InvalidInputError("--plugin-dir works embedded only: a server runs the plug-ins of its state directory's plugins/ folder");
    const body = input.cloudFile ? { ...input.request, cloud: input.cloudFile } : input.request;
    return (await this.call<{ session_id: string }>('POST', '/v1/maintenance', body)).session_id;
  }

  listSessions(): Promise<SessionSummary[]> {
    return this.call('GET', '/v1/sessions');
  }

  async showSession(id: string): Promise<SessionDocument> {
    return this.call('GET', `/v1/maintenance/${seg(await this.resolveId(id))}/detail`);
  }

  /** The server holds the request until an event comes (or `waitMs` passes). */
  readonly longPoll = true;

  events(id: string, afterId: number, waitMs = 0): Promise<SessionEvent[]> {
    return this.call('GET', `/v1/sessions/${seg(id)}/events?after=${afterId}${waitMs > 0 ? `&wait_ms=${waitMs}` : ''}`);
  }

  async deleteSession(id: string, options: { keepDisabled: boolean }): Promise<{ reenabled: string[] }> {
    const full = await this.resolveId(id);
    const answer = await this.call<{ reenabled?: string[] }>('DELETE', `/v1/maintenance/${seg(full)}${options.keepDisabled ? '?keep_disabled=true' : ''}`);
    return { reenabled: answer.reenabled ?? [] };
  }

  async continueSession(id: string, changes: ContinueChanges = {}): Promise<SessionDocument> {
    if (changes.cloudFile || Object.keys(changes.options ?? {}).length) {
      throw new InvalidInputError('a server continues a session as it is: new options (session update --reply-timeout, --cloud, ...) work embedded only for now');
    }
    const full = await this.resolveId(id);
    await this.call('PUT', `/v1/maintenance/${seg(full)}`, {});
    return this.showSession(full);
  }

  /** The server runs its sessions itself. */
  async ensureRunning(): Promise<void> {}

  async engineRuns(): Promise<boolean> {
    return true;
  }

  /** A server's notifications carry its own reply URLs. */
  async replyProblem(): Promise<string | null> {
    return null;
  }

  async pluginRuns(): Promise<PluginRunDocument[]> {
    throw new InvalidInputError('this endpoint does not keep plug-in output: run session logs against the state directory the session runs in');
  }

  /** A full id is used as it is (so plain Fenix servers work); a prefix is looked up. */
  async resolveId(idOrPrefix: string): Promise<string> {
    if (FULL_ID.test(idOrPrefix)) return idOrPrefix;
    return (await this.call<{ session_id: string }>('GET', `/v1/sessions/by-prefix/${seg(idOrPrefix)}`)).session_id;
  }

  async showProject(sessionId: string, projectId: string): Promise<ProjectDocument> {
    const id = await this.resolveId(sessionId);
    const doc = await this.call<Partial<ProjectDocument>>('GET', `/v1/maintenance/${seg(id)}/${seg(projectId)}`);
    if (typeof doc.project_id === 'string') return doc as ProjectDocument;
    // A plain Fenix server answers with the instance ids alone; its session route gives the state.
    const session = await this.call<{ state?: unknown }>('GET', `/v1/maintenance/${seg(id)}/`);
    const ids = Array.isArray(doc.instance_ids) ? doc.instance_ids.map(String) : [];
    const { fenixProjectDocument } = await import('../engine/project-view.js');
    return fenixProjectDocument(id, projectId, String(session.state ?? 'MAINTENANCE'), ids);
  }

  async reply(sessionId: string, projectId: string, body: Record<string, unknown>): Promise<void> {
    await this.call('PUT', `/v1/maintenance/${seg(await this.resolveId(sessionId))}/${seg(projectId)}`, body);
  }

  async latestEventId(): Promise<number> {
    return (await this.call<{ event_id: number }>('GET', '/v1/events/latest')).event_id;
  }

  allEvents(afterId: number): Promise<SessionEvent[]> {
    return this.call('GET', `/v1/events?after=${afterId}`);
  }

  subscribe(s: NewSubscription): Promise<Subscription> {
    return this.call('POST', `/v1/projects/${seg(s.projectId)}/subscriptions`, { event_type: s.eventType, url: s.url, format: s.format, session_id: s.sessionId });
  }

  async unsubscribe(projectId: string, filter: { id?: number; eventType?: string; url?: string; sessionId?: string }): Promise<number> {
    const query = new URLSearchParams();
    if (filter.id !== undefined) query.set('id', String(filter.id));
    if (filter.eventType !== undefined) query.set('event_type', filter.eventType);
    if (filter.url !== undefined) query.set('url', filter.url);
    if (filter.sessionId !== undefined) query.set('session_id', filter.sessionId);
    const q = query.toString();
    return (await this.call<{ removed: number }>('DELETE', `/v1/projects/${seg(projectId)}/subscriptions${q ? `?${q}` : ''}`)).removed;
  }

  subscriptions(projectId?: string): Promise<Subscription[]> {
    return this.call('GET', projectId ? `/v1/projects/${seg(projectId)}/subscriptions` : '/v1/subscriptions');
  }

  addRelease(body: Record<string, unknown>): Promise<ReleaseDocument> {
    return this.call('POST', '/v1/releases', body);
  }

  listReleases(): Promise<ReleaseDocument[]> {
    return this.call('GET', '/v1/releases');
  }

  showRelease(name: string): Promise<ReleaseDocument> {
    return this.call('GET', `/v1/releases/${seg(name)}`);
  }

  deleteRelease(name: string): Promise<ReleaseDocument> {
    return this.call('DELETE', `/v1/releases/${seg(name)}`);
  }

  createCluster(body: Record<string, unknown>): Promise<ClusterDocument> {
    return this.call('POST', '/v1/clusters', body);
  }

  listClusters(): Promise<ClusterDocument[]> {
    return this.call('GET', '/v1/clusters');
  }

  showCluster(name: string): Promise<ClusterDocument> {
    return this.call('GET', `/v1/clusters/${seg(name)}`);
  }

  notifications(query: NotificationQuery): Promise<NotificationDocument[]> {
    const q = new URLSearchParams();
    if (query.cluster !== undefined) q.set('cluster', query.cluster);
    if (query.topic !== undefined) q.set('topic', query.topic);
    if (query.afterId !== undefined) q.set('after', String(query.afterId));
    const text = q.toString();
    return this.call('GET', `/v1/notifications${text ? `?${text}` : ''}`);
  }

  async rollbackSession(id: string): Promise<{ session_id: string | null; hosts: string[] }> {
    return this.call('POST', `/v1/sessions/${seg(await this.resolveId(id))}/rollback`, {});
  }

  async constraints(projectId: string): Promise<ConstraintsDocument> {
    const project = `?project_id=${seg(projectId)}`;
    const groups = await this.call<{ instance_groups: GroupDocument[] }>('GET', `/v1/instance_group${project}`);
    const instances = await this.call<{ instances: InstanceDocument[] }>('GET', `/v1/instance${project}`);
    return { instance_groups: groups.instance_groups, instances: instances.instances };
  }

  putGroupConstraint(groupId: string, body: Record<string, unknown>): Promise<GroupDocument> {
    return this.call('PUT', `/v1/instance_group/${seg(groupId)}`, body);
  }

  putInstanceConstraint(instanceId: string, body: Record<string, unknown>): Promise<InstanceDocument> {
    return this.call('PUT', `/v1/instance/${seg(instanceId)}`, body);
  }

  removeGroupConstraint(groupId: string): Promise<GroupDocument> {
    return this.call('DELETE', `/v1/instance_group/${seg(groupId)}`);
  }

  removeInstanceConstraint(instanceId: string): Promise<InstanceDocument> {
    return this.call('DELETE', `/v1/instance/${seg(instanceId)}`);
  }

  close(): void {
    void this.own?.close();
  }
}

function parseBody(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

const messageOf = (body: unknown): string | undefined => {
  const message = (body as { error?: { message?: unknown } } | undefined)?.error?.message;
  return typeof message === 'string' ? message : undefined;
};

/** The error kind of an HTTP status, the same kinds the embedded client throws. */
function errorFor(status: number, message: string): Error {
  if (status === 400 || status === 413 || status === 415) return new InvalidInputError(message);
  if (status === 404) return new NotFoundError(message);
  if (status === 401) return new RefusedError(`${message} (give --token or MAINTCTL_TOKEN)`);
  if (status === 403 || status === 409) return new RefusedError(message);
  return new RemoteError(`the server failed: ${message}`);
}
